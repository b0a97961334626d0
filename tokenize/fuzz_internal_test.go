package tokenize

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Fuzz targets for EncodeBatch over the real tokenizer files: glove-100d
// (WordLevel) and BERT's (WordPiece). `go test` runs their seeds; `go test
// -run XXX -fuzz FuzzEncodeBERT ./tokenize/` fuzzes (they found a text
// holding "Ⱥ" failing, words led by a BOM garbled, and runs of "[SEP]"
// taking quadratic time).

type fuzzToks struct {
	full, short *Tokenizer // the encoder's max length, and 12
	maxLen      int
}

var fuzzLoads sync.Map

// fuzzLoad loads a tokenizer file once per fuzzing process.
func fuzzLoad(tb testing.TB, path string, maxLen int) *fuzzToks {
	v, _ := fuzzLoads.LoadOrStore(path, sync.OnceValues(func() (*fuzzToks, error) {
		full, err := Load(path, WithMaxLength(maxLen))
		if err != nil {
			return nil, err
		}
		short, err := Load(path, WithMaxLength(12))
		if err != nil {
			return nil, err
		}
		return &fuzzToks{full: full, short: short, maxLen: maxLen}, nil
	}))
	ft, err := v.(func() (*fuzzToks, error))()
	if err != nil {
		tb.Fatal(err)
	}
	return ft
}

var fuzzSeeds = []string{
	"hello world", "a", "Café naïve RÉSUMÉ Ångström Sjögren",
	"  leading, trailing and  double   spaces  ",
	"tabs\tand\nnewlines\r\nmixed with spaces",
	"control \x00chars\x01 next\x02 to \x7f spaces",
	"NBSP\u00a0joined words and\u2003em space",
	"one special token in text: a [MASK] here [CLS]x y[SEP] [UNK] [PAD]",
	"日本語のテキスト and 中文 mixed 한글 カ ｆ",
	"combining \u0301mark after a space and e\u0301 decomposed",
	"emoji 🙂 👍🏽 and symbols ± × ∑ β-catenin TNF-α",
	"zero\u200bwidth \u200d\u200c joiners \ufeffbom \u2028ls \u202ertl\u202c \u2066iso\u2069",
	"\u200bab \u200b\u200b Ⱥ ȺȺ \u212a İstanbul ǅ ß Σ",
	"日\u200b 中\u0301 日\x00本",
	strings.Repeat("x", 200) + " " + strings.Repeat("é", 150),
	strings.Repeat("supercalifragilistic", 10),
	strings.Repeat("word ", 300),
	"\ufffd\ufffd replacement \ue000 private \U0010fffd",
	"\xed\xa0\x80 surrogate",
	"\xff\xfe invalid",
	"\u0085nel\u000bvt\u000cff",
	"a\u0300\u0301\u0302\u0303\u0304\u0305\u0306\u0307\u0308\u0309",
	"\u0301",
	"[CLS][SEP][MASK]",
	"각 가각 ﬁ ﬀ ① ㎏ Ⅻ",
}

func FuzzEncodeGlove(f *testing.F) { fuzzEncode(f, gloveFile(f), 512) }

func FuzzEncodeBERT(f *testing.F) { fuzzEncode(f, bertPath(f), 128) }

func fuzzEncode(f *testing.F, path string, maxLen int) {
	for _, s := range fuzzSeeds {
		f.Add(s, "second text")
	}
	f.Fuzz(func(t *testing.T, s, s2 string) {
		ft := fuzzLoad(t, path, maxLen)
		for _, tc := range []struct {
			tok    *Tokenizer
			maxLen int
		}{{ft.full, ft.maxLen}, {ft.short, 12}} {
			checkEncode(t, tc.tok, tc.maxLen, s, s2)
		}
		// Truncation is a prefix of the full encoding.
		a, errA := ft.full.EncodeBatch([]string{s})
		b, errB := ft.short.EncodeBatch([]string{s})
		if (errA == nil) != (errB == nil) {
			t.Fatalf("full err %v, short err %v", errA, errB)
		}
		if errA == nil {
			fa, fb := rowIDs(a, 0), rowIDs(b, 0)
			w := ft.full.wrap
			ca := fa[len(w.prefix) : len(fa)-len(w.suffix)]
			cb := fb[len(w.prefix) : len(fb)-len(w.suffix)]
			if len(cb) > len(ca) || !slices.Equal(ca[:len(cb)], cb) {
				t.Fatalf("short content %v is not a prefix of full %v", cb, ca)
			}
			if len(ca) > len(cb) && b.Truncated != 1 {
				t.Fatalf("short cut %d -> %d tokens but Truncated=%d", len(ca), len(cb), b.Truncated)
			}
		}
	})
}

func checkEncode(t *testing.T, tok *Tokenizer, maxLen int, s, s2 string) {
	t.Helper()
	b, err := tok.EncodeBatch([]string{s})
	if verr := validateText(s); verr != nil {
		var te *TextError
		if !errors.As(err, &te) || te.Index != 0 || !errors.Is(err, verr) {
			t.Fatalf("invalid text %q: err %v, want %v", s, err, verr)
		}
		return
	}
	if err != nil {
		t.Fatalf("EncodeBatch(%q): %v", s, err)
	}
	checkFuzzBatch(t, tok, b, maxLen)
	// Deterministic (the second call may hit the chunk cache).
	b2, err := tok.EncodeBatch([]string{s})
	if err != nil || !slices.Equal(b.IDs, b2.IDs) || !slices.Equal(b.Mask, b2.Mask) || b.Truncated != b2.Truncated {
		t.Fatalf("second encoding of %q differs: %v %v / %v %v (err %v)", s, b.IDs, b.Mask, b2.IDs, b2.Mask, err)
	}
	// Batch rows equal single encodings.
	if validateText(s2) != nil {
		return
	}
	single2, err := tok.EncodeBatch([]string{s2})
	if err != nil {
		t.Fatalf("EncodeBatch(%q): %v", s2, err)
	}
	batch, err := tok.EncodeBatch([]string{s, s2, s})
	if err != nil {
		t.Fatalf("batch: %v", err)
	}
	checkFuzzBatch(t, tok, batch, maxLen)
	for i, want := range [][]int64{rowIDs(b, 0), rowIDs(single2, 0), rowIDs(b, 0)} {
		if got := rowIDs(batch, i); !slices.Equal(got, want) {
			t.Fatalf("batch row %d = %v, single = %v", i, got, want)
		}
	}
	if batch.Truncated != 2*b.Truncated+single2.Truncated {
		t.Fatalf("batch Truncated %d, singles %d+%d+%d", batch.Truncated, b.Truncated, single2.Truncated, b.Truncated)
	}
	// Tokens gives at least as many tokens as the (untruncated) content.
	toks, err := tok.Tokens(s)
	if err != nil && !errors.Is(err, ErrNoTokens) {
		t.Fatalf("Tokens(%q): %v", s, err)
	}
	content := len(rowIDs(b, 0)) - tok.wrap.len()
	if len(toks) < content {
		t.Fatalf("Tokens(%q) gives %d tokens, EncodeBatch %d content ids", s, len(toks), content)
	}
	if b.Truncated == 0 && len(toks) != content {
		t.Fatalf("Tokens(%q) gives %d tokens %q, untruncated EncodeBatch %d content ids", s, len(toks), toks, content)
	}
}

func checkFuzzBatch(t *testing.T, tok *Tokenizer, b *Batch, maxLen int) {
	t.Helper()
	if !slices.Contains(b.Mask, 1) {
		// Texts normalised to nothing, without special tokens to wrap
		// them (glove-100d): one padding position each.
		if b.SeqLen != 1 || slices.ContainsFunc(b.IDs, func(id int64) bool { return id != tok.padID }) {
			t.Fatalf("empty rows: SeqLen %d, ids %v", b.SeqLen, b.IDs)
		}
		return
	}
	checkBatchShape(t, b, maxLen, tok.padID)
	w := tok.wrap
	for i := range b.Size {
		row := rowIDs(b, i)
		if len(row) < w.len() {
			t.Fatalf("row %d has %d tokens, fewer than its %d special tokens", i, len(row), w.len())
		}
		for j, id := range row {
			if id < 0 || id >= int64(tok.VocabSize()) {
				t.Fatalf("row %d pos %d: id %d outside vocab %d", i, j, id, tok.VocabSize())
			}
		}
		for j, id := range w.prefix {
			if row[j] != int64(id) {
				t.Fatalf("row %d prefix %v", i, row)
			}
		}
		for j, id := range w.suffix {
			if row[len(row)-len(w.suffix)+j] != int64(id) {
				t.Fatalf("row %d suffix %v", i, row)
			}
		}
	}
}

// FuzzNativeVsSugarme: the native encoder gives sugarme's tokens wherever
// sugarme does not garble or panic (sugarmeMisaligns), and where a text
// holds added tokens, sugarme's tokens for the stretches between them
// (compareAddedSplit). U+2B820-U+2B91F, which sugarme spaces as Chinese
// and Hugging Face does not, is left out.
func FuzzNativeVsSugarme(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	paths := []string{bertPath(f), gloveFile(f)}
	type pair struct{ native, ref *Tokenizer }
	var once sync.Once
	var pairs []pair
	f.Fuzz(func(t *testing.T, s string) {
		once.Do(func() {
			for _, path := range paths {
				n, err := Load(path)
				if err != nil {
					t.Fatal(err)
				}
				r, err := Load(path, withoutNative())
				if err != nil {
					t.Fatal(err)
				}
				pairs = append(pairs, pair{n, r})
			}
		})
		if validateText(s) != nil {
			return
		}
		if strings.ContainsFunc(s, func(r rune) bool { return 0x2b820 <= r && r <= 0x2b91f }) {
			return
		}
		for _, p := range pairs {
			if addedRE(p.native).MatchString(s) {
				compareAddedSplit(t, p.native, p.ref, s)
				continue
			}
			if sugarmeMisaligns(p.native, s) {
				continue
			}
			a, errA := p.native.Tokens(s)
			b, errB := p.ref.Tokens(s)
			if (errA == nil) != (errB == nil) || !slices.Equal(a, b) {
				t.Fatalf("%q: native %q (%v), sugarme %q (%v)", s, a, errA, b, errB)
			}
		}
	})
}
