package model

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"retune/internal/vecmath"
)

// CheckFolder opens the encoder in dir as every command and the server
// would, checks that its tokenizer's ids fit the model's token embedding
// table of tokenRows rows (0: unknown, not checked), embeds a short text and one long enough to fill maxLength tokens
// (so a token limit beyond the model's positions fails here, not in the
// middle of a job), then both in one batch (so a model exported for one
// text at a time, or whose vectors change with the padding a batch adds,
// fails here rather than at the first batch a server embeds), checks the
// vectors are finite and returns their width.
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
	shortText := "a short text to embed"
	short, err := enc.Embed(ctx, []string{shortText})
	if err != nil {
		return 0, fmt.Errorf("embedding a short text: %w%s", err, shapeHint(err))
	}
	// Nine words a sentence, at least one token each: enough to reach
	// maxLength, which the tokenizer then truncates to.
	longText := strings.Repeat("the quick brown fox jumps over the lazy dog. ", maxLength/9+2)
	long, err := enc.Embed(ctx, []string{longText})
	if err != nil {
		return 0, fmt.Errorf("embedding a text of max_length = %d tokens (more than the model's positions? --max-length sets it): %w%s", maxLength, err, shapeHint(err))
	}
	both, err := enc.Embed(ctx, []string{shortText, longText})
	if err != nil {
		return 0, fmt.Errorf("embedding two texts in one batch: %w%s", err, shapeHint(err))
	}
	// A text no token of which the model knows stays zero: nothing to compare.
	if c := vecmath.Cosine(both[0], short[0]); c < paddingMinCosine && !(allZero(both[0]) && allZero(short[0])) {
		why := "the model does not mask padding (e.g. it pools over padding tokens)"
		if enc.Tokenizer().PadsLeft() && !slices.Contains(enc.inputs, inputPosIDs) {
			why = "the tokenizer pads on the left and the model takes no position_ids, so each text's positions shift by its padding (pad on the right, as a BERT-style model expects, or export the model with a position_ids input)"
		}
		return 0, fmt.Errorf("a text's vector changes when a batch pads it to a longer text's length (cosine %.3f with its vector alone): %s, so every vector would depend on the texts batched with it", c, why)
	}
	vecs := [][]float32{short[0], long[0]}
	if i, j := vecmath.FirstNonFinite(vecs); i >= 0 {
		return 0, fmt.Errorf("the model's vector for probe %d holds %v", i, vecs[i][j])
	}
	return len(vecs[0]), nil
}

// paddingMinCosine is how close a text's vector in a padded batch must stay
// to its vector alone. Float32 attention over masked positions moves it in
// the last bits; the margin below 1 leaves room for models whose arithmetic
// depends a little on the batch (a dynamically quantized one takes its
// activations' scale over the whole batch; none was measured here). A
// model pooling over padding moves it far below (the refusal test).
const paddingMinCosine = 0.99

// shapeHint explains onnxruntime's refusal of an input's shape: retune pads
// each batch to its longest text, so both axes must be dynamic.
func shapeHint(err error) string {
	if strings.Contains(err.Error(), "Got invalid dimensions for input") {
		return " (retune embeds texts in batches padded to their longest text: the model's inputs need dynamic batch and sequence axes; export it with dynamic_axes)"
	}
	return ""
}
