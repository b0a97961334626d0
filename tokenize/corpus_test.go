package tokenize

import (
	"encoding/json"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode"
	"unicode/utf8"
)

// corpusVocab is the word list abstracts draws from, most frequent first,
// about the size of SciFact's vocabulary (~60k distinct words): BERT's whole
// words in id order (roughly frequency order past id 1996), then made-up
// words that split into several pieces, standing in for rare terms.
var corpusVocab = sync.OnceValues(func() ([]string, error) {
	dir, err := bertDir()
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(filepath.Join(dir, "all_minilm_l6_v2", "tokenizer.json"))
	if err != nil {
		return nil, err
	}
	var file struct {
		Model struct {
			Vocab map[string]int `json:"vocab"`
		} `json:"model"`
	}
	if err := json.Unmarshal(data, &file); err != nil {
		return nil, err
	}
	byID := make([]string, len(file.Model.Vocab))
	for w, id := range file.Model.Vocab {
		byID[id] = w
	}
	var vocab []string
	for _, w := range byID[1996:] {
		if len(w) > 1 && !strings.HasPrefix(w, "##") && !strings.ContainsFunc(w, unicode.IsPunct) {
			vocab = append(vocab, w)
		}
	}
	r := rand.New(rand.NewSource(7))
	syllables := strings.Fields("ka ri to me na li sa po ve ther gen cyt ase ine ol ul ox phy ro tri")
	for len(vocab) < 60000 {
		var sb strings.Builder
		for range 2 + r.Intn(4) {
			sb.WriteString(syllables[r.Intn(len(syllables))])
		}
		vocab = append(vocab, sb.String())
	}
	return vocab, nil
})

// abstracts returns n SciFact-like abstracts of 200-300 words with Zipfian
// word frequencies, numbers, punctuation, mixed case and a few accents, so
// that the chunk cache sees a realistic hit rate.
func abstracts(tb testing.TB, n int) []string {
	tb.Helper()
	vocab, err := corpusVocab()
	if err != nil {
		tb.Skipf("skipping: no BERT vocabulary to build abstracts from: %v", err)
	}
	accented := strings.Fields("naïve café-au-lait Sjögren Ångström β-catenin TNF-α")
	r := rand.New(rand.NewSource(1))
	zipf := rand.NewZipf(r, 1.1, 2, uint64(len(vocab)-1))
	out := make([]string, n)
	for i := range out {
		var sb strings.Builder
		for w := range 200 + r.Intn(101) {
			word := vocab[zipf.Uint64()]
			switch r.Intn(25) {
			case 0:
				word = "(" + word + ")"
			case 1:
				word = strconv.Itoa(r.Intn(1000)) + "%"
			case 2:
				first, size := utf8.DecodeRuneInString(word)
				word = string(unicode.ToUpper(first)) + word[size:]
			case 3:
				word += "."
			case 4:
				word += ","
			case 5:
				word = accented[r.Intn(len(accented))]
			}
			if w > 0 {
				sb.WriteByte(' ')
			}
			sb.WriteString(word)
		}
		sb.WriteByte('.')
		out[i] = sb.String()
	}
	return out
}
