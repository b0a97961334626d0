package tokenize

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"

	"github.com/sugarme/tokenizer"
)

// Batch is a padded, row-major [Size x SeqLen] encoding of texts, in the
// layout ONNX encoders take as input_ids, attention_mask and token_type_ids.
type Batch struct {
	IDs, Mask, TypeIDs []int64
	Size, SeqLen       int
	// Truncated counts the texts that were cut to MaxLength.
	Truncated int
}

// TextError is EncodeBatch's error about one of its texts.
type TextError struct {
	Index int // in the texts EncodeBatch was given
	Err   error
}

func (e *TextError) Error() string { return fmt.Sprintf("tokenize: text %d: %v", e.Index, e.Err) }
func (e *TextError) Unwrap() error { return e.Err }

// row is the content ids of one text (no special tokens), already cut to
// fit MaxLength together with the special tokens.
type row struct {
	ids       []int
	truncated bool
}

// EncodeBatch encodes texts with special tokens, truncating each to
// MaxLength and padding all to the longest one. Empty, whitespace-only and
// non-UTF-8 texts are rejected with an error naming their index.
func (t *Tokenizer) EncodeBatch(texts []string) (*Batch, error) {
	if len(texts) == 0 {
		return nil, fmt.Errorf("tokenize: %w", ErrEmptyBatch)
	}
	// Validate everything first so a bad text fails fast, before any work.
	for i, s := range texts {
		if err := validateText(s); err != nil {
			return nil, &TextError{Index: i, Err: err}
		}
	}
	rows := make([]row, len(texts))
	errs := make([]error, len(texts))
	t.forEach(len(texts), func(i int) {
		rows[i], errs[i] = t.encodeOne(texts[i])
	})
	for i, err := range errs {
		if err != nil {
			return nil, &TextError{Index: i, Err: err}
		}
	}
	return t.pack(rows), nil
}

// forEach runs fn(0..n-1) on up to t.workers goroutines. Workers pull
// indices from a shared counter rather than taking fixed chunks, because
// text lengths (and so costs) vary widely within a batch.
func (t *Tokenizer) forEach(n int, fn func(i int)) {
	workers := min(t.workers, n)
	if workers <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				fn(i)
			}
		})
	}
	wg.Wait()
}

// encodeOne tokenizes one text and cuts its content so that content plus
// special tokens fit MaxLength.
func (t *Tokenizer) encodeOne(text string) (row, error) {
	budget := t.maxLength - t.wrap.len()
	ids, _, err := t.content(text, budget, false)
	if errors.Is(err, ErrNoTokens) {
		// A text normalisation empties ("\u200b", a lone accent) is its
		// special tokens alone, as Hugging Face encodes it; what the model
		// makes of that is its own (a static table gives a zero vector,
		// which callers report as unembeddable).
		return row{}, nil
	}
	if err != nil {
		return row{}, err
	}
	if len(ids) > budget {
		return row{ids: ids[:budget], truncated: true}, nil
	}
	return row{ids: ids}, nil
}

// Tokens returns the model tokens of text (word pieces for WordPiece; words
// for WordLevel, which keeps unknown words as normalised rather than
// "[UNK]") without special tokens and without truncation, normalised exactly
// as EncodeBatch normalises.
func (t *Tokenizer) Tokens(text string) ([]string, error) {
	if err := validateText(text); err != nil {
		return nil, fmt.Errorf("tokenize: %w", err)
	}
	_, toks, err := t.content(text, -1, true)
	if err != nil {
		return nil, fmt.Errorf("tokenize: %w", err)
	}
	return toks, nil
}

// content returns the ids of text without special tokens, and its tokens if
// wantToks. With limit >= 0 it may stop once it has more than limit tokens
// (the caller truncates anyway). The slices are the caller's: cached chunks
// are copied, never aliased.
func (t *Tokenizer) content(text string, limit int, wantToks bool) (ids []int, toks []string, err error) {
	// Most words are one token; the guess saves regrowing the slices.
	guess := len(text)/5 + 1
	if limit >= 0 {
		guess = min(guess, limit+16)
	}
	ids = make([]int, 0, guess)
	if wantToks {
		toks = make([]string, 0, guess)
	}
	switch {
	case t.own != nil:
		ids, toks, err = t.ownContent(ids, toks, text, limit, wantToks)
	case t.native == nil && t.cache == nil:
		text = t.spacesToASCII(text)
		if t.fold != nil {
			text = foldAccents(text, t.fold)
		}
		ids, toks, err = t.viaSugarme(ids, toks, text, limit, wantToks, t.encodeChunk)
	default:
		ids, toks, err = t.chunked(ids, toks, t.spacesToASCII(text), t.fold, limit, wantToks)
	}
	if err == nil && len(ids) == 0 {
		err = ErrNoTokens
	}
	return ids, toks, err
}

// spacesToASCII maps Unicode whitespace to spaces where the pre-tokenizer
// splits on it (see unicodeSpacesToASCII).
func (t *Tokenizer) spacesToASCII(s string) string {
	if !t.unicodeSpaces {
		return s
	}
	return unicodeSpacesToASCII(s, t.keepControls)
}

// chunked appends the encoding of text chunk by chunk, natively where the
// native encoder takes the chunk and through sugarme and the cache (if
// any) otherwise; only valid for pipelines where chunkable holds. Later
// chunks cannot change earlier tokens, so it stops past limit (if >= 0): a
// 2000-word text costs no more than a 512-token one. Accents are folded
// (if fold) chunk by chunk, which is folding the text and then splitting
// it (folding neither makes nor removes spaces, and no character composes
// with a space), minus a pass and three copies of every non-ASCII text.
func (t *Tokenizer) chunked(ids []int, toks []string, text string, fold *unicode.RangeTable, limit int, wantToks bool) ([]int, []string, error) {
	var run *nativeRun
	if t.native != nil {
		run = t.native.getRun()
		defer t.native.putRun(run)
	}
	var err error
	for c := range strings.SplitSeq(text, " ") {
		if c == "" {
			continue
		}
		if run != nil {
			ids, toks = run.chunk(c, fold, ids, toks)
		} else {
			if fold != nil {
				c = foldAccents(c, fold)
			}
			if ids, toks, err = t.viaSugarme(ids, toks, c, limit, wantToks, t.sugarmeChunk); err != nil {
				return nil, nil, err
			}
		}
		if limit >= 0 && len(ids) > limit {
			break
		}
	}
	return ids, toks, nil
}

// viaSugarme appends to ids (and toks, if wantToks) the encoding of s by
// encode (sugarme's pipeline: a chunk through the cache, or a whole text),
// prepared as prepForSugarme says, in pieces when
// s holds a long run of added-token literals (see literalsPerCall) or is a
// long text under a Metaspace pre-tokenizer (see spaceCut). Like
// chunked, it may stop once it has more than limit (>= 0) tokens.
func (t *Tokenizer) viaSugarme(ids []int, toks []string, s string, limit int, wantToks bool,
	encode func(string) ([]int, []string, error)) ([]int, []string, error) {
	for p := range t.literals.cut(t.prepForSugarme(s)) {
		for q := range t.spaceCut(p) {
			qi, qt, err := encode(q)
			if err != nil {
				return nil, nil, err
			}
			ids = append(ids, qi...)
			if wantToks {
				toks = append(toks, qt...)
			}
			if limit >= 0 && len(ids) > limit {
				return ids, toks, nil
			}
		}
	}
	return ids, toks, nil
}

// sugarmeChunk encodes one chunk through sugarme, memoised in the cache if
// there is one.
func (t *Tokenizer) sugarmeChunk(c string) (ids []int, toks []string, err error) {
	if t.cache != nil {
		if ch, ok := t.cache.get(c); ok {
			return ch.ids, ch.tokens, nil
		}
	}
	if ids, toks, err = t.encodeChunk(c); err != nil {
		return nil, nil, err
	}
	if t.cache != nil && len(c) <= maxCachedChunk {
		t.cache.put(c, chunk{ids: ids, tokens: toks})
	}
	return ids, toks, nil
}

// encodeChunk runs sugarme's normalisation, pre-tokenisation and model on s.
func (t *Tokenizer) encodeChunk(s string) (ids []int, toks []string, err error) {
	defer recoverAsError(&err)
	enc, err := t.tk.EncodeSingleSequence(tokenizer.NewInputSequence(s), 0, tokenizer.Byte)
	if err != nil {
		return nil, nil, err
	}
	if t.remap != nil {
		for i, id := range enc.Ids {
			if hf, ok := t.remap[id]; ok {
				enc.Ids[i] = hf
			}
		}
	}
	return enc.Ids, enc.Tokens, nil
}

// pack wraps rows in the special tokens and pads them to the longest one.
// Padding positions get the file's pad id and pad type id and mask 0; real
// tokens get mask 1.
func (t *Tokenizer) pack(rows []row) *Batch {
	w := &t.wrap
	seqLen := 1 // rows with no token at all (no special tokens either) are one padding token
	for _, r := range rows {
		seqLen = max(seqLen, w.len()+len(r.ids))
	}
	n := len(rows) * seqLen
	b := &Batch{
		IDs:     make([]int64, n),
		Mask:    make([]int64, n),
		TypeIDs: make([]int64, n),
		Size:    len(rows),
		SeqLen:  seqLen,
	}
	for i, r := range rows {
		if r.truncated {
			b.Truncated++
		}
		length := w.len() + len(r.ids)
		tokens, padding := i*seqLen, i*seqLen+length
		if t.padLeft {
			tokens, padding = i*seqLen+seqLen-length, i*seqLen
		}
		ids, types := b.IDs[tokens:tokens+length], b.TypeIDs[tokens:tokens+length]
		k := 0
		for j, id := range w.prefix {
			ids[k], types[k] = int64(id), int64(w.prefixTypes[j])
			k++
		}
		for _, id := range r.ids {
			ids[k], types[k] = int64(id), int64(w.contentType)
			k++
		}
		for j, id := range w.suffix {
			ids[k], types[k] = int64(id), int64(w.suffixTypes[j])
			k++
		}
		for j := range length {
			b.Mask[tokens+j] = 1
		}
		for j := range seqLen - length {
			b.IDs[padding+j] = t.padID
			b.TypeIDs[padding+j] = t.padTypeID
		}
	}
	return b
}

// recoverAsError turns a panic inside sugarme (its pipeline indexes and
// type-asserts freely) into an error: a panic on an EncodeBatch worker
// goroutine could not be recovered by the caller and would kill the whole
// service.
func recoverAsError(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("tokenizer panicked: %v", r)
	}
}
