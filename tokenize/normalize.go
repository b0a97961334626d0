package tokenize

import (
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Input errors. EncodeBatch wraps them with the index of the offending text,
// so callers can both errors.Is them and find the text.
var (
	ErrEmptyText   = errors.New("text is empty or whitespace-only")
	ErrNoTokens    = errors.New("text yields no tokens after normalisation")
	ErrInvalidUTF8 = errors.New("text is not valid UTF-8")
	ErrEmptyBatch  = errors.New("batch has no texts")
)

func validateText(s string) error {
	if !utf8.ValidString(s) {
		return ErrInvalidUTF8
	}
	if strings.TrimFunc(s, unicode.IsSpace) == "" {
		return ErrEmptyText
	}
	return nil
}

// foldAccents decomposes s and removes the marks in marks ("café" ->
// "cafe"). sugarme v0.3.0 lowercases but does not strip accents where
// Hugging Face does, so lowercase vocabularies (built from accent-stripped
// text) would see [UNK] instead. Like Hugging Face, it leaves the text
// decomposed: a Hangul syllable stays its jamo (U+D55C -> U+1112 U+1161
// U+11AB, which BERT's vocabulary holds, and the syllable not) and a
// Bengali vowel sign U+09CB its two spacing signs. Which marks go is the
// file's (foldMarks).
func foldAccents(s string, marks *unicode.RangeTable) string {
	if isASCII(s) {
		return s // nothing to fold; skips two allocations on most input
	}
	return dropMarks(norm.NFD.String(s), marks)
}

// foldMarks is the marks Hugging Face strips under the file's normalizer:
// every mark (Mn, Mc, Me) where it holds a StripAccents, which removes
// is_combining_mark characters, else the nonspacing ones (Mn) that
// BertNormalizer's strip_accents removes. A Devanagari vowel sign (Mc)
// stays under BERT's normalizer and goes under NFD + StripAccents.
func foldMarks(n *normalizerConfig) *unicode.RangeTable {
	if n.has("StripAccents") {
		return unicode.M
	}
	return unicode.Mn
}

// has reports whether n is, or its Sequence holds, a normalizer of type typ.
func (n *normalizerConfig) has(typ string) bool {
	if n == nil {
		return false
	}
	if n.Type == typ {
		return true
	}
	for i := range n.Normalizers {
		if n.Normalizers[i].has(typ) {
			return true
		}
	}
	return false
}

// unicodeSpacesToASCII maps Unicode whitespace (Go's unicode.IsSpace, the
// White_Space property Rust's char::is_whitespace tests too) to a space.
// Hugging Face's BertPreTokenizer, Whitespace and WhitespaceSplit split on
// all of it; sugarme's regexes and the native encoder split only on ASCII
// [\t\n\f\r ] (WhitespaceSplit not even on \f), so "dog\u00a0runs" would be
// one unknown word here and two words wherever the exported tokenizer.json
// runs. With keepControls (a BertNormalizer with clean_text, which deletes
// control characters before it looks at spaces) the whitespace that is
// also a control character, \v, \f and U+0085, is left for it to delete:
// "dog\frun" is "dogrun" there.
func unicodeSpacesToASCII(s string, keepControls bool) string {
	odd := func(r rune) bool {
		switch {
		case r == ' ' || r == '\t' || r == '\n' || r == '\r': // split on everywhere
			return false
		case keepControls && unicode.IsControl(r):
			return false
		}
		return unicode.IsSpace(r)
	}
	if !strings.ContainsFunc(s, odd) {
		return s // the common case: no allocation
	}
	return strings.Map(func(r rune) rune {
		if odd(r) {
			return ' '
		}
		return r
	}, s)
}

// cleansControls reports whether the normalizer deletes control characters
// (a BertNormalizer with clean_text on, alone or in a Sequence).
func cleansControls(n *normalizerConfig) bool {
	return n.anyBert(func(b *normalizerConfig) *bool { return b.CleanText })
}

// handlesChinese reports whether the normalizer spaces CJK ideographs (a
// BertNormalizer with handle_chinese_chars on).
func handlesChinese(n *normalizerConfig) bool {
	return n.anyBert(func(b *normalizerConfig) *bool { return b.HandleChineseChars })
}

// anyBert reports whether n, or a normalizer of its Sequence, is a
// BertNormalizer whose flag is set (absent is false, as sugarme reads it).
func (n *normalizerConfig) anyBert(flag func(*normalizerConfig) *bool) bool {
	if n == nil {
		return false
	}
	switch n.Type {
	case "BertNormalizer":
		f := flag(n)
		return f != nil && *f
	case "Sequence":
		for i := range n.Normalizers {
			if n.Normalizers[i].anyBert(flag) {
				return true
			}
		}
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// normalizerConfig is the part of a tokenizer.json "normalizer" section that
// decides accent folding and the native encoder's normalisation steps.
// Pointers distinguish JSON null from false.
type normalizerConfig struct {
	Type               string             `json:"type"`
	Lowercase          *bool              `json:"lowercase"`
	StripAccents       *bool              `json:"strip_accents"`
	CleanText          *bool              `json:"clean_text"`
	HandleChineseChars *bool              `json:"handle_chinese_chars"`
	Normalizers        []normalizerConfig `json:"normalizers"`
	// Pattern and Content are a Replace normalizer's: what it replaces (a
	// string or a regular expression), and with what.
	Content *string `json:"content"`
	Pattern *struct {
		String *string `json:"String"`
		Regex  *string `json:"Regex"`
	} `json:"pattern"`
	// A Precompiled normalizer's rules, a Strip's sides, a Prepend's
	// prefix (see compileNormalizer).
	PrecompiledCharsmap *string `json:"precompiled_charsmap"`
	StripLeft           *bool   `json:"strip_left"`
	StripRight          *bool   `json:"strip_right"`
	Prepend             *string `json:"prepend"`
}

// wantsFolding reports whether the file's normalizer lowercases or strips
// accents, i.e. whether its vocabulary expects accent-free text.
func wantsFolding(n *normalizerConfig) bool {
	if n == nil {
		return false
	}
	switch n.Type {
	case "BertNormalizer":
		// Hugging Face semantics: strip_accents null means "same as
		// lowercase"; an explicit false keeps accents even when lowercasing
		// (the vocabulary then contains accented words).
		if n.StripAccents != nil {
			return *n.StripAccents
		}
		return n.Lowercase != nil && *n.Lowercase
	case "Lowercase", "StripAccents":
		return true
	case "Sequence":
		for i := range n.Normalizers {
			if wantsFolding(&n.Normalizers[i]) {
				return true
			}
		}
	}
	return false
}

// Lowercases reports whether a tokenizer.json (its raw bytes) lowercases
// text before encoding it: a Lowercase normalizer, a BertNormalizer with
// lowercase set, or a Sequence holding either. A file that does not parse
// does not.
func Lowercases(tokenizerJSON []byte) bool {
	var f struct {
		Normalizer *normalizerConfig `json:"normalizer"`
	}
	return json.Unmarshal(tokenizerJSON, &f) == nil && f.Normalizer.lowercases()
}

func (n *normalizerConfig) lowercases() bool {
	if n == nil {
		return false
	}
	switch n.Type {
	case "Lowercase":
		return true
	case "BertNormalizer":
		return n.Lowercase != nil && *n.Lowercase
	case "Sequence":
		for i := range n.Normalizers {
			if n.Normalizers[i].lowercases() {
				return true
			}
		}
	}
	return false
}

// decomposes reports whether the normalizer decomposes text (NFD, NFKD).
func (n *normalizerConfig) decomposes() bool {
	if n == nil {
		return false
	}
	switch n.Type {
	case "NFD", "NFKD":
		return true
	case "Sequence":
		for i := range n.Normalizers {
			if n.Normalizers[i].decomposes() {
				return true
			}
		}
	}
	return false
}

// lowerLenChange holds the runes whose lowercase has another UTF-8 length
// (Ⱥ, 2 bytes, lowercases to 3; İ, K, Ω, ẞ… to fewer) and the bytes that
// start them. sugarme's lowercasing loses its alignments on them, and
// with accents stripped after it (or "Ⱥ" anywhere) it panics: a text
// holding one failed whole.
var lowerLenChange = sync.OnceValue(func() (lc struct {
	lower map[rune]rune
	lead  [256]bool
}) {
	lc.lower = map[rune]rune{}
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if l := unicode.ToLower(r); utf8.ValidRune(r) && utf8.RuneLen(l) != utf8.RuneLen(r) {
			lc.lower[r] = l
			lc.lead[string(r)[0]] = true
		}
	}
	return lc
})

// prepForSugarme prepares s for sugarme where its normalizers differ from
// Hugging Face's; the native encoder does the same in its steps:
//   - it lowercases the runes sugarme cannot (lowerLenChange) where the
//     file lowercases anyway. İ is left alone where the file decomposes:
//     NFD then lowercasing makes it "i" plus a combining dot, which
//     lowercasing first would lose;
//   - where a BertNormalizer cleans text, it deletes private-use
//     characters, which Hugging Face's clean_text deletes and sugarme's
//     keeps (a word holding one was [UNK]), except where deleting one
//     would join a raw added token: Hugging Face looks for those before
//     clean_text ("[SE\ue000P]" holds none);
//   - where a BertNormalizer handles Chinese characters, it spaces the
//     ideographs sugarme's table misses (CJK Extension A, U+3400-U+4DBF:
//     its table is unsorted and its lookup binary).
func (t *Tokenizer) prepForSugarme(s string) string {
	if isASCII(s) {
		return s
	}
	lc := lowerLenChange()
	change := func(r rune) bool {
		_, lower := lc.lower[r]
		return t.lowercases && lower && !(r == '\u0130' && t.nfd) ||
			t.keepControls && unicode.Is(unicode.Co, r) ||
			t.chinese && spacedByHFOnly(r)
	}
	if !strings.ContainsFunc(s, change) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i, r := range s {
		switch {
		case !change(r):
			b.WriteRune(r)
		case t.keepControls && unicode.Is(unicode.Co, r):
			if t.literals.joins(b.String(), s[i+utf8.RuneLen(r):]) {
				b.WriteRune(r)
			}
		case t.chinese && spacedByHFOnly(r):
			b.WriteByte(' ')
			b.WriteRune(r)
			b.WriteByte(' ')
		default:
			b.WriteRune(lc.lower[r])
		}
	}
	return b.String()
}
