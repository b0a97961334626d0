package tokenize

import "unicode/utf8"

// model maps one pre-token to ids: WordPiece or WordLevel.
func (r *nativeRun) model(p []byte) {
	if r.n.wordPiece {
		r.wordPiece(p)
		return
	}
	// WordLevel: unknown words keep their own text as token, like sugarme.
	id, ok := r.n.vocab.get(p)
	if !ok {
		id = r.n.unkID
	}
	r.emit(id, p)
}

// wordPiece is greedy longest-match-first: the longest prefix of the word
// in the vocabulary, then the longest "##"-prefixed continuation, and so on;
// if some position has no match, or the word is longer than
// max_input_chars_per_word runes, the whole word is one unk token.
func (r *nativeRun) wordPiece(p []byte) {
	n := r.n
	if len(p) > n.maxChars && utf8.RuneCount(p) > n.maxChars {
		r.emitUnk()
		return
	}
	mark := len(r.ids)
	key := append(r.key[:0], wordPiecePrefix...)
	for start := 0; start < len(p); {
		// No key is longer than maxKeyLen bytes, so longer candidates are
		// skipped: back off to the last rune boundary within reach.
		end := len(p)
		if end-start > n.maxKeyLen {
			end = start + n.maxKeyLen
			for end > start && !utf8.RuneStart(p[end]) {
				end--
			}
		}
		found := false
		for end > start {
			var id int32
			var ok bool
			if start == 0 {
				id, ok = n.vocab.get(p[:end])
			} else {
				key = append(key[:len(wordPiecePrefix)], p[start:end]...)
				id, ok = n.vocab.get(key)
			}
			if ok {
				if start == 0 {
					r.emit(id, p[:end])
				} else {
					r.emit(id, key)
				}
				found = true
				break
			}
			_, size := utf8.DecodeLastRune(p[start:end])
			end -= size
		}
		if !found {
			r.ids = r.ids[:mark]
			if r.toks != nil {
				r.toks = r.toks[:mark] // same length as ids, see nativeRun
			}
			r.key = key
			r.emitUnk()
			return
		}
		start = end
	}
	r.key = key
}

func (r *nativeRun) emit(id int32, tok []byte) {
	r.ids = append(r.ids, int(id))
	if r.toks != nil {
		r.toks = append(r.toks, string(tok))
	}
}

// emitToken is emit for a token held as a string (an added token's).
func (r *nativeRun) emitToken(id int32, tok string) {
	r.ids = append(r.ids, int(id))
	if r.toks != nil {
		r.toks = append(r.toks, tok)
	}
}

func (r *nativeRun) emitUnk() { r.emitToken(r.n.unkID, r.n.unkToken) }
