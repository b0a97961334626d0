package tokenize

import (
	"iter"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// sugarme's Metaspace pre-tokenizer replaces each whitespace character by
// "▁" with NormalizedString.Replace, which rewrites the whole string's
// alignments per match: a text of n words costs n², 4,000 words 15 s,
// before truncation keeps 512 tokens of it. Where the pipeline allows it,
// a long text is encoded in pieces cut before a space instead, and no
// further than truncation keeps.
const (
	// spaceCutWords is about the words of one piece: 48 cost sugarme
	// ~10 ms with the BERT vocabulary.
	spaceCutWords = 48
	// spaceCutMin: shorter texts go whole.
	spaceCutMin = 1024
)

// spaceCuttable reports whether a text cut before a space that follows a
// non-space character, and its pieces encoded one by one, gives the ids of
// the text encoded whole, for a pipeline that the chunk cache does not
// cover because of a Metaspace pre-tokenizer: the piece after the cut
// starts with the space, which Metaspace makes "▁" as it would inside the
// text (so prepends nothing), and the pre-tokenizers beside it split at
// whitespace or within words. The normalizers must not look across such a
// place (character-wise ones, and a Replace of runs of spaces, which stay
// whole in the piece after the cut), and no added token may hold
// whitespace. Where retune runs the normalizer (XLM-R's Precompiled
// included) and finds the added tokens, the pieces it hands sugarme are
// cut, and only the pre-tokenizer counts.
func spaceCuttable(cfg *pipelineConfig) bool {
	meta := metaspaceOf(cfg.PreTokenizer)
	if cfg.own {
		// Normalised and rid of added tokens before it is cut; a lone
		// Metaspace is retune's, linear, and needs no cut.
		return meta != nil && newMetaspace(cfg.PreTokenizer) == nil
	}
	return meta != nil && cutSafeNormalizer(cfg.Normalizer, meta.replacement()) && !cfg.addedHoldsSpace()
}

// metaspaceOf returns the Metaspace of a pipeline whose pre-tokenizers
// allow space cuts, else nil. Behind a pre-tokenizer that drops whitespace,
// a Metaspace prepending to the first split only would prepend to each
// piece's first word.
func metaspaceOf(p *preTokenizerConfig) *preTokenizerConfig {
	if p == nil {
		return nil
	}
	switch p.Type {
	case "Metaspace":
		return p
	case "Sequence":
		var meta *preTokenizerConfig
		for i := range p.PreTokenizers {
			switch q := &p.PreTokenizers[i]; q.Type {
			case "Metaspace":
				if i > 0 && q.PrependScheme == "first" {
					return nil
				}
				meta = q
			case "WhitespaceSplit", "Whitespace", "BertPreTokenizer", "Punctuation", "Digits":
			default:
				return nil
			}
		}
		return meta
	}
	return nil
}

// replacement is a Metaspace's replacement character ("▁" by default).
func (p *preTokenizerConfig) replacement() string {
	if p.Replacement == "" {
		return "▁"
	}
	return p.Replacement
}

// spaceRuns matches a Replace pattern that only ever matches spaces.
var spaceRuns = regexp.MustCompile(`^ +(\{[0-9]+,?[0-9]*\}|\+)?$`)

// cutSafeNormalizer: a Replace must match spaces only, and put something
// in their place that still leads the piece after a cut the way the space
// did (whitespace, or Metaspace's replacement): replaced by "" or "x", the
// piece would get a prepended replacement the whole text never has.
func cutSafeNormalizer(n *normalizerConfig, replacement string) bool {
	if n == nil {
		return true
	}
	switch n.Type {
	case "BertNormalizer", "Lowercase", "StripAccents", "NFC", "NFD", "NFKC", "NFKD":
		return true
	case "Replace":
		p, c := n.Pattern, n.Content
		spaces := p != nil && (p.String != nil && *p.String != "" && strings.Trim(*p.String, " ") == "" ||
			p.Regex != nil && spaceRuns.MatchString(*p.Regex))
		return spaces && c != nil && (strings.HasPrefix(*c, " ") || strings.HasPrefix(*c, replacement))
	case "Sequence":
		for i := range n.Normalizers {
			if !cutSafeNormalizer(&n.Normalizers[i], replacement) {
				return false
			}
		}
		return true
	}
	return false
}

// spaceCut yields s in pieces of about spaceCutWords words, cut before a
// space, tab or line break (see spaceCuttable; all are whitespace to
// sugarme's Metaspace, and ASCII whitespace to the normalizers) where the word before holds no byte that may
// start an added token (one ending there could take the space: rstrip),
// and ends in no character that clusters with what follows (Prepend: a
// normalizer working on clusters would see it with the space). A caller
// that stops stops it.
func (t *Tokenizer) spaceCut(s string) iter.Seq[string] {
	return func(yield func(string) bool) {
		if !t.spaceCuts || len(s) < spaceCutMin {
			yield(s)
			return
		}
		start, words, word := 0, 0, 0 // word: where the word before j starts
		for j := 1; j < len(s); j++ {
			if s[j] != ' ' && s[j] != '\n' && s[j] != '\t' && s[j] != '\r' {
				continue
			}
			prev, _ := utf8.DecodeLastRuneInString(s[:j])
			if unicode.IsSpace(prev) {
				word = j + 1
				continue
			}
			words++
			if words >= spaceCutWords && !prepend(prev) && !t.literals.mayStart(s[word:j]) {
				if !yield(s[start:j]) {
					return
				}
				start, words = j, 0
			}
			word = j + 1
		}
		yield(s[start:])
	}
}

// prepend is Unicode 15's Grapheme_Cluster_Break=Prepend: such a character
// forms one cluster with the character after it, a space included.
func prepend(r rune) bool {
	switch {
	case r < 0x600:
		return false
	case 0x600 <= r && r <= 0x605, r == 0x6dd, r == 0x70f, r == 0x890, r == 0x891, r == 0x8e2, r == 0xd4e,
		r == 0x110bd, r == 0x110cd, r == 0x111c2, r == 0x111c3, r == 0x1193f, r == 0x11941, r == 0x11a3a,
		0x11a84 <= r && r <= 0x11a89, r == 0x11d46:
		return true
	}
	return false
}
