package tokenize

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// trickyTexts probe the places where chunk-by-chunk encoding could diverge
// from whole-text encoding.
var trickyTexts = []string{
	"hello world",
	"  leading, trailing and  double   spaces  ",
	"tabs\tand\nnewlines\r\nmixed with spaces",
	"control \x00chars\x01 next\x02 to \x7f spaces",
	"NBSP\u00a0joined words and\u2003em space",
	"punctuation: (e.g., p<0.05), [1-3]; x/y — 'quoted' \"text\"...",
	"one special token in text: a [MASK] here",
	"glued special token: [CLS]x",
	"日本語のテキスト and 中文 mixed",
	"combining \u0301mark after a space and e\u0301 decomposed",
	"Café naïve RÉSUMÉ Ångström Sjögren",
	"emoji 🙂 and symbols ± × ∑ β-catenin TNF-α",
	strings.Repeat("x", 100) + " chunk longer than the cache key limit",
	"unaffable supercalifragilistic antidisestablishmentarianism",
}

func TestChunkedMatchesWhole(t *testing.T) {
	corpus := append(slices.Clone(trickyTexts), abstracts(t, 40)...)
	for _, tc := range []struct {
		name string
		tok  *Tokenizer
	}{
		{"bert", loadBERT(t, withoutNative())},
		{"bert without folding", loadBERT(t, withoutNative(), WithFoldAccents(false))},
		{"wordlevel", loadGlove(t, withoutNative())},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.tok.cache == nil {
				t.Fatal("chunk cache not enabled for a chunkable pipeline")
			}
			// Two passes: the first fills the cache, the second reads it.
			for _, text := range corpus {
				if tc.tok.fold != nil {
					text = foldAccents(text, tc.tok.fold)
				}
				wantIDs, wantToks, err := tc.tok.encodeChunk(text)
				if err != nil {
					t.Fatalf("whole %q: %v", text, err)
				}
				for pass := range 2 {
					gotIDs, gotToks, err := tc.tok.chunked(nil, nil, text, tc.tok.fold, -1, true)
					if err != nil {
						t.Fatalf("chunked %q: %v", text, err)
					}
					if !slices.Equal(gotIDs, wantIDs) || !slices.Equal(gotToks, wantToks) {
						t.Fatalf("pass %d, %q:\nchunked %v %q\nwhole   %v %q", pass, text, gotIDs, gotToks, wantIDs, wantToks)
					}
				}
			}
		})
	}
}

func TestChunkable(t *testing.T) {
	bert := `{"normalizer":{"type":"BertNormalizer","lowercase":true},"pre_tokenizer":{"type":"BertPreTokenizer"},
		"model":{"type":"WordPiece"},"added_tokens":[{"id":0,"content":"[PAD]"}]}`
	tests := []struct {
		name string
		json string
		want bool
	}{
		{"bert", bert, true},
		{"glove", `{"normalizer":{"type":"Lowercase"},"pre_tokenizer":{"type":"BertPreTokenizer"},"model":{"type":"WordLevel"}}`, true},
		{"whitespace, no normalizer", `{"normalizer":null,"pre_tokenizer":{"type":"Whitespace"},"model":{"type":"WordLevel"}}`, true},
		{"normalizer sequence", `{"normalizer":{"type":"Sequence","normalizers":[{"type":"NFD"},{"type":"Lowercase"},{"type":"StripAccents"}]},
			"pre_tokenizer":{"type":"WhitespaceSplit"},"model":{"type":"WordPiece"}}`, true},
		{"replace can create or remove spaces", `{"normalizer":{"type":"Sequence","normalizers":[{"type":"Replace"}]},
			"pre_tokenizer":{"type":"Whitespace"},"model":{"type":"WordPiece"}}`, false},
		{"byte-level keeps the space in the next token", `{"pre_tokenizer":{"type":"ByteLevel"},"model":{"type":"BPE"}}`, false},
		{"metaspace", `{"pre_tokenizer":{"type":"Metaspace"},"model":{"type":"Unigram"}}`, false},
		{"pre-tokenizer sequence that splits on spaces", `{"pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"WhitespaceSplit"},
			{"type":"BertPreTokenizer"}]},"model":{"type":"WordPiece"}}`, true},
		{"pre-tokenizer sequence with one that keeps spaces", `{"pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"Whitespace"},
			{"type":"Metaspace"}]},"model":{"type":"WordPiece"}}`, false},
		{"empty pre-tokenizer sequence", `{"pre_tokenizer":{"type":"Sequence","pretokenizers":[]},"model":{"type":"WordLevel"}}`, false},
		{"no pre-tokenizer: the whole text is one word", `{"pre_tokenizer":null,"model":{"type":"WordLevel"}}`, false},
		{"bpe model", `{"pre_tokenizer":{"type":"Whitespace"},"model":{"type":"BPE"}}`, false},
		{"added token with a space", strings.Replace(bert, `"[PAD]"`, `"new york"`, 1), false},
	}
	for _, tt := range tests {
		var cfg pipelineConfig
		if err := json.Unmarshal([]byte(tt.json), &cfg); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := chunkable(&cfg); got != tt.want {
			t.Errorf("%s: chunkable = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestCacheOffMatchesOn(t *testing.T) {
	texts := append(slices.Clone(trickyTexts), abstracts(t, 20)...)
	// Long texts check that stopping early at MaxLength truncates the same.
	texts = append(texts, strings.Join(abstracts(t, 12), " "), words("word", 2000))
	on, off := loadBERT(t, withoutNative()), loadBERT(t, withoutNative(), withoutCache())
	if off.cache != nil {
		t.Fatal("withoutCache left the cache on")
	}
	a, err := on.EncodeBatch(texts)
	if err != nil {
		t.Fatal(err)
	}
	b, err := off.EncodeBatch(texts)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.IDs, b.IDs) || !slices.Equal(a.TypeIDs, b.TypeIDs) || !slices.Equal(a.Mask, b.Mask) ||
		a.SeqLen != b.SeqLen || a.Truncated != b.Truncated {
		t.Error("cached and uncached batches differ")
	}
	if a.Truncated != 2 {
		t.Errorf("Truncated = %d, want the 2 long texts", a.Truncated)
	}
}

// sugarme's whole-text added-token matching sorts its matches by pattern
// rather than position and so drops all but one kind of special token when
// several appear. Chunking sidesteps that for space-separated ones and gives
// what Hugging Face gives: every literal special token is extracted.
func TestSpecialTokensInText(t *testing.T) {
	b, err := loadBERT(t).EncodeBatch([]string{"[MASK] [CLS]x y[SEP] [UNK]"})
	if err != nil {
		t.Fatal(err)
	}
	want := []int64{bertCLS, 103, bertCLS, 1060, 1061, bertSEP, bertUnk, bertSEP}
	if got := rowIDs(b, 0); !slices.Equal(got, want) {
		t.Errorf("ids = %v, want %v", got, want)
	}
}
