package tokenize

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// nativeErr is why newNative turns the file down, nil if it covers it.
func nativeErr(t *testing.T, path string) error {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg, tk, err := parseFile(data, true)
	if err != nil {
		t.Fatal(err)
	}
	_, err = newNative(&cfg.pipelineConfig, tk, foldMarks(cfg.Normalizer), addedIDs(cfg.AddedTokens, tk.GetModel()))
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
		{"65 added tokens", map[string]any{"added_tokens": manyAdded}, "added tokens"},
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

// TestNativeWhereSugarmeMisaligns pins the chunks whose normalisation
// sugarme garbles or panics on (see normalize) to what Hugging Face's
// normalizers make of them: BertNormalizer's clean_text drops format
// characters (BOM, zero-width space, soft hyphen, marks of direction, word
// joiner) wherever they are, and lowercasing maps every rune, whatever its
// UTF-8 length. Each text must encode as its normalised twin does.
func TestNativeWhereSugarmeMisaligns(t *testing.T) {
	bert := loadBERT(t)
	glove := mustLoad(t, gloveFile(t))
	stripNoFold := mustLoad(t, editedBERT(t, func(doc map[string]any) {
		doc["normalizer"] = map[string]any{"type": "BertNormalizer", "clean_text": true,
			"handle_chinese_chars": false, "strip_accents": true, "lowercase": true}
	}), WithFoldAccents(false))
	whole := wholeTextBERT(t, nil)
	tests := []struct {
		name       string
		tok        *Tokenizer
		text, twin string
	}{
		{"longer lowercase, whole text to sugarme", whole, "ȺBC and Ⱦ", "ⱥbc and ⱦ"},
		{"shorter lowercase, whole text to sugarme", whole, "İb \u212aelvin", "ib kelvin"},
		{"shorter lowercase beside a literal, no folding", stripNoFold, "[SEP]İb x\u212a[SEP]", "[SEP]ib xk[SEP]"},
		{"BOM before a word", bert, "\ufeffhello world", "hello world"},
		{"zero-width space before a word", bert, "\u200bhello world", "hello world"},
		{"soft hyphen before a word", bert, "\u00adhello", "hello"},
		{"left-to-right mark before a word", bert, "\u200eThe cat", "the cat"},
		{"word joiner before a word", bert, "x \u2060hello", "x hello"},
		{"two format characters", bert, "\ufeff\u200bthe", "the"},
		{"longer lowercase, BERT", bert, "ȺBC and Ⱦ", "ⱥbc and ⱦ"},
		{"longer lowercase, glove-100d", glove, "ȺBC and Ⱦ", "ⱥbc and ⱦ"},
		{"shorter lowercase, no folding", stripNoFold, "\u212Aelvin", "kelvin"},
		{"mark before a word, no folding", stripNoFold, "\u0301hello", "hello"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.tok.EncodeBatch([]string{tt.text})
			if err != nil {
				t.Fatal(err)
			}
			want, err := tt.tok.EncodeBatch([]string{tt.twin})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.IDs, want.IDs) {
				gotToks, _ := tt.tok.Tokens(tt.text)
				wantToks, _ := tt.tok.Tokens(tt.twin)
				t.Fatalf("%+q: ids %v (%q), want %+q's %v (%q)", tt.text, got.IDs, gotToks, tt.twin, want.IDs, wantToks)
			}
		})
	}
}

// A word of many added-token literals ("[SEP][SEP]…", no space) encodes
// as the literals it holds, each its own token, in time linear in them:
// natively, and through sugarme cut into calls of about literalsPerCall
// literals (its matching is quadratic in them; TestLiteralCuts says where
// it is cut).
func TestLiteralRunsAreCut(t *testing.T) {
	for _, c := range []struct {
		tok *Tokenizer
		lit string
	}{
		{loadBERT(t), "[SEP]"}, {mustLoad(t, gloveFile(t)), "[UNK]"},
		{loadBERT(t, withoutNative()), "[SEP]"}, {mustLoad(t, gloveFile(t), withoutNative()), "[UNK]"},
	} {
		// 600 KB: uncut, sugarme took 1.7 s on 150 KB and 5.2 s on 300 KB
		// of "[SEP]" with the BERT file, so about 20 s on this; cut, under
		// a second.
		n := 120000
		if raceEnabled {
			n = 2000
		}
		start := time.Now()
		toks, err := c.tok.Tokens("a" + strings.Repeat(c.lit, n) + "b")
		if err != nil {
			t.Fatal(err)
		}
		took := time.Since(start)
		if len(toks) != n+2 || toks[1] != c.lit || toks[n] != c.lit {
			t.Fatalf("%d literals gave %d tokens (%q … %q)", n, len(toks), toks[:min(3, len(toks))], toks[max(0, len(toks)-3):])
		}
		if !raceEnabled && took > 10*time.Second {
			t.Errorf("%s × %d took %v", c.lit, n, took)
		}
	}
}

// A tokenizer the native encoder and the chunk cache do not cover gives
// sugarme whole texts: a long run of literals is cut there too, and the
// pieces give the ids the whole text gives.
func TestLiteralRunsAreCutInWholeTexts(t *testing.T) {
	tok := wholeTextBERT(t, nil)
	// One kind of literal: with several, sugarme extracts only one kind
	// in a call (TestSpecialTokensInText), so cuts would change its ids.
	text := "words before " + strings.Repeat("x[SEP]y z[SEP] ", 3*literalsPerCall) + "after"
	if n := len(slices.Collect(tok.literals.cut(text))); n < 6 {
		t.Fatalf("%d pieces, want the run cut", n)
	}
	got, gotToks, err := tok.viaSugarme(nil, nil, text, -1, true, tok.encodeChunk)
	if err != nil {
		t.Fatal(err)
	}
	want, wantToks, err := tok.encodeChunk(text)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) || !slices.Equal(gotToks, wantToks) {
		t.Fatalf("cut text: %d ids %q…, whole: %d ids %q…", len(got), gotToks[:min(8, len(gotToks))], len(want), wantToks[:min(8, len(wantToks))])
	}
	n := 120000
	if raceEnabled {
		n = 2000
	}
	start := time.Now()
	b, err := tok.EncodeBatch([]string{strings.Repeat("[SEP]", n)})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); !raceEnabled && took > 10*time.Second {
		t.Errorf("[SEP] × %d took %v", n, took)
	}
	if b.Truncated != 1 {
		t.Errorf("Truncated %d, want the run cut to the maximum length", b.Truncated)
	}
}

// Literals whose match reaches beyond them (an lstrip [MASK] takes the
// space before it, a normalized [CLS] is matched in the normalised text)
// keep the ids the whole text gives: [MASK] runs are cut, [CLS] ones not
// (BERT's normaliser lowercases it, see literalCuts).
func TestLiteralRunsWhereMatchesReachOut(t *testing.T) {
	tok := wholeTextBERT(t, func(doc map[string]any) {
		for _, at := range doc["added_tokens"].([]any) {
			switch m := at.(map[string]any); m["content"] {
			case "[MASK]":
				m["lstrip"] = true
			case "[CLS]":
				m["normalized"] = true
			}
		}
	})
	for _, tt := range []struct {
		text string
		cut  bool
	}{{strings.Repeat("a [MASK] ", 2*literalsPerCall), true}, {strings.Repeat("x[CLS]y ", 2*literalsPerCall), false}} {
		if n := len(slices.Collect(tok.literals.cut(tt.text))); (n > 1) != tt.cut {
			t.Errorf("%.30q…: cut into %d pieces", tt.text, n)
		}
		got, _, err := tok.viaSugarme(nil, nil, tt.text, -1, true, tok.encodeChunk)
		if err != nil {
			t.Fatal(err)
		}
		want, _, err := tok.encodeChunk(tt.text)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%.30q…: %d ids, whole %d", tt.text, len(got), len(want))
		}
	}
}

// wholeTextBERT loads the BERT file with a Metaspace pre-tokenizer, which
// neither the native encoder nor the chunk cache covers: its texts go
// whole to sugarme. edit, if not nil, changes the file further.
func wholeTextBERT(t *testing.T, edit func(doc map[string]any), opts ...Option) *Tokenizer {
	t.Helper()
	tok := mustLoad(t, editedBERT(t, func(doc map[string]any) {
		doc["pre_tokenizer"] = map[string]any{"type": "Metaspace", "replacement": "▁", "add_prefix_space": true}
		if edit != nil {
			edit(doc)
		}
	}), opts...)
	if tok.native != nil || tok.cache != nil {
		t.Fatal("the Metaspace file should go whole to sugarme")
	}
	return tok
}
