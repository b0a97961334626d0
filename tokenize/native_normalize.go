package tokenize

import (
	"fmt"
	"unicode"
	"unicode/utf8"

	"github.com/sugarme/tokenizer/normalizer"
	"golang.org/x/text/unicode/norm"
)

// normStep is one character-wise normalisation the native encoder performs.
// Each mirrors what sugarme v0.3.0 does for the same JSON (the native
// encoder gives the ids the sugarme path gives), except where sugarme
// differs from Hugging Face in ways the sugarme path makes up for
// (prepForSugarme: private-use and CJK Extension A characters) or cannot
// (where it garbles or panics: see normalize). The text was already
// accent-folded (foldAccents) before either sees it.
type normStep uint8

const (
	// stepClean is BertNormalizer's clean_text: drop NUL, U+FFFD, control,
	// format and private-use characters (Cc, Cf, Co), except \t \n \r, as
	// Hugging Face does (sugarme keeps Co; Cs cannot occur in valid
	// UTF-8, and Hugging Face's tables leave unassigned characters, Cn,
	// alone although its comment names them). sugarme maps only some
	// whitespace to a space; every pre-tokenizer the native encoder
	// supports splits on \t \n \r and space alike, so whitespace is kept
	// as it is.
	stepClean normStep = iota
	// stepChinese is handle_chinese_chars: surround CJK ideographs
	// (Hugging Face's ranges, hfChinese) with spaces.
	stepChinese
	// stepLower is strings.ToLower, rune by rune (no final-sigma rule).
	stepLower
	// stepStripMarks is StripAccents, and BertNormalizer's strip_accents,
	// as sugarme does them: drop nonspacing marks (Mn), without
	// decomposing first (NFD is a step of its own). Hugging Face's
	// StripAccents drops every mark; folding, which runs first wherever a
	// file strips accents, already did (foldMarks).
	stepStripMarks
	// stepNFD is Unicode canonical decomposition.
	stepNFD
)

// normSteps flattens a normalizer section into steps, in sugarme's order.
// BertNormalizer flags default to false when absent and strip_accents null
// means false, as sugarme reads them (Hugging Face defaults them to true;
// its "strip accents when lowercasing" is what foldAccents provides).
func normSteps(n *normalizerConfig) ([]normStep, error) {
	if n == nil {
		return nil, nil
	}
	on := func(b *bool) bool { return b != nil && *b }
	switch n.Type {
	case "BertNormalizer":
		var steps []normStep
		if on(n.CleanText) {
			steps = append(steps, stepClean)
		}
		if on(n.HandleChineseChars) {
			steps = append(steps, stepChinese)
		}
		if on(n.Lowercase) {
			steps = append(steps, stepLower)
		}
		if on(n.StripAccents) {
			steps = append(steps, stepStripMarks)
		}
		return steps, nil
	case "Lowercase":
		return []normStep{stepLower}, nil
	case "StripAccents":
		return []normStep{stepStripMarks}, nil
	case "NFD":
		return []normStep{stepNFD}, nil
	case "Sequence":
		var steps []normStep
		for i := range n.Normalizers {
			s, err := normSteps(&n.Normalizers[i])
			if err != nil {
				return nil, err
			}
			steps = append(steps, s...)
		}
		return steps, nil
	}
	// NFC, NFKC and NFKD are left out on purpose: sugarme's NFC and NFKC
	// decompose instead of composing, and its NFKD returns nil for text
	// that is already NFKD.
	return nil, fmt.Errorf("normalizer %q", n.Type)
}

// bertControl is sugarme's isControl, which it does not export.
func bertControl(r rune) bool {
	switch r {
	case '\t', '\n', '\r':
		return false
	}
	return unicode.In(r, unicode.Cc, unicode.Cf)
}

// hfChinese is Hugging Face's (and Google BERT's) is_chinese_char: the
// CJK Unified Ideographs blocks and extensions A to F, minus
// U+2B820-U+2B91F, which BERT's list skips, and the compatibility
// ideographs.
func hfChinese(r rune) bool {
	switch {
	case r < 0x3400:
		return false
	case r <= 0x4DBF, 0x4E00 <= r && r <= 0x9FFF, 0xF900 <= r && r <= 0xFAFF:
		return true
	}
	return 0x20000 <= r && r <= 0x2A6DF || 0x2A700 <= r && r <= 0x2B81F ||
		0x2B920 <= r && r <= 0x2CEAF || 0x2F800 <= r && r <= 0x2FA1F
}

// spacedByHFOnly: Hugging Face spaces r as a Chinese character and sugarme
// does not (normalizer.IsChinese misses Extension A).
func spacedByHFOnly(r rune) bool { return hfChinese(r) && !normalizer.IsChinese(r) }

// asciiNorm says what the steps do to an ASCII byte: on ASCII only
// cleaning and lowercasing act (there are no CJK, marks or decompositions),
// and the two commute, so one pass replaces all steps.
type asciiNorm struct {
	drop  [utf8.RuneSelf]bool
	lower bool
}

func newASCIINorm(steps []normStep) asciiNorm {
	var a asciiNorm
	for _, s := range steps {
		switch s {
		case stepClean:
			for b := range utf8.RuneSelf {
				a.drop[b] = a.drop[b] || b == 0 || bertControl(rune(b))
			}
		case stepLower:
			a.lower = true
		}
	}
	return a
}

// normalize writes the normalised chunk (ascii if it is all ASCII) into r's
// buffer and returns it.
//
// Where sugarme's NormalizedString loses its alignments it garbles text or
// panics, and the native encoder gives what Hugging Face gives instead
// (found by TestNativeMatchesSugarmeRandom, and by fuzzing): a step that
// removes runes before the first rune it keeps ("\ufeffhello" gave
// "hello", "##hell", "##o"; Hugging Face, "hello"), or removes runes after
// an earlier step inserted some (CJK spacing, then accent stripping), and
// lowercasing that changes a rune's UTF-8 length ("Ⱥ" made sugarme
// dereference nil, so any text holding it failed).
func (n *native) normalize(r *nativeRun, chunk string, ascii bool) []byte {
	buf := r.norm[:0]
	if ascii {
		for i := 0; i < len(chunk); i++ {
			b := chunk[i]
			if n.ascii.drop[b] {
				continue
			}
			if n.ascii.lower && 'A' <= b && b <= 'Z' {
				b += 'a' - 'A'
			}
			buf = append(buf, b)
		}
		r.norm = buf
		return buf
	}
	buf = append(buf, chunk...)
	alt := r.alt[:0]
	for _, step := range n.steps {
		alt = applyStep(step, alt[:0], buf)
		buf, alt = alt, buf
	}
	r.norm, r.alt = buf, alt
	return buf
}

// applyStep appends step applied to src onto dst. NFD is Hugging Face's:
// sugarme garbles some chunks it changes (TestNFDAsHuggingFace).
func applyStep(step normStep, dst, src []byte) []byte {
	if step == stepNFD {
		return norm.NFD.Append(dst, src...)
	}
	for len(src) > 0 {
		r, size := utf8.DecodeRune(src)
		src = src[size:]
		switch step {
		case stepClean:
			// Input is valid UTF-8, so RuneError is a literal U+FFFD.
			if r == 0 || r == utf8.RuneError || bertControl(r) || unicode.Is(unicode.Co, r) {
				continue
			}
		case stepChinese:
			if hfChinese(r) {
				dst = append(dst, ' ')
				dst = utf8.AppendRune(dst, r)
				dst = append(dst, ' ')
				continue
			}
		case stepLower:
			r = unicode.ToLower(r)
		case stepStripMarks:
			if unicode.Is(unicode.Mn, r) {
				continue
			}
		}
		dst = utf8.AppendRune(dst, r)
	}
	return dst
}
