package tokenize

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"unicode/utf8"

	"github.com/sugarme/tokenizer"
)

// unigram is Hugging Face's Unigram model (sentencepiece's Viterbi, as
// Unigram::encode_optimized runs it) behind sugarme's Model interface.
// sugarme's adds 0.1 per byte to each piece's score (the bonus is the
// same for every way to cut a word, so it only adds rounding noise, which
// broke ties between two orders of the same pieces its own way: "www" as
// "ww w", where Hugging Face keeps the first path found, "w ww"), never
// takes a piece over 20 bytes, garbles byte_fallback, and caches every
// word behind a timer. scripts/own_check.sh compares the two.
type unigram struct {
	pieces []string
	scores []float64
	ids    map[string]int
	// sorted holds the pieces in order, sortedIDs their ids.
	sorted       sortedPrefixes
	sortedIDs    []int
	maxLen       int
	unkID        int // -1: none
	unkScore     float64
	byteFallback bool
	// words memoises the encodings of the words seen, as Hugging Face's
	// cache does (see word).
	words chunkCache
}

// unigramConfig is a Unigram model section: vocab is [piece, score] pairs
// in id order.
type unigramConfig struct {
	UnkID        *int     `json:"unk_id"`
	Vocab        [][2]any `json:"vocab"`
	ByteFallback bool     `json:"byte_fallback"`
}

func newUnigram(raw json.RawMessage) (*unigram, error) {
	var c unigramConfig
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // scores are read as Hugging Face reads them (serdeFloat)
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("unigram model: %w", err)
	}
	if len(c.Vocab) == 0 {
		return nil, errors.New("unigram model without a vocab")
	}
	u := &unigram{pieces: make([]string, len(c.Vocab)), scores: make([]float64, len(c.Vocab)),
		ids: make(map[string]int, len(c.Vocab)), unkID: -1, byteFallback: c.ByteFallback}
	minScore := math.Inf(1)
	for i, e := range c.Vocab {
		p, ok1 := e[0].(string)
		num, ok2 := e[1].(json.Number)
		score, err := serdeFloat(string(num))
		if !ok1 || !ok2 || err != nil {
			return nil, fmt.Errorf("unigram model vocab entry %d: want [piece, score], have %v", i, e)
		}
		u.pieces[i], u.scores[i], u.ids[p] = p, score, i
		minScore = min(minScore, score)
		u.maxLen = max(u.maxLen, len(p))
	}
	if c.UnkID != nil {
		if *c.UnkID < 0 || *c.UnkID >= len(u.pieces) {
			return nil, fmt.Errorf("unigram model unk_id %d outside its %d pieces", *c.UnkID, len(u.pieces))
		}
		u.unkID = *c.UnkID
	}
	// Hugging Face's K_UNK_PENALTY.
	u.unkScore = minScore - 10
	sorted := slices.Clone(u.pieces)
	slices.Sort(sorted)
	u.sorted = slices.Compact(sorted)
	u.sortedIDs = make([]int, len(u.sorted))
	for k, p := range u.sorted {
		u.sortedIDs[k] = u.ids[p]
	}
	return u, nil
}

// encode cuts s into pieces: the best-scoring path, the first found on a
// tie, with a character no piece starts as an unknown one, and runs of
// unknown ones fused.
func (u *unigram) encode(s string) ([]string, error) {
	type node struct {
		id    int
		score float64
		start int
		set   bool
	}
	best := make([]node, len(s)+1)
	for i := 0; i < len(s); {
		_, size := utf8.DecodeRuneInString(s[i:])
		till, single := best[i].score, false
		u.sorted.each(s[i:min(len(s), i+u.maxLen)], func(k int) bool {
			j, id := i+len(u.sorted[k]), u.sortedIDs[k]
			if score := u.scores[id] + till; !best[j].set || score > best[j].score {
				best[j] = node{id: id, score: score, start: i, set: true}
			}
			single = single || j-i == size
			return true
		})
		if !single {
			if score := u.unkScore + till; !best[i+size].set || score > best[i+size].score {
				// As Hugging Face, an error only where the unknown path
				// is the best so far: a longer piece may cover it.
				if u.unkID < 0 {
					return nil, errors.New("unigram model: a character no piece holds, and no unk_id")
				}
				best[i+size] = node{id: u.unkID, score: score, start: i, set: true}
			}
		}
		i += size
	}
	var out []string
	unkEnd := -1 // the end of a run of unknown pieces being fused
	for end := len(s); end > 0; end = best[end].start {
		if best[end].id == u.unkID {
			if unkEnd < 0 {
				unkEnd = end
			}
			continue
		}
		if unkEnd >= 0 {
			out, unkEnd = append(out, s[end:unkEnd]), -1
		}
		out = append(out, s[best[end].start:end])
	}
	if unkEnd >= 0 {
		out = append(out, s[:unkEnd])
	}
	slices.Reverse(out)
	return out, nil
}

// Tokenize implements tokenizer.Model as Hugging Face's Unigram::tokenize:
// a piece outside the vocabulary (a fused unknown run) is its bytes'
// <0xXX> pieces under byte_fallback where all exist, else unknown.
func (u *unigram) Tokenize(s string) ([]tokenizer.Token, error) {
	if s == "" {
		return nil, nil
	}
	pieces, err := u.encode(s)
	if err != nil {
		return nil, err
	}
	toks := make([]tokenizer.Token, 0, len(pieces))
	off := 0
	for _, p := range pieces {
		offsets := []int{off, off + len(p)}
		off += len(p)
		if id, ok := u.ids[p]; ok {
			toks = append(toks, tokenizer.Token{Id: id, Value: p, Offsets: offsets})
			continue
		}
		if bytes, ok := u.fallback(p, offsets); ok {
			toks = append(toks, bytes...)
			continue
		}
		toks = append(toks, tokenizer.Token{Id: u.unkID, Value: p, Offsets: offsets})
	}
	return toks, nil
}

// word is Tokenize's ids and token values for w, memoised for words up to
// maxCachedChunk bytes: a corpus's words repeat (Zipf), and the lattice
// search costs ~0.1 ms a word with XLM-R-sized vocabularies. The slices are
// shared: callers only read them.
func (u *unigram) word(w string) (chunk, error) {
	if ch, ok := u.words.get(w); ok {
		return ch, nil
	}
	toks, err := u.Tokenize(w)
	if err != nil {
		return chunk{}, err
	}
	ch := chunk{ids: make([]int, len(toks)), tokens: make([]string, len(toks))}
	for i, tok := range toks {
		ch.ids[i], ch.tokens[i] = tok.Id, tok.Value
	}
	if len(w) <= maxCachedChunk {
		u.words.put(w, ch)
	}
	return ch, nil
}

// fallback is p as its bytes' pieces, if byte_fallback is on and the
// vocabulary holds all of them.
func (u *unigram) fallback(p string, offsets []int) ([]tokenizer.Token, bool) {
	if !u.byteFallback {
		return nil, false
	}
	toks := make([]tokenizer.Token, len(p))
	for i := range len(p) {
		b := fmt.Sprintf("<0x%02X>", p[i])
		id, ok := u.ids[b]
		if !ok {
			return nil, false
		}
		toks[i] = tokenizer.Token{Id: id, Value: b, Offsets: offsets}
	}
	return toks, true
}

func (u *unigram) TokenToId(token string) (int, bool) {
	id, ok := u.ids[token]
	return id, ok
}

func (u *unigram) IdToToken(id int) (string, bool) {
	if id < 0 || id >= len(u.pieces) {
		return "", false
	}
	return u.pieces[id], true
}

// GetVocab returns the model's own map: callers only read it.
func (u *unigram) GetVocab() map[string]int { return u.ids }

func (u *unigram) GetVocabSize() int { return len(u.pieces) }

func (u *unigram) Save(string, ...string) error {
	return errors.New("tokenize: saving a Unigram model is not supported")
}
