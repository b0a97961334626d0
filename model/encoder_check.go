package model

import (
	"context"
	"fmt"
	"math"
	"strings"
)

// CheckFolder opens the encoder in dir as every command and the server
// would, checks that its tokenizer's ids fit the model's token embedding
// table of tokenRows rows (0: unknown, not checked), embeds a short text and one long enough to fill maxLength tokens
// (so a token limit beyond the model's positions fails here, not in the
// middle of a job), checks the vectors are finite and returns their width.
func CheckFolder(ctx context.Context, dir string, maxLength, tokenRows int) (int, error) {
	enc, err := Open(ctx, dir)
	if err != nil {
		return 0, err
	}
	defer enc.Close()
	if tokenRows > 0 && enc.Tokenizer().VocabSize() > tokenRows {
		return 0, fmt.Errorf("tokenizer.json gives ids up to %d but the model's token embedding table has %d rows: the tokenizer is not this model's",
			enc.Tokenizer().VocabSize()-1, tokenRows)
	}
	// Apart, so a failure says which: the model itself, or the token limit.
	short, err := enc.Embed(ctx, []string{"a short text to embed"})
	if err != nil {
		return 0, fmt.Errorf("embedding a short text: %w", err)
	}
	// Nine words a sentence, at least one token each: enough to reach
	// maxLength, which the tokenizer then truncates to.
	long, err := enc.Embed(ctx, []string{strings.Repeat("the quick brown fox jumps over the lazy dog. ", maxLength/9+2)})
	if err != nil {
		return 0, fmt.Errorf("embedding a text of max_length = %d tokens (more than the model's positions? --max-length sets it): %w", maxLength, err)
	}
	vecs := [][]float32{short[0], long[0]}
	for i, v := range vecs {
		for _, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return 0, fmt.Errorf("the model's vector for probe %d holds %v", i, x)
			}
		}
	}
	return len(vecs[0]), nil
}
