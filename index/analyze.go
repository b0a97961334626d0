package index

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// EnglishStopWords is Lucene's English stop set (EnglishAnalyzer /
// StandardAnalyzer's ENGLISH_STOP_WORDS_SET, which Anserini also uses), the
// default for BM25. On SciFact test it is worth only +0.002 nDCG@10 over no
// stop list (0.6635 against 0.6618); its real benefit is speed: "the", "of",
// "and" have postings covering nearly every document, so a query containing
// them would accumulate scores for the whole corpus (SciFact queries run
// about 1.5× faster with the list, and the index is 13% smaller).
var EnglishStopWords = []string{
	"a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in",
	"into", "is", "it", "no", "not", "of", "on", "or", "such", "that", "the",
	"their", "then", "there", "these", "they", "this", "to", "was", "will",
	"with",
}

// Terms are produced by a deliberately simple analyser that needs no model
// files, so a collection can be searched lexically before (or without) any
// encoder:
//
//  1. Unicode NFD, then drop nonspacing marks (Mn): "Café" → "cafe", so
//     accented and unaccented spellings match.
//  2. Lowercase.
//  3. A term is a maximal run of letters, digits and (non-Mn) marks; every
//     other rune separates terms ("IL-6's" → "il", "6", "s"). Han, Hiragana
//     and Katakana runes are single-rune terms, as Lucene's StandardTokenizer
//     makes them, because those scripts do not separate words with spaces
//     and a whole sentence would otherwise be one useless term.
//  4. Terms in the stop list are dropped and do not count towards the
//     document length (as in Lucene). BM25 does this step, with the same map
//     lookup that finds a term's id, because a second map lookup per token
//     was a third of the build time.
//
// There is no stemming: the shared data README's reference for plain BM25
// without stemming is SciFact nDCG@10 ≈ 0.660, which this analyser matches
// (0.6635). The word-piece tokens of retune/tokenize are not used: sub-word
// pieces ("##ase") make poor BM25 terms, and they need a tokenizer.json.

// tokenize calls emit with each term of text (steps 1-3 above), in order.
// term aliases buf's storage and is only valid during the call; the grown buf
// is returned for reuse.
func tokenize(text string, buf []byte, emit func(term []byte)) []byte {
	b := buf[:0]
	// NFD only when the text is not already in NFD: most non-ASCII text
	// (Greek letters, dashes, ±) already is, and NFD.String allocates a copy.
	s := text
	if !norm.NFD.IsNormalString(text) {
		s = norm.NFD.String(text)
	}
	for i := 0; i < len(s); {
		// Byte tests for ASCII, the bulk of English text, instead of the
		// unicode tables.
		if c := s[i]; c < utf8.RuneSelf {
			switch {
			case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
				b = append(b, c)
			case 'A' <= c && c <= 'Z':
				b = append(b, c+('a'-'A'))
			case len(b) > 0:
				emit(b)
				b = b[:0]
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case unicode.Is(unicode.Mn, r):
			// Accents: dropped without splitting the term.
		case unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana):
			if len(b) > 0 {
				emit(b)
			}
			b = utf8.AppendRune(b[:0], unicode.ToLower(r))
			emit(b)
			b = b[:0]
		case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r):
			b = utf8.AppendRune(b, unicode.ToLower(r))
		case len(b) > 0:
			emit(b)
			b = b[:0]
		}
	}
	if len(b) > 0 {
		emit(b)
	}
	return b
}

// tokens returns the terms of text as strings (before stop-word removal).
func tokens(text string) []string {
	var out []string
	tokenize(text, nil, func(t []byte) { out = append(out, string(t)) })
	return out
}
