package tokenize

import (
	"unicode"
	"unicode/utf8"
)

// The native encoder finds added tokens ("[SEP]", "[MASK]", a file's own
// additions) as Hugging Face's AddedVocabulary does, which the exported
// tokenizer.json runs under: tokens that are not `normalized` are matched
// in the raw chunk, then each stretch between them is accent-folded and
// normalised and the `normalized` ones are matched in it by their
// normalised content; what is left is pre-tokenised and encoded. Matching
// is leftmost-longest over all added tokens at once. sugarme instead
// matches one kind of token per call ("[MASK][SEP]" gave "[", "mask", "]",
// "[SEP]"), matches `normalized` tokens by their raw content (an added
// "café" never matched under accent folding) and garbled or panicked on a
// literal beside a character normalisation deletes ("[SEP]\u200bab").

// addedSpan is s[start:end], an added token if tok is not nil.
type addedSpan struct {
	start, end int
	tok        *literal
}

// find appends the splits of s to spans as AddedVocabulary.find_matches
// makes them: non-overlapping leftmost-longest matches, a single_word one
// dropped (its text then left to the stretch) when a word character
// touches it, lstrip and rstrip ones widened over the whitespace beside
// them (not over an earlier match's), and the stretches between. The
// search goes on where a match ends, not past what rstrip took: a
// normalised pattern may start with whitespace (" 中 zzq" under
// handle_chinese_chars), and the next match may start there.
func (ls *literalSet) find(spans []addedSpan, s string) []addedSpan {
	off := 0
	for i := 0; i < len(s); {
		var t *literal
		if ls.first[s[i]] {
			t = ls.longestRef(s, i)
		}
		if t == nil {
			i++
			continue
		}
		start, stop := i, i+len(t.s)
		i = stop
		if t.singleWord && (endsWithWord(s[:start]) || startsWithWord(s[stop:])) {
			continue
		}
		if t.lstrip {
			start = max(off, start-trailingSpaceLen(s[:start]))
		}
		if t.rstrip {
			stop += leadingSpaceLen(s[stop:])
		}
		if off < start {
			spans = append(spans, addedSpan{start: off, end: start})
		}
		spans = append(spans, addedSpan{start: start, end: stop, tok: t})
		off = max(off, stop)
	}
	if off < len(s) {
		spans = append(spans, addedSpan{start: off, end: len(s)})
	}
	return spans
}

func endsWithWord(s string) bool {
	r, n := utf8.DecodeLastRuneInString(s)
	return n > 0 && isWord(r)
}

func startsWithWord(s string) bool {
	r, n := utf8.DecodeRuneInString(s)
	return n > 0 && isWord(r)
}

// trailingSpaceLen is the length of the whitespace (Unicode, as Rust's
// \s) that ends s, leadingSpaceLen of the whitespace that starts it.
func trailingSpaceLen(s string) int {
	n := 0
	for n < len(s) {
		r, size := utf8.DecodeLastRuneInString(s[:len(s)-n])
		if !unicode.IsSpace(r) {
			break
		}
		n += size
	}
	return n
}

func leadingSpaceLen(s string) int {
	n := 0
	for n < len(s) {
		r, size := utf8.DecodeRuneInString(s[n:])
		if !unicode.IsSpace(r) {
			break
		}
		n += size
	}
	return n
}

// setAdded reads the added tokens (see addedSets), with Hugging Face's
// ids: a `normalized` token's pattern is its content folded (if fold) and
// normalised as a chunk is.
func (n *native) setAdded(added []addedTokenConfig, ids map[string]int, fold *unicode.RangeTable) {
	r := &nativeRun{n: n}
	n.rawAdded, n.normAdded = addedSets(added, ids, fold, func(c string) string {
		return string(n.normalize(r, c, isASCII(c)))
	})
}

// withAdded encodes chunk c (raw, not folded), which holds a raw added
// token's first byte, split at the added tokens.
func (r *nativeRun) withAdded(c string, fold *unicode.RangeTable) {
	r.rawSpans = r.n.rawAdded.find(r.rawSpans[:0], c)
	for _, sp := range r.rawSpans {
		if sp.tok != nil {
			r.emitToken(sp.tok.id, sp.tok.content)
		} else {
			r.stretch(c[sp.start:sp.end], fold)
		}
	}
}

// stretch encodes raw text holding no raw added token: folded (if fold)
// and normalised, split at the normalized added tokens, pre-tokenised and
// encoded.
func (r *nativeRun) stretch(t string, fold *unicode.RangeTable) {
	ascii := isASCII(t)
	if fold != nil && !ascii {
		t = foldAccents(t, fold)
		ascii = isASCII(t)
	}
	r.encodeNormalized(r.n.normalize(r, t, ascii))
}

// encodeNormalized splits normalised text at the normalized added tokens
// and encodes the rest.
func (r *nativeRun) encodeNormalized(s []byte) {
	if !r.n.normAdded.mayHold(s) {
		r.split(0, s)
		return
	}
	r.normSpans = r.n.normAdded.find(r.normSpans[:0], string(s))
	for _, sp := range r.normSpans {
		if sp.tok != nil {
			r.emitToken(sp.tok.id, sp.tok.content)
		} else {
			r.split(0, s[sp.start:sp.end])
		}
	}
}

// scan reports whether s is ASCII and whether some byte of it starts a
// literal: one pass that serves both the normalisation fast path and the
// added-token check.
func (ls *literalSet) scan(s string) (ascii, mayHold bool) {
	var or byte
	for i := 0; i < len(s); i++ {
		or |= s[i]
		mayHold = mayHold || ls.first[s[i]]
	}
	return or < utf8.RuneSelf, mayHold
}

// mayHold reports whether some byte of s starts a literal.
func (ls *literalSet) mayHold(s []byte) bool {
	if ls.empty() {
		return false
	}
	for _, b := range s {
		if ls.first[b] {
			return true
		}
	}
	return false
}
