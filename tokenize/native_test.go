package tokenize

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

// nativeErr is why newNative turns the file down, nil if it covers it.
func nativeErr(t *testing.T, path string) error {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg, tk, err := parseFile(data)
	if err != nil {
		t.Fatal(err)
	}
	_, err = newNative(&cfg.pipelineConfig, tk)
	return err
}

// TestNativeCoverage lists the tokenizer.json shapes the native encoder
// takes and the ones it leaves to sugarme, with the reason.
func TestNativeCoverage(t *testing.T) {
	vocab := append(slices.Clone(gloveVocab), "##s", "<unk>")
	wordPiece := func(extra map[string]any) map[string]any {
		ids := map[string]int{}
		for i, w := range vocab {
			ids[w] = i
		}
		m := map[string]any{"type": "WordPiece", "vocab": ids, "unk_token": "[UNK]"}
		for k, v := range extra {
			m[k] = v
		}
		return map[string]any{"model": m}
	}
	with := func(sections ...map[string]any) map[string]any {
		out := map[string]any{}
		for _, s := range sections {
			for k, v := range s {
				out[k] = v
			}
		}
		return out
	}
	typ := func(name string) map[string]any { return map[string]any{"type": name} }
	norm := func(n any) map[string]any { return map[string]any{"normalizer": n} }
	pre := func(p any) map[string]any { return map[string]any{"pre_tokenizer": p} }
	bertNorm := map[string]any{"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
		"strip_accents": nil, "lowercase": true}
	manyAdded := []any{}
	for i := range 65 {
		manyAdded = append(manyAdded, map[string]any{"id": 100 + i, "content": fmt.Sprintf("<extra_%d>", i),
			"special": true, "normalized": false})
	}
	tests := []struct {
		name    string
		extra   map[string]any
		wantErr string // "" when native
	}{
		{"WordLevel, Lowercase, BertPreTokenizer (GloVe)", nil, ""},
		{"WordPiece, BertNormalizer, BertPreTokenizer (BERT)", with(wordPiece(nil), norm(bertNorm)), ""},
		{"WordPiece with explicit ## prefix and max chars", with(wordPiece(map[string]any{
			"continuing_subword_prefix": "##", "max_input_chars_per_word": 50})), ""},
		{"no normalizer, Whitespace", with(norm(nil), pre(typ("Whitespace"))), ""},
		{"NFD Lowercase StripAccents, WhitespaceSplit", with(norm(map[string]any{"type": "Sequence",
			"normalizers": []any{typ("NFD"), typ("Lowercase"), typ("StripAccents")}}), pre(typ("WhitespaceSplit"))), ""},
		{"pre-tokenizer sequence", with(pre(map[string]any{"type": "Sequence",
			"pretokenizers": []any{typ("WhitespaceSplit"), typ("BertPreTokenizer")}})), ""},
		{"WordPiece prefix sugarme ignores", with(wordPiece(map[string]any{"continuing_subword_prefix": "@@"})), "continuing_subword_prefix"},
		{"WordPiece unk not in vocab", with(wordPiece(map[string]any{"unk_token": "<missing>"})), "unk token"},
		{"WordLevel default unk <unk>", map[string]any{"model": map[string]any{"type": "WordLevel",
			"vocab": map[string]int{"[PAD]": 0, "a": 1}}}, "unk token"},
		{"NFC (sugarme decomposes instead)", norm(typ("NFC")), `normalizer "NFC"`},
		{"NFKC", norm(typ("NFKC")), `normalizer "NFKC"`},
		{"Replace", norm(map[string]any{"type": "Replace", "pattern": map[string]any{"String": "a"}, "content": "b"}), "not chunkable"},
		{"Metaspace", pre(map[string]any{"type": "Metaspace", "replacement": "▁", "add_prefix_space": true}), "not chunkable"},
		{"Digits in a pre-tokenizer sequence", pre(map[string]any{"type": "Sequence",
			"pretokenizers": []any{typ("WhitespaceSplit"), map[string]any{"type": "Digits", "individual_digits": true}}}), "not chunkable"},
		{"added token with a space", map[string]any{"added_tokens": []any{map[string]any{"id": 3,
			"content": "new york", "special": false, "normalized": true}}}, "not chunkable"},
		{"65 added tokens", map[string]any{"added_tokens": manyAdded}, "added-token literals"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeTokenizer(t, vocab, tt.extra)
			err := nativeErr(t, path)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("newNative error %v, want %q", err, tt.wantErr)
			}
			if got := mustLoad(t, path).native != nil; got != (tt.wantErr == "") {
				t.Errorf("Load: native encoder on = %v", got)
			}
		})
	}
}

// TestNativeHandsBack checks which chunks the native encoder leaves to
// sugarme with the BERT file (see native.go and normalize).
func TestNativeHandsBack(t *testing.T) {
	tok := loadBERT(t, WithFoldAccents(false))
	tests := []struct {
		chunk   string
		sugarme bool
	}{
		{"hello", false},
		{"Hello,", false},
		{"日本語", false},
		{"[cls]", false},
		{"[CLS]", true},
		{"x[SEP]", true},
		{"[MASK]y", true},
		{"a\u200bb", false}, // cleaned inside the chunk
		{"\x01ab", false},   // leading ASCII control, first transform
		{"\u200bab", true},  // leading multi-byte removal
		{"Ⱥb", true},        // lowercase is longer
		{"İb", true},        // lowercase is shorter
		{"Ωb", false},       // lowercase, same length
	}
	run := tok.native.getRun()
	defer tok.native.putRun(run)
	for _, tt := range tests {
		if _, _, _, ok := run.chunk(tt.chunk, tok.fold, nil, nil); ok == tt.sugarme {
			t.Errorf("chunk %q: native %v, want %v", tt.chunk, ok, !tt.sugarme)
		}
	}
}

// TestNativeWordPiece pins WordPiece itself on a small vocabulary, against
// hand-derived (Hugging Face) results rather than sugarme's.
func TestNativeWordPiece(t *testing.T) {
	vocab := []string{"[UNK]", "un", "unaff", "##aff", "##able", "a", "##b", "##é", "é", "##ééé", "x", "##x"}
	ids := map[string]int{}
	for i, w := range vocab {
		ids[w] = i
	}
	path := writeTokenizer(t, nil, map[string]any{
		"normalizer": nil,
		"model": map[string]any{"type": "WordPiece", "vocab": ids, "unk_token": "[UNK]",
			"continuing_subword_prefix": "##", "max_input_chars_per_word": 9},
	})
	tok := mustLoad(t, path)
	if tok.native == nil {
		t.Fatal("native encoder off")
	}
	tests := []struct {
		word    string
		wantIDs []int
		want    []string
	}{
		{"unaffable", []int{2, 4}, []string{"unaff", "##able"}}, // longest first: unaff, not un
		{"unab", []int{0}, []string{"[UNK]"}},                   // "##ab" and "##a" missing: whole word unknown
		{"ab", []int{5, 6}, []string{"a", "##b"}},
		{"éé", []int{8, 7}, []string{"é", "##é"}},
		{"éééé", []int{8, 9}, []string{"é", "##ééé"}}, // multi-byte back-off by runes
		{"xxxxxxxxx", append([]int{10}, slices.Repeat([]int{11}, 8)...), nil},
		{"xxxxxxxxxx", []int{0}, []string{"[UNK]"}}, // 10 > max_input_chars_per_word
		{"q", []int{0}, []string{"[UNK]"}},
	}
	for _, tt := range tests {
		ids, toks, err := tok.content(tt.word, -1, true)
		if err != nil || !slices.Equal(ids, tt.wantIDs) || tt.want != nil && !slices.Equal(toks, tt.want) {
			t.Errorf("%q: %v %q %v, want %v %q", tt.word, ids, toks, err, tt.wantIDs, tt.want)
		}
	}
}
