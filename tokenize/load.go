package tokenize

import (
	"fmt"
	"os"
	"unicode"

	"github.com/sugarme/tokenizer"
)

// Tokenizer encodes texts for one tokenizer.json. It is safe for concurrent
// use: after Load nothing in it, or in the sugarme pipeline it wraps, is
// written, except caches that carry their own locks (our chunk cache,
// sugarme's BPE and Unigram caches).
type Tokenizer struct {
	tk        *tokenizer.Tokenizer
	maxLength int
	wrap      wrap
	// fold is the marks accent folding removes (foldMarks); nil: no
	// folding.
	fold *unicode.RangeTable
	// unicodeSpaces: map Unicode whitespace to spaces first, as the file's
	// pre-tokenizer splits on it in Hugging Face, except control characters
	// when keepControls (see unicodeSpacesToASCII).
	unicodeSpaces, keepControls bool
	// lowercases: the file's normalizer lowercases; nfd: it decomposes;
	// chinese: it spaces CJK ideographs (see prepForSugarme).
	lowercases, nfd, chinese bool
	// remap turns the ids sugarme gives added tokens into Hugging Face's
	// where they differ (see addedIDs); nil where none does.
	remap     map[int]int
	padID     int64
	padTypeID int64
	padLeft   bool
	vocabSize int
	workers   int
	// native is nil when the file has a shape the native encoder does not
	// cover (see native.go); cache is nil when the native encoder is on or
	// the pipeline is not chunkable (see chunks.go). With both nil, texts
	// go whole to sugarme.
	native *native
	cache  *chunkCache
	// own is set where retune normalises and finds added tokens itself
	// (see own.go); native is then nil.
	own *ownPipeline
	// literals says where a long run of added-token literals is cut
	// before sugarme sees it (see literalsPerCall).
	literals literalCuts
	// spaceCuts: a long text may be cut before a space (see spaceCut).
	spaceCuts bool
}

// fileConfig holds the parts of tokenizer.json that sugarme does not expose
// or mishandles, parsed by us from the same bytes.
type fileConfig struct {
	pipelineConfig
	Padding *paddingConfig `json:"padding"`
}

type paddingConfig struct {
	PadID     *int   `json:"pad_id"`
	PadTypeID int    `json:"pad_type_id"`
	Direction string `json:"direction"`
}

// Load reads a tokenizer.json. The file's padding and truncation sections
// are ignored (only its pad id, pad type id and direction are kept): the
// batch is padded to its longest text and truncated to MaxLength, because
// fixed padding to e.g. 128 multiplies inference time for short texts.
func Load(path string, opts ...Option) (*Tokenizer, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenize: load: %w", err)
	}
	cfg, tk, err := parseFile(data, o.own)
	if err != nil {
		return nil, fmt.Errorf("tokenize: load %s: %w", path, err)
	}
	// Padding and truncation are done in EncodeBatch: sugarme's truncation
	// builds overflow encodings nobody reads and log.Fatal()s on bad input,
	// and its per-text padding cannot know the batch's longest text.
	tk.WithPadding(nil)
	tk.WithTruncation(nil)

	t := &Tokenizer{
		tk:        tk,
		maxLength: o.maxLength,
		workers:   max(o.workers, 1),
	}
	ids := addedIDs(cfg.AddedTokens, tk.GetModel())
	t.vocabSize, t.remap = vocabSize(tk, &cfg, ids), sugarmeRemap(tk, ids)
	if t.wrap, err = learnWrap(tk); err != nil {
		return nil, fmt.Errorf("tokenize: load %s: %w", path, err)
	}
	if t.maxLength <= t.wrap.len() {
		return nil, fmt.Errorf("tokenize: load %s: max length %d leaves no room beside %d special tokens",
			path, t.maxLength, t.wrap.len())
	}
	t.spaceCuts = spaceCuttable(&cfg.pipelineConfig)
	t.unicodeSpaces = spaceSplitting(cfg.PreTokenizer)
	if o.foldAccents != nil && *o.foldAccents || o.foldAccents == nil && wantsFolding(cfg.Normalizer) {
		t.fold = foldMarks(cfg.Normalizer)
	}
	if cfg.own {
		// What Portable exports folds only where the file's normalizer
		// does not strip accents itself; here it strips them exactly.
		if o.foldAccents == nil && hfStripsAccents(cfg.Normalizer) {
			t.fold = nil
		}
		t.own = newOwnPipeline(&cfg.pipelineConfig, ids, t.fold)
	} else {
		// sugarme's added tokens and normalizer, with what retune mends.
		t.literals = newLiteralCuts(cfg.AddedTokens, tk, perCharNormalizer(cfg.Normalizer))
		t.literals.first, t.literals.firstBehind = cfg.PreTokenizer.metaspaceFirst()
		t.keepControls = cleansControls(cfg.Normalizer)
		t.lowercases, t.nfd = cfg.Normalizer.lowercases(), cfg.Normalizer.decomposes()
		t.chinese = handlesChinese(cfg.Normalizer)
	}
	if o.native && t.own == nil {
		// An error only means the file stays on sugarme.
		t.native, _ = newNative(&cfg.pipelineConfig, tk, t.fold, ids)
	}
	// The native encoder takes every chunk of the files it covers: the
	// cache is for sugarme's.
	if o.cache && t.native == nil && chunkable(&cfg.pipelineConfig) {
		t.cache = &chunkCache{}
	}
	t.padID, t.padTypeID, t.padLeft = padding(tk, cfg.Padding, ids)
	return t, nil
}

// padding returns the file's pad id when it has a padding section, else the
// id of a conventional pad token (added, with Hugging Face's id, or in the
// vocabulary), else 0 (masked out either way).
func padding(tk *tokenizer.Tokenizer, p *paddingConfig, added map[string]int) (id, typeID int64, left bool) {
	if p != nil {
		typeID = int64(p.PadTypeID)
		left = p.Direction == "Left"
		if p.PadID != nil {
			return int64(*p.PadID), typeID, left
		}
	}
	for _, tok := range []string{"[PAD]", "<pad>"} {
		if v, ok := added[tok]; ok {
			return int64(v), typeID, left
		}
		if v, ok := tk.TokenToId(tok); ok {
			return int64(v), typeID, left
		}
	}
	return 0, typeID, left
}

// vocabSize is one more than the largest id the tokenizer can emit, i.e. the
// row count an embedding table needs. tk.GetVocab(true) is avoided because it
// writes the added tokens into the model's own vocabulary map.
func vocabSize(tk *tokenizer.Tokenizer, cfg *fileConfig, added map[string]int) int {
	n := 0
	for _, id := range tk.GetModel().GetVocab() {
		n = max(n, id+1)
	}
	for _, id := range added {
		n = max(n, id+1)
	}
	// The ids the file states, where they are not the ones given
	// (addedIDs): a table sized for them costs nothing and fits either.
	for _, at := range cfg.AddedTokens {
		n = max(n, at.ID+1)
	}
	return n
}

// MaxLength is the longest sequence EncodeBatch produces, special tokens
// included.
func (t *Tokenizer) MaxLength() int { return t.maxLength }

// PadsLeft reports whether a batch's shorter texts are padded on the left
// (decoder embedders' tokenizers), not the right.
func (t *Tokenizer) PadsLeft() bool { return t.padLeft }

// VocabSize is one more than the largest token id the tokenizer can emit.
func (t *Tokenizer) VocabSize() int { return t.vocabSize }
