package api

import (
	"encoding/json"
	"strings"
	"testing"
)

// BenchmarkParseInput decodes an embeddings input of 64 abstract-sized
// texts, the shape of a batched client.
func BenchmarkParseInput(b *testing.B) {
	texts := make([]string, 64)
	for i := range texts {
		texts[i] = strings.Repeat("the protein binds the receptor in mice ", 40)
	}
	raw, err := json.Marshal(texts)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if got, msg, _ := parseInput(raw); msg != "" || len(got) != len(texts) {
			b.Fatalf("parseInput: %d texts, %q", len(got), msg)
		}
	}
}
