package tokenize

import (
	"strings"
	"unicode/utf8"

	"github.com/sugarme/tokenizer"
)

// metaspace is Hugging Face's Metaspace pre-tokenizer, run here on the
// pieces of a file whose normalizer retune runs (own.go) when it is the
// file's whole pre-tokenizer: each space becomes the replacement ("▁"), one
// is prepended unless the piece starts with it (prepend_scheme "always"),
// and the piece is split before each replacement; the model then encodes
// each split. sugarme's rewrites the text's alignments once per space (a
// 48-word piece cost it milliseconds, most of an XLM-R-shaped file's
// time), and replaces tabs and line breaks too, which Hugging Face keeps.
type metaspace struct {
	rep            string
	prepend, split bool
}

// newMetaspace reads p as Hugging Face does, or returns nil where it is
// not a lone Metaspace this runs: "first" (see ownNormalizer), or a
// replacement that is not one character. tokenizers 0.23.2 refuses
// add_prefix_space false beside a scheme other than "never" (absent is
// "always"); older versions wrote such files, meaning "never", and so are
// they read here.
func newMetaspace(p *preTokenizerConfig) *metaspace {
	if p == nil || p.Type != "Metaspace" || utf8.RuneCountInString(p.Replacement) != 1 {
		return nil
	}
	m := &metaspace{rep: p.Replacement, split: p.Split == nil || *p.Split}
	switch p.PrependScheme {
	case "always", "":
		// Older files: add_prefix_space, absent meaning true.
		m.prepend = p.AddPrefixSpace == nil || *p.AddPrefixSpace
	case "never":
	default:
		return nil
	}
	return m
}

// encode appends the model's tokens for normalised text s, stopping past
// limit (if >= 0).
func (m *metaspace) encode(model tokenizer.Model, ids []int, toks []string, s string, limit int, wantToks bool) ([]int, []string, error) {
	s = strings.ReplaceAll(s, " ", m.rep)
	if m.prepend && !strings.HasPrefix(s, m.rep) {
		s = m.rep + s
	}
	uni, _ := model.(*unigram)
	word := func(w string) error {
		if uni != nil {
			ch, err := uni.word(w)
			ids = append(ids, ch.ids...)
			if wantToks {
				toks = append(toks, ch.tokens...)
			}
			return err
		}
		got, err := model.Tokenize(w)
		if err != nil {
			return err
		}
		for _, tok := range got {
			ids = append(ids, tok.Id)
			if wantToks {
				toks = append(toks, tok.Value)
			}
		}
		return nil
	}
	if !m.split {
		err := word(s)
		return ids, toks, err
	}
	start := 0
	for i := 0; i < len(s); {
		k := strings.Index(s[i:], m.rep)
		if k < 0 {
			break
		}
		if at := i + k; at > start {
			if err := word(s[start:at]); err != nil {
				return nil, nil, err
			}
			if start = at; limit >= 0 && len(ids) > limit {
				return ids, toks, nil
			}
		}
		i += k + len(m.rep)
	}
	if err := word(s[start:]); err != nil {
		return nil, nil, err
	}
	return ids, toks, nil
}
