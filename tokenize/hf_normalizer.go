package tokenize

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// hfNormalizer is a tokenizer.json normalizer run here as Hugging Face
// runs it, for files whose normalizer sugarme gets wrong (see
// ownNormalizer). Each step maps the text Hugging Face's normalizer of the
// same name gives; alignments, which only offsets need, are not kept.
type hfNormalizer []func(string) string

func (h hfNormalizer) normalize(s string) string {
	for _, step := range h {
		s = step(s)
	}
	return s
}

// ownNormalizer returns the file's normalizer to be run here, and ok,
// where retune runs it: every step is one compileNormalizer knows, and
// either sugarme's differs from Hugging Face's, or the pre-tokenizer is a
// Metaspace retune runs too (metaspace.go), so that sugarme only calls the
// model, or a ByteLevel one (RoBERTa's), under which sugarme drops the
// added tokens written in a text ("<mask>"). sugarme's Precompiled garbles the text it changes, its Replace
// ignores a Regex pattern (XLM-R's " {2,}" left runs of spaces, each an
// extra "▁"), its NFC and NFKC decompose and its NFKD fails to load. Then
// added tokens are found here too (see own.go), which needs a Metaspace
// pre-tokenizer not to prepend to the first split alone: that is the
// split at the start of the text, which pieces handled one by one cannot
// tell.
func ownNormalizer(cfg *pipelineConfig) (h hfNormalizer, ok bool) {
	if first, _ := cfg.PreTokenizer.metaspaceFirst(); first {
		return nil, false
	}
	byteLevel := cfg.PreTokenizer != nil && cfg.PreTokenizer.Type == "ByteLevel"
	if !sugarmeMisreads(cfg.Normalizer) && newMetaspace(cfg.PreTokenizer) == nil && !byteLevel {
		return nil, false
	}
	h, err := compileNormalizer(cfg.Normalizer)
	return h, err == nil
}

// sugarmeMisreads reports whether n holds a normalizer sugarme gets wrong.
func sugarmeMisreads(n *normalizerConfig) bool {
	if n == nil {
		return false
	}
	switch n.Type {
	case "Precompiled", "NFC", "NFKC", "NFKD":
		return true
	case "Replace":
		return n.Pattern != nil && n.Pattern.Regex != nil
	case "Sequence":
		for i := range n.Normalizers {
			if sugarmeMisreads(&n.Normalizers[i]) {
				return true
			}
		}
	}
	return false
}

// compileNormalizer builds n's steps; an error names what it cannot run.
func compileNormalizer(n *normalizerConfig) (hfNormalizer, error) {
	if n == nil {
		return hfNormalizer{}, nil
	}
	var step func(string) string
	switch n.Type {
	case "Sequence":
		var h hfNormalizer
		for i := range n.Normalizers {
			sub, err := compileNormalizer(&n.Normalizers[i])
			if err != nil {
				return nil, err
			}
			h = append(h, sub...)
		}
		return h, nil
	case "Precompiled":
		if n.PrecompiledCharsmap == nil {
			return nil, errors.New("normalizer Precompiled without a precompiled_charsmap")
		}
		p, err := newPrecompiled(*n.PrecompiledCharsmap)
		if err != nil {
			return nil, err
		}
		step = p.normalize
	case "Replace":
		r, err := compileReplace(n)
		if err != nil {
			return nil, err
		}
		step = r
	case "NFC":
		step = norm.NFC.String
	case "NFD":
		step = norm.NFD.String
	case "NFKC":
		step = norm.NFKC.String
	case "NFKD":
		step = norm.NFKD.String
	case "Lowercase":
		step = hfLowercase
	case "StripAccents":
		step = func(s string) string { return dropMarks(s, unicode.M) }
	case "Strip":
		left, right := n.StripLeft != nil && *n.StripLeft, n.StripRight != nil && *n.StripRight
		step = func(s string) string {
			if left {
				s = strings.TrimLeftFunc(s, unicode.IsSpace)
			}
			if right {
				s = strings.TrimRightFunc(s, unicode.IsSpace)
			}
			return s
		}
	case "Prepend":
		if n.Prepend == nil {
			return nil, errors.New("normalizer Prepend without a prepend")
		}
		prefix := *n.Prepend
		step = func(s string) string {
			if s == "" {
				return s
			}
			return prefix + s
		}
	default:
		return nil, fmt.Errorf("normalizer %q", n.Type)
	}
	return hfNormalizer{step}, nil
}

// hfLowercase is Rust's char::to_lowercase on each character: Go's
// unicode.ToLower but for İ, whose lowercase is two characters ("i̇").
func hfLowercase(s string) string {
	return strings.ToLower(strings.ReplaceAll(s, "\u0130", "i\u0307"))
}

// dropMarks removes the characters of marks from s.
func dropMarks(s string, marks *unicode.RangeTable) string {
	if isASCII(s) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if unicode.Is(marks, r) {
			return -1
		}
		return r
	}, s)
}

// compileReplace builds a Replace step. A String pattern is replaced where
// it occurs; a Regex one where Go's regexp matches it, which is where
// Oniguruma (Hugging Face's, Ruby syntax) does for the patterns let
// through (sameInGo).
func compileReplace(n *normalizerConfig) (func(string) string, error) {
	if n.Pattern == nil || n.Content == nil {
		return nil, errors.New("normalizer Replace without a pattern or content")
	}
	content := *n.Content
	switch p := n.Pattern; {
	case p.String != nil && *p.String != "":
		old := *p.String
		return func(s string) string { return strings.ReplaceAll(s, old, content) }, nil
	case p.Regex != nil:
		re, err := regexp.Compile(*p.Regex)
		if err != nil {
			return nil, fmt.Errorf("normalizer Replace pattern %q: %w", *p.Regex, err)
		}
		if err := sameInGo(*p.Regex); err != nil {
			return nil, fmt.Errorf("normalizer Replace pattern %q: %w", *p.Regex, err)
		}
		return func(s string) string { return re.ReplaceAllLiteralString(s, content) }, nil
	}
	return nil, errors.New("normalizer Replace with an empty pattern")
}

// sameInGo refuses a pattern Go's regexp may match elsewhere than
// Oniguruma: \s, \d, \w, \b and POSIX classes are Unicode-wide there and
// ASCII in Go; ^ and $ match at each line there, at the text's ends in Go;
// inline flags differ ("(?m)" is dot-matches-newline there, and "(?i)"
// folds "ß" to "ss"); and where a pattern can match the empty string the
// two place such matches differently.
func sameInGo(pattern string) error {
	switch {
	case perlClasses.MatchString(pattern):
		return errors.New("\\s, \\d, \\w and \\b are ASCII in Go")
	case strings.Contains(pattern, "[:"):
		return errors.New("POSIX classes are ASCII in Go")
	case strings.Contains(strings.ReplaceAll(pattern, "(?:", ""), "(?"):
		return errors.New("inline flags mean other things in Oniguruma")
	}
	parsed, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return err
	}
	if anchored(parsed) {
		return errors.New("^ and $ match at each line in Oniguruma")
	}
	if minLen(parsed.Simplify()) == 0 {
		return errors.New("may match the empty string")
	}
	return nil
}

// perlClasses finds \s, \d, \w, \b (or their negations) in a pattern: an
// odd number of backslashes before one of those letters.
var perlClasses = regexp.MustCompile(`(^|[^\\])(\\\\)*\\[sSdDwWbB]`)

// anchored reports whether re holds a line or text anchor.
func anchored(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText:
		return true
	}
	for _, sub := range re.Sub {
		if anchored(sub) {
			return true
		}
	}
	return false
}

// minLen is the fewest bytes re matches (0: it may match the empty
// string).
func minLen(re *syntax.Regexp) int {
	switch re.Op {
	case syntax.OpLiteral:
		return len(string(re.Rune))
	case syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return 1
	case syntax.OpCapture, syntax.OpPlus:
		return minLen(re.Sub[0])
	case syntax.OpRepeat:
		return re.Min * minLen(re.Sub[0])
	case syntax.OpConcat:
		n := 0
		for _, sub := range re.Sub {
			n += minLen(sub)
		}
		return n
	case syntax.OpAlternate:
		n := -1
		for _, sub := range re.Sub {
			if m := minLen(sub); n < 0 || m < n {
				n = m
			}
		}
		return max(n, 0)
	}
	return 0 // empty match, anchors, star, quest, no match
}
