package tokenize

import (
	"fmt"
	"unicode"
	"unicode/utf8"

	"github.com/sugarme/tokenizer/normalizer"
)

// preTok is one pre-tokenizer the native encoder performs. Like the
// normalisation steps they mirror sugarme v0.3.0, whose regular expressions
// are Go's: \s is ASCII [\t\n\f\r ] and \w is ASCII [0-9A-Za-z_], except
// the Whitespace pre-tokenizer's word characters, which follow Hugging
// Face's Unicode-aware regex (see wsClass).
type preTok uint8

const (
	// preTokBert splits on \s, removing it, and isolates every BERT
	// punctuation character (ASCII 33-47, 58-64, 91-96, 123-126, or
	// Unicode P*) as a token of its own.
	preTokBert preTok = iota
	// preTokWhitespace is the regex \w+|[^\w\s]+: runs of word characters
	// and runs of other non-space characters, spaces removed; Unicode, as
	// in Hugging Face.
	preTokWhitespace
	// preTokWhitespaceSplit splits on space, \t, \n and \r (sugarme's
	// IsWhitespace, without \f), removing them.
	preTokWhitespaceSplit
)

func preToks(p *preTokenizerConfig) ([]preTok, error) {
	switch p.Type {
	case "BertPreTokenizer":
		return []preTok{preTokBert}, nil
	case "Whitespace":
		return []preTok{preTokWhitespace}, nil
	case "WhitespaceSplit":
		return []preTok{preTokWhitespaceSplit}, nil
	case "Sequence":
		var out []preTok
		for i := range p.PreTokenizers {
			s, err := preToks(&p.PreTokenizers[i])
			if err != nil {
				return nil, err
			}
			out = append(out, s...)
		}
		return out, nil
	}
	return nil, fmt.Errorf("pre-tokenizer %q", p.Type)
}

// ASCII character classes, from the same predicates sugarme uses, so that
// the tables cannot drift from them.
const (
	classGoSpace  = 1 << iota // regexp \s
	classBertPunc             // normalizer.IsBertPunctuation
	classWord                 // regexp \w
	classWSSplit              // normalizer.IsWhitespace
)

var asciiClass = func() (c [utf8.RuneSelf]uint8) {
	for b := range rune(utf8.RuneSelf) {
		switch b {
		case '\t', '\n', '\f', '\r', ' ':
			c[b] |= classGoSpace
		}
		if normalizer.IsBertPunctuation(b) {
			c[b] |= classBertPunc
		}
		if b == '_' || '0' <= b && b <= '9' || 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' {
			c[b] |= classWord
		}
		if normalizer.IsWhitespace(b) {
			c[b] |= classWSSplit
		}
	}
	return c
}()

// class returns the classes of the rune at the start of s and its size.
// Outside ASCII only BERT punctuation can apply: Go's \s and \w are ASCII,
// and so is sugarme's IsWhitespace.
func class(s []byte) (uint8, int) {
	if s[0] < utf8.RuneSelf {
		return asciiClass[s[0]], 1
	}
	r, size := utf8.DecodeRune(s)
	if normalizer.IsBertPunctuation(r) {
		return classBertPunc, size
	}
	return 0, size
}

// wsClass is the class of the rune at the start of s for the Whitespace
// pre-tokenizer, whose regex \w+|[^\w\s]+ is Unicode-aware in Hugging
// Face (Rust) and ASCII in sugarme (Go): this follows Hugging Face, so
// "naïve" or "вa" is one word and not three pieces.
func wsClass(s []byte) (uint8, int) {
	if s[0] < utf8.RuneSelf {
		return asciiClass[s[0]] & (classGoSpace | classWord), 1
	}
	r, size := utf8.DecodeRune(s)
	switch {
	case unicode.IsSpace(r):
		return classGoSpace, size
	case isWord(r):
		return classWord, size
	}
	return 0, size
}

// split runs pre-tokenizer level on s and hands each non-empty piece to the
// next level, the last level handing it to the model. Recursion through a
// method, not callbacks, keeps the hot path free of closure allocations.
func (r *nativeRun) split(level int, s []byte) {
	if level == len(r.n.preToks) {
		if len(s) > 0 {
			r.model(s)
		}
		return
	}
	next := level + 1
	start := 0
	switch r.n.preToks[level] {
	case preTokBert:
		for i := 0; i < len(s); {
			c, size := class(s[i:])
			switch {
			case c&classGoSpace != 0:
				r.split(next, s[start:i])
				start = i + size
			case c&classBertPunc != 0:
				r.split(next, s[start:i])
				r.split(next, s[i:i+size])
				start = i + size
			}
			i += size
		}
	case preTokWhitespace:
		// Runs of one class: word, space, or other.
		run := uint8(classGoSpace)
		for i := 0; i < len(s); {
			c, size := wsClass(s[i:])
			if c != run {
				if run != classGoSpace {
					r.split(next, s[start:i])
				}
				start, run = i, c
			}
			i += size
		}
		if run == classGoSpace {
			start = len(s)
		}
	case preTokWhitespaceSplit:
		for i := 0; i < len(s); i++ {
			// Separators are ASCII, and no byte of a multi-byte rune is.
			if s[i] < utf8.RuneSelf && asciiClass[s[i]]&classWSSplit != 0 {
				r.split(next, s[start:i])
				start = i + 1
			}
		}
	}
	r.split(next, s[start:])
}
