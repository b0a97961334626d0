package tokenize

import (
	"errors"
	"fmt"
	"sync"
	"unicode"

	"github.com/sugarme/tokenizer"
	"github.com/sugarme/tokenizer/normalizer"
)

// The native encoder replaces sugarme's per-chunk pipeline for the common
// BERT/GloVe shapes of tokenizer.json (WordPiece or WordLevel; BERT,
// Lowercase, StripAccents and NFD normalizers; BERT, Whitespace and
// WhitespaceSplit pre-tokenizers). sugarme spends ~20µs and dozens of
// allocations per chunk on alignments and offsets nobody reads; the native
// encoder works on reused byte buffers and, for most words, does one
// vocabulary lookup (native_vocab.go) per token.
//
// It reproduces sugarme, quirks included (see normStep and preTok), so that
// switching paths changes no id, except where sugarme differs from
// Hugging Face, whose tokenizer runs the exports: where its alignment
// bookkeeping breaks and it garbles a chunk or panics (see normalize),
// for private-use and CJK Extension A characters (see normStep), for
// chunks NFD changes (see applyStep), and in finding added tokens
// (native_added.go). Every chunk of a file it covers is its own.

// wordPiecePrefix is the only continuing_subword_prefix sugarme uses: it
// ignores the file's. Files with another prefix stay on sugarme, so taking
// the native path never changes ids.
const wordPiecePrefix = "##"

// maxAdded bounds the added tokens searched in every chunk; files with more
// (e.g. extended vocabularies) stay on sugarme.
const maxAdded = 64

type native struct {
	steps   []normStep
	ascii   asciiNorm
	preToks []preTok

	wordPiece bool
	// vocab holds sugarme's model vocabulary: same keys, same ids.
	vocab     *vocabTable
	unkID     int32
	unkToken  string
	maxChars  int // WordPiece max_input_chars_per_word
	maxKeyLen int // longest vocabulary key, in bytes

	// rawAdded are the added tokens matched in the raw chunk, normAdded
	// those matched once it is normalised (native_added.go).
	rawAdded, normAdded literalSet

	runs sync.Pool // *nativeRun
}

var errNotNative = errors.New("not covered by the native encoder")

// newNative builds the native encoder for a chunkable pipeline, or explains
// why the file is not covered. tk is the sugarme pipeline of the same file:
// its vocabulary and normalizer are reused so that both paths agree by
// construction where they can; ids are the added tokens' (addedIDs).
func newNative(cfg *pipelineConfig, tk *tokenizer.Tokenizer, fold *unicode.RangeTable, ids map[string]int) (*native, error) {
	if !chunkable(cfg) {
		return nil, fmt.Errorf("%w: not chunkable", errNotNative)
	}
	steps, err := normSteps(cfg.Normalizer)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errNotNative, err)
	}
	pts, err := preToks(cfg.PreTokenizer)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errNotNative, err)
	}
	n := &native{steps: steps, ascii: newASCIINorm(steps), preToks: pts}
	if err := n.setModel(&cfg.Model, tk.GetModel().GetVocab()); err != nil {
		return nil, fmt.Errorf("%w: %w", errNotNative, err)
	}
	if k := len(cfg.AddedTokens); k > maxAdded {
		return nil, fmt.Errorf("%w: %d added tokens", errNotNative, k)
	}
	n.setAdded(cfg.AddedTokens, ids, fold)
	n.runs.New = func() any { return &nativeRun{n: n} }
	return n, nil
}

// setModel reads the model section as sugarme's createWordPiece and
// createWordLevel read it.
func (n *native) setModel(m *modelConfig, vocab map[string]int) error {
	switch m.Type {
	case "WordPiece":
		n.wordPiece = true
		n.unkToken, n.maxChars = "[UNK]", 100
		if m.UnkToken != nil {
			n.unkToken = *m.UnkToken
		}
		if p := m.ContinuingSubwordPrefix; p != nil && *p != wordPiecePrefix {
			return fmt.Errorf("continuing_subword_prefix %q", *p)
		}
		if m.MaxInputCharsPerWord != nil {
			n.maxChars = int(*m.MaxInputCharsPerWord)
		}
	case "WordLevel":
		n.unkToken = "<unk>"
		if m.UnkToken != nil && *m.UnkToken != "" {
			n.unkToken = *m.UnkToken
		}
	default:
		return fmt.Errorf("model %q", m.Type)
	}
	var err error
	if n.vocab, err = newVocabTable(vocab); err != nil {
		return err
	}
	for k := range vocab {
		n.maxKeyLen = max(n.maxKeyLen, len(k))
	}
	unk, ok := n.vocab.get([]byte(n.unkToken))
	if !ok {
		// sugarme fails on the first unknown word; leave that to it.
		return fmt.Errorf("unk token %q not in the vocabulary", n.unkToken)
	}
	n.unkID = unk
	return nil
}

func sugarmeNormalize(norm normalizer.Normalizer, s string) (out string, err error) {
	if norm == nil {
		return s, nil
	}
	defer recoverAsError(&err)
	ns, err := norm.Normalize(normalizer.NewNormalizedFrom(s))
	if err != nil {
		return "", err
	}
	return ns.GetNormalized(), nil
}

// nativeRun is the per-call state of the native encoder, pooled so that
// encoding allocates nothing but the caller's result slices.
type nativeRun struct {
	n   *native
	ids []int
	// toks is nil unless tokens are wanted; it then has the length of ids.
	toks []string
	// norm holds the normalised chunk, alt is the second buffer of
	// multi-step normalisation, key builds "##"+piece for lookups.
	norm, alt, key []byte
	// rawSpans and normSpans are the splits at added tokens.
	rawSpans, normSpans []addedSpan
}

func (n *native) getRun() *nativeRun { return n.runs.Get().(*nativeRun) }

func (n *native) putRun(r *nativeRun) {
	r.ids, r.toks = nil, nil // the caller's slices, not ours to keep
	n.runs.Put(r)
}

// chunk appends the encoding of one space-free chunk to ids (and toks, if
// not nil).
func (r *nativeRun) chunk(c string, fold *unicode.RangeTable, ids []int, toks []string) ([]int, []string) {
	n := r.n
	r.ids, r.toks = ids, toks
	ascii, mayHold := n.rawAdded.scan(c)
	if mayHold {
		r.withAdded(c, fold)
		return r.ids, r.toks
	}
	if fold != nil && !ascii {
		c = foldAccents(c, fold)
		ascii = isASCII(c)
	}
	r.encodeNormalized(n.normalize(r, c, ascii))
	return r.ids, r.toks
}
