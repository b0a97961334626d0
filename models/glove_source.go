package models

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
)

// SourceVector is one word's entry in the wink embeddings JSON.
type SourceVector struct {
	Index int       // the word's index in the source word list
	Vec   []float32 // its first dim numbers: the embedding
}

// GloveSourceVectors reads the given words' vectors straight from the npm
// tarball's JSON, without the builder's parser, by finding `"word":[...]` in
// its "vectors" object. Tests use it as the independent reference for what
// glove-100d must compute. It reads only as far as needed (frequent words
// come early) and fails for a word the JSON lacks.
func GloveSourceVectors(tgz string, dim int, words ...string) (map[string]SourceVector, error) {
	r, _, err := OpenMember(tgz, gloveMember)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var buf []byte
	chunk := make([]byte, 4<<20)
	out := map[string]SourceVector{}
	for len(out) < len(words) {
		n, err := io.ReadFull(r, chunk)
		buf = append(buf, chunk[:n]...)
		eof := err != nil
		if start := bytes.Index(buf, []byte(`"vectors":{`)); start >= 0 {
			for _, w := range words {
				if _, done := out[w]; done {
					continue
				}
				key, _ := json.Marshal(w)
				at := bytes.Index(buf[start:], append(key, ':', '['))
				if at < 0 {
					continue
				}
				rest := buf[start+at+len(key)+1:]
				end := bytes.IndexByte(rest, ']')
				if end < 0 {
					continue // the vector continues in the next chunk
				}
				var nums []float64
				if err := json.Unmarshal(rest[:end+1], &nums); err != nil {
					return nil, fmt.Errorf("vector of %q: %w", w, err)
				}
				if len(nums) < dim+1 {
					return nil, fmt.Errorf("vector of %q has %d numbers, want %d+", w, len(nums), dim+1)
				}
				v := make([]float32, dim)
				for i := range v {
					v[i] = float32(nums[i])
				}
				out[w] = SourceVector{Index: int(nums[len(nums)-1]), Vec: v}
			}
		}
		if eof {
			break
		}
	}
	for _, w := range words {
		if _, ok := out[w]; !ok {
			return nil, fmt.Errorf("word %q not in the source JSON", w)
		}
	}
	return out, nil
}

// GloveTarball is where Setup keeps the pinned wink embeddings tarball.
func GloveTarball(root string) string {
	name, _ := tarballName(gloveNpmSpec)
	return filepath.Join(root, ".cache", name)
}
