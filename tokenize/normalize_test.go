package tokenize

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"unicode"
)

func TestFoldAccents(t *testing.T) {
	tests := []struct{ in, want string }{
		{"cafe", "cafe"},
		{"Café", "Cafe"},
		{"cafe\u0301", "cafe"}, // already decomposed
		{"naïve résumé", "naive resume"},
		{"Ångström Øre", "Angstrom Øre"}, // Ø has no decomposition: kept
		{"日本語", "日本語"},
		{"ﬁ", "ﬁ"}, // compatibility ligature: NFD (not NFKD) keeps it
		// Left decomposed, as Hugging Face leaves them: jamo, spacing signs.
		{"\ud55c", "\u1112\u1161\u11ab"},
		{"\u0995\u09cb", "\u0995\u09c7\u09be"},
		{"\u304c", "\u304b"}, // が: the voiced mark is nonspacing
	}
	for _, tt := range tests {
		if got := foldAccents(tt.in, unicode.Mn); got != tt.want {
			t.Errorf("foldAccents(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestWantsFolding(t *testing.T) {
	tests := []struct {
		normalizer string
		want       bool
	}{
		{`null`, false},
		{`{"type":"BertNormalizer","lowercase":true,"strip_accents":null}`, true},
		{`{"type":"BertNormalizer","lowercase":true}`, true},
		{`{"type":"BertNormalizer","lowercase":false,"strip_accents":null}`, false},
		{`{"type":"BertNormalizer","lowercase":true,"strip_accents":false}`, false},
		{`{"type":"BertNormalizer","lowercase":false,"strip_accents":true}`, true},
		{`{"type":"Lowercase"}`, true},
		{`{"type":"StripAccents"}`, true},
		{`{"type":"NFKC"}`, false},
		{`{"type":"Sequence","normalizers":[{"type":"NFD"},{"type":"Lowercase"}]}`, true},
		{`{"type":"Sequence","normalizers":[{"type":"NFC"},{"type":"Replace"}]}`, false},
	}
	for _, tt := range tests {
		var n *normalizerConfig
		if err := json.Unmarshal([]byte(tt.normalizer), &n); err != nil {
			t.Fatalf("%s: %v", tt.normalizer, err)
		}
		if got := wantsFolding(n); got != tt.want {
			t.Errorf("wantsFolding(%s) = %v, want %v", tt.normalizer, got, tt.want)
		}
	}
}

func TestAccents(t *testing.T) {
	tests := []struct {
		name       string
		tok        *Tokenizer
		text       string
		wantIDs    []int64 // unpadded, special tokens included
		wantTokens []string
	}{
		{"wordlevel folds by detection", loadGlove(t), "Café", []int64{gloveCafe}, []string{"cafe"}},
		{"wordlevel sentence", loadGlove(t), "CAFÉ au lait", []int64{gloveCafe, 7, 8}, []string{"cafe", "au", "lait"}},
		// Without folding the lowercased "café" is out of vocabulary: this
		// is the sugarme behaviour the folding exists to fix.
		{"wordlevel folding off", loadGlove(t, WithFoldAccents(false)), "Café", []int64{gloveUnk}, []string{"café"}},
		{"bert folds by detection", loadBERT(t), "Café", []int64{bertCLS, bertCafe, bertSEP}, []string{"cafe"}},
		{"bert folding off", loadBERT(t, WithFoldAccents(false)), "Café", []int64{bertCLS, bertUnk, bertSEP}, []string{"[UNK]"}},
		// Hugging Face's ids (tokenizers 0.23.2): Hangul and Indic vowel
		// signs stay decomposed. Recomposed, each word here was one [UNK].
		{"bert hangul", loadBERT(t), "\ud55c\uad6d\uc5b4 \ud14d\uc2a4\ud2b8",
			[]int64{bertCLS, 1469, 30006, 30021, 29991, 30014, 30020, 29999, 30008, 1467, 30009, 30020, 29997, 30017, 30003, 30017, bertSEP},
			[]string{"\u1112", "##\u1161", "##\u11ab", "##\u1100", "##\u116e", "##\u11a8", "##\u110b", "##\u1165",
				"\u1110", "##\u1166", "##\u11a8", "##\u1109", "##\u1173", "##\u1110", "##\u1173"}},
		{"bert bengali", loadBERT(t), "\u0995\u09cb\u09b7 \u09ac\u09be\u0982\u09b2\u09be",
			[]int64{bertCLS, 1353, 29917, 29914, 29911, 1368, 29914, 29882, 29909, 29914, bertSEP},
			[]string{"\u0995", "##\u09c7", "##\u09be", "##\u09b7", "\u09ac", "##\u09be", "##\u0982", "##\u09b2", "##\u09be"}},
		// Hugging Face's StripAccents removes every mark (Mn, Mc, Me), its
		// BertNormalizer's strip_accents only nonspacing ones (Mn): a
		// Devanagari visarga (Mc) or an enclosing circle (Me) stays there.
		{"StripAccents strips spacing marks", mustLoad(t, writeTokenizer(t, gloveVocab,
			map[string]any{"normalizer": seqNFDStripLower})), "café\u0903", []int64{gloveCafe}, []string{"cafe"}},
		{"StripAccents strips enclosing marks", mustLoad(t, writeTokenizer(t, gloveVocab,
			map[string]any{"normalizer": seqNFDStripLower})), "CAFE\u20dd", []int64{gloveCafe}, []string{"cafe"}},
		{"bare Lowercase keeps spacing marks", loadGlove(t), "café\u0903", []int64{gloveUnk}, []string{"cafe\u0903"}},
		{"forced on without a lowercasing normalizer", mustLoad(t, writeTokenizer(t, gloveVocab,
			map[string]any{"normalizer": nil}), WithFoldAccents(true)), "cafè", []int64{gloveCafe}, []string{"cafe"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.tok.EncodeBatch([]string{tt.text})
			if err != nil {
				t.Fatalf("EncodeBatch: %v", err)
			}
			if got := rowIDs(b, 0); !slices.Equal(got, tt.wantIDs) {
				t.Errorf("ids = %v, want %v", got, tt.wantIDs)
			}
			toks, err := tt.tok.Tokens(tt.text)
			if err != nil {
				t.Fatalf("Tokens: %v", err)
			}
			if !slices.Equal(toks, tt.wantTokens) {
				t.Errorf("Tokens = %q, want %q", toks, tt.wantTokens)
			}
		})
	}
}

func TestTokens(t *testing.T) {
	bert := loadBERT(t, WithMaxLength(16))
	tests := []struct {
		name    string
		text    string
		wantLen int
		want    []string
		wantErr error
	}{
		{name: "word pieces without specials", text: "Hello world", want: []string{"hello", "world"}},
		{name: "sub-word split", text: "tokenization", want: []string{"token", "##ization"}},
		{name: "not truncated to MaxLength", text: words("word", 2000), wantLen: 2000},
		{name: "empty", text: "  ", wantErr: ErrEmptyText},
		{name: "invalid UTF-8", text: "\xff", wantErr: ErrInvalidUTF8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := bert.Tokens(tt.text)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.want != nil && !slices.Equal(got, tt.want) {
				t.Errorf("Tokens = %q, want %q", got, tt.want)
			}
			if tt.wantLen > 0 && len(got) != tt.wantLen {
				t.Errorf("len(Tokens) = %d, want %d", len(got), tt.wantLen)
			}
		})
	}
}

func mustLoad(t *testing.T, path string, opts ...Option) *Tokenizer {
	t.Helper()
	tok, err := Load(path, opts...)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return tok
}

// Hugging Face's splitting pre-tokenizers split on every Unicode whitespace
// character; so must we, or "cat\u00a0sat" is one unknown word here and two
// known ones wherever the tokenizer.json is used next. A ByteLevel
// pre-tokenizer keeps such characters as bytes of a token, so nothing maps
// them there.
func TestUnicodeWhitespaceSplits(t *testing.T) {
	text := "cat\u00a0sat\u2003on\u3000the\vmat\fau\u2028lait"
	want := []string{"cat", "sat", "on", "the", "mat", "au", "lait"}
	paths := map[string][]Option{"native": nil, "sugarme+cache": {withoutNative()}, "sugarme whole": {withoutNative(), withoutCache()}}
	for _, pre := range []string{"BertPreTokenizer", "Whitespace", "WhitespaceSplit"} {
		for name, opts := range paths {
			t.Run(pre+" "+name, func(t *testing.T) {
				tok := mustLoad(t, writeTokenizer(t, gloveVocab, map[string]any{"pre_tokenizer": map[string]any{"type": pre}}), opts...)
				got, err := tok.Tokens(text)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, want) {
					t.Errorf("Tokens = %q, want %q", got, want)
				}
			})
		}
	}
	if got := unicodeSpacesToASCII("plain ascii\ttext\n", false); got != "plain ascii\ttext\n" {
		t.Errorf("ASCII text changed: %q", got)
	}
}

// BERT's normalizer (clean_text) deletes control characters before it looks
// at spaces, and \v, \f and U+0085 are both: Hugging Face reads "dog\frun"
// as "dogrun", while a no-break space or a line separator splits.
func TestUnicodeWhitespaceBERT(t *testing.T) {
	bert := loadBERT(t)
	for text, want := range map[string][]string{
		"dog\frun":       {"dog", "##run"},
		"dog\vrun":       {"dog", "##run"},
		"dog\u0085run":   {"dog", "##run"},
		"dog\u00a0run":   {"dog", "run"},
		"dog\u2028run":   {"dog", "run"},
		"dog\u3000run":   {"dog", "run"},
		"dog \t\nrun\r.": {"dog", "run", "."},
	} {
		got, err := bert.Tokens(text)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("%q: tokens %q (%v), want %q", text, got, err, want)
		}
	}
}

// Which normalizers lowercase: what models add compares with
// sentence_bert_config.json's do_lower_case.
func TestLowercases(t *testing.T) {
	for norm, want := range map[string]bool{
		`{"type":"Lowercase"}`:                                                    true,
		`{"type":"BertNormalizer","lowercase":true}`:                              true,
		`{"type":"BertNormalizer","lowercase":false}`:                             false,
		`{"type":"BertNormalizer"}`:                                               false,
		`{"type":"Sequence","normalizers":[{"type":"NFD"},{"type":"Lowercase"}]}`: true,
		`{"type":"Sequence","normalizers":[{"type":"NFD"}]}`:                      false,
		`null`: false,
	} {
		if got := Lowercases([]byte(`{"normalizer":` + norm + `}`)); got != want {
			t.Errorf("normalizer %s: lowercases %v, want %v", norm, got, want)
		}
	}
	if Lowercases([]byte("{")) {
		t.Error("a file that does not parse lowercases")
	}
}
