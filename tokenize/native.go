package tokenize

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

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
// switching paths changes no id, except where sugarme's alignment
// bookkeeping breaks and it garbles a chunk or panics: there it gives what
// Hugging Face gives (see normalize). Chunks that may hold an added token
// go to sugarme as before (its matching drops all but one kind of special
// token when several share a chunk, see TestSpecialTokensInText), and so
// do chunks NFD changes. Both are rare in real text.

// wordPiecePrefix is the only continuing_subword_prefix sugarme uses: it
// ignores the file's. Files with another prefix stay on sugarme, so taking
// the native path never changes ids.
const wordPiecePrefix = "##"

// maxNeedles bounds the added-token literals searched in every chunk; files
// with more (e.g. extended vocabularies) stay on sugarme.
const maxNeedles = 64

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

	// A chunk containing one of rawNeedles before normalisation, or one of
	// normNeedles after it, may hold an added token: it goes to sugarme.
	rawNeedles, normNeedles needles

	runs sync.Pool // *nativeRun
}

var errNotNative = errors.New("not covered by the native encoder")

// newNative builds the native encoder for a chunkable pipeline, or explains
// why the file is not covered. tk is the sugarme pipeline of the same file:
// its vocabulary and normalizer are reused so that both paths agree by
// construction where they can.
func newNative(cfg *pipelineConfig, tk *tokenizer.Tokenizer) (*native, error) {
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
	if err := n.setNeedles(cfg.AddedTokens, tk.GetNormalizer()); err != nil {
		return nil, fmt.Errorf("%w: %w", errNotNative, err)
	}
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

// setNeedles collects the literals whose presence in a chunk can make
// sugarme extract an added token. Its patterns are the token's content, or
// for single_word tokens the content normalised by the pipeline, matched in
// the raw text for normalized=false tokens and in the normalised text
// otherwise; neither can match where the literal is absent.
func (n *native) setNeedles(added []addedTokenConfig, norm normalizer.Normalizer) error {
	for _, at := range added {
		if at.Content == "" {
			continue // sugarme ignores it
		}
		nd := &n.rawNeedles
		if at.Normalized {
			nd = &n.normNeedles
		}
		nd.add(at.Content)
		if at.SingleWord {
			s, err := sugarmeNormalize(norm, at.Content)
			if err != nil {
				return err
			}
			nd.add(s)
		}
	}
	if k := len(n.rawNeedles.strs) + len(n.normNeedles.strs); k > maxNeedles {
		return fmt.Errorf("%d added-token literals", k)
	}
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

// needles is a set of literals with a first-byte filter: most chunks hold no
// byte that starts a literal (for BERT, no '[') and cost one table lookup
// per byte.
type needles struct {
	first [256]bool
	strs  []string
	bytes [][]byte // strs again, for searching normalised chunks
}

func (nd *needles) add(s string) {
	if s == "" {
		return
	}
	nd.first[s[0]] = true
	nd.strs = append(nd.strs, s)
	nd.bytes = append(nd.bytes, []byte(s))
}

// scan reports whether s is ASCII and whether some byte of it starts a
// literal: one pass that serves both the normalisation fast path and the
// added-token check.
func (nd *needles) scan(s string) (ascii, mayHold bool) {
	var or byte
	for i := 0; i < len(s); i++ {
		or |= s[i]
		mayHold = mayHold || nd.first[s[i]]
	}
	return or < utf8.RuneSelf, mayHold
}

// inString reports whether s contains a literal; scan first says whether
// it may.
func (nd *needles) inString(s string) bool {
	for _, x := range nd.strs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}

// inBytes reports whether b contains a literal.
func (nd *needles) inBytes(b []byte) bool {
	if len(nd.strs) == 0 || !mayStart(nd, b) {
		return false
	}
	for _, x := range nd.bytes {
		if bytes.Contains(b, x) {
			return true
		}
	}
	return false
}

// mayStart reports whether some byte of b starts a literal.
func mayStart(nd *needles, b []byte) bool {
	for _, c := range b {
		if nd.first[c] {
			return true
		}
	}
	return false
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
}

func (n *native) getRun() *nativeRun { return n.runs.Get().(*nativeRun) }

func (n *native) putRun(r *nativeRun) {
	r.ids, r.toks = nil, nil // the caller's slices, not ours to keep
	n.runs.Put(r)
}

// chunk appends the encoding of one space-free chunk to ids (and toks, if
// not nil) and reports true, or reports false having appended nothing when
// the chunk must go to sugarme; c is then the chunk to give it, accents
// folded if fold.
func (r *nativeRun) chunk(c string, fold bool, ids []int, toks []string) ([]int, []string, string, bool) {
	n := r.n
	ascii, mayHold := n.rawNeedles.scan(c)
	if fold && !ascii {
		c = foldAccents(c)
		ascii, mayHold = n.rawNeedles.scan(c)
	}
	if mayHold && n.rawNeedles.inString(c) {
		return ids, toks, c, false
	}
	s, ok := n.normalize(r, c, ascii)
	if !ok || n.normNeedles.inBytes(s) {
		return ids, toks, c, false
	}
	r.ids, r.toks = ids, toks
	r.split(0, s)
	return r.ids, r.toks, c, true
}
