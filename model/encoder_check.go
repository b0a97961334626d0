package model

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"

	"github.com/advancedclimatesystems/gonnx/onnx"

	"retune/model/onnxgraph"
	"retune/models"
)

// CheckFolder opens the encoder in dir as every command and the server
// would, checks that its tokenizer's ids fit the model's token embedding
// table, embeds a short text and one long enough to fill maxLength tokens
// (so a token limit beyond the model's positions fails here, not in the
// middle of a job), checks the vectors are finite and returns their width.
func CheckFolder(ctx context.Context, dir string, maxLength int) (int, error) {
	enc, err := Open(ctx, dir)
	if err != nil {
		return 0, err
	}
	defer enc.Close()
	m, err := onnxgraph.Load(filepath.Join(dir, models.ModelFile))
	if err != nil {
		return 0, err
	}
	if rows := tokenRows(m.Graph); rows > 0 && enc.Tokenizer().VocabSize() > rows {
		return 0, fmt.Errorf("tokenizer.json gives ids up to %d but the model's token embedding table has %d rows: the tokenizer is not this model's",
			enc.Tokenizer().VocabSize()-1, rows)
	}
	if _, err := enc.Embed(ctx, []string{"a short text to embed"}); err != nil {
		return 0, fmt.Errorf("embedding a short text: %w", err)
	}
	// Nine words a sentence, at least one token each: enough to reach
	// maxLength, which the tokenizer then truncates to.
	long := strings.Repeat("the quick brown fox jumps over the lazy dog. ", maxLength/9+2)
	vecs, err := enc.Embed(ctx, []string{"a short text to embed", long})
	if err != nil {
		return 0, fmt.Errorf("embedding a text of max_length = %d tokens (more than the model's positions? --max-length sets it): %w", maxLength, err)
	}
	for i, v := range vecs {
		for _, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return 0, fmt.Errorf("the model's vector for probe %d holds %v", i, x)
			}
		}
	}
	return len(vecs[0]), nil
}

// tokenRows is the row count of the table input_ids index (the Gather whose
// indices are input_ids, possibly cast or reshaped first, and whose data is
// an initializer), 0 when the graph has no such lookup (the check is then
// skipped).
func tokenRows(g *onnx.GraphProto) int {
	inits := map[string]*onnx.TensorProto{}
	for _, t := range g.Initializer {
		inits[t.Name] = t
	}
	ids := map[string]bool{inputIDs: true} // input_ids and what merely re-types or re-shapes it
	for _, n := range g.Node {
		switch n.OpType {
		case "Cast", "Identity", "Reshape", "Unsqueeze", "Squeeze", "Flatten":
			if len(n.Input) > 0 && ids[n.Input[0]] {
				for _, out := range n.Output {
					ids[out] = true
				}
			}
			continue
		}
		if n.OpType != "Gather" || len(n.Input) < 2 || !ids[n.Input[1]] {
			continue
		}
		if t, ok := inits[n.Input[0]]; ok && len(t.Dims) > 0 {
			return int(t.Dims[0])
		}
	}
	return 0
}
