package models

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand"

	"github.com/advancedclimatesystems/gonnx/onnx"

	"retune/model/onnxgraph"
)

// bertInitStd is BERT's initializer_range: weights ~ N(0, 0.02).
const bertInitStd = 0.02

// bertMaskBias is added to attention scores of padded keys. exp(-10000)
// underflows to exactly 0 in float32, so padding has no effect at all on real
// tokens, and an all-padding row still gets a finite (uniform) softmax.
const bertMaskBias = -10000

// bertModel builds a standard post-LayerNorm BERT encoder (as exported from
// Hugging Face) with random weights. Linear weights are stored [in, out],
// ready for MatMul; biases and LayerNorm beta are 0, gamma 1, as BERT
// initialises them. Weights are drawn in graph order from one seeded source,
// so a seed always gives the same model bytes.
func bertModel(cfg BERTConfig, seed int64) (*onnx.ModelProto, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewSource(seed))
	H, F := int64(cfg.Hidden), int64(cfg.FFN)
	heads := int64(cfg.Heads)
	headDim := H / heads
	batch, seq := onnxgraph.Sym("batch"), onnxgraph.Sym("seq")
	b := onnxgraph.New("bert")

	normal := func(name string, dims ...int64) string {
		n, _ := onnxgraph.NumElements(dims)
		raw := make([]byte, 4*n)
		for i := int64(0); i < n; i++ {
			v := float32(rng.NormFloat64() * bertInitStd)
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
		}
		return b.Raw(name, onnx.TensorProto_FLOAT, dims, raw)
	}
	fill := func(name string, n int64, v float32) string {
		data := make([]float32, n)
		for i := range data {
			data[i] = v
		}
		return b.Float32(name, []int64{n}, data)
	}
	scalar := func(name string, v float32) string { return b.Float32(name, nil, []float32{v}) }
	linear := func(x, name string, in, out int64) string {
		w := normal(name+".weight", in, out)
		bias := fill(name+".bias", out, 0)
		return b.Op("Add", []string{b.Op("MatMul", []string{x, w}), bias})
	}
	layerNorm := func(x, name, out string) string {
		in := []string{x, fill(name+".weight", H, 1), fill(name+".bias", H, 0)}
		attrs := []*onnx.AttributeProto{onnxgraph.AttrInt("axis", -1), onnxgraph.AttrFloat("epsilon", cfg.LayerNormEps)}
		if out != "" {
			return b.NamedOp("LayerNormalization", out, in, attrs...)
		}
		return b.Op("LayerNormalization", in, attrs...)
	}

	ids := b.Input("input_ids", onnx.TensorProto_INT64, batch, seq)
	mask := b.Input("attention_mask", onnx.TensorProto_INT64, batch, seq)
	types := b.Input("token_type_ids", onnx.TensorProto_INT64, batch, seq)

	one, half := scalar("const.one", 1), scalar("const.half", 0.5)
	sqrt2 := scalar("const.sqrt2", math.Sqrt2)
	scale := scalar("const.sqrt_head_dim", float32(math.Sqrt(float64(headDim))))
	maskBias := scalar("const.mask_bias", bertMaskBias)
	toHeads := b.Int64("const.shape_heads", []int64{4}, []int64{0, 0, heads, headDim})
	toHidden := b.Int64("const.shape_hidden", []int64{3}, []int64{0, 0, H})

	// Embeddings: word + position + token type, then LayerNorm. Positions
	// are 0..seq-1, computed from the runtime shape of input_ids, or the
	// position_ids input.
	wordEmb := normal("embeddings.word_embeddings.weight", int64(cfg.VocabSize), H)
	posEmb := normal("embeddings.position_embeddings.weight", int64(cfg.MaxPositions), H)
	typeEmb := normal("embeddings.token_type_embeddings.weight", int64(cfg.TypeVocabSize), H)
	var positions string
	if cfg.PositionIDs {
		positions = b.Input("position_ids", onnx.TensorProto_INT64, batch, seq)
	} else {
		seqLen := b.Op("Gather", []string{b.Op("Shape", []string{ids}), b.Int64("const.axis1", nil, []int64{1})})
		positions = b.Op("Range", []string{b.Int64("const.zero_i64", nil, []int64{0}), seqLen, b.Int64("const.one_i64", nil, []int64{1})})
	}
	x := b.Op("Add", []string{
		b.Op("Add", []string{b.Op("Gather", []string{wordEmb, ids}), b.Op("Gather", []string{typeEmb, types})}),
		b.Op("Gather", []string{posEmb, positions}),
	})
	x = layerNorm(x, "embeddings.LayerNorm", "")

	// Additive attention mask [batch, 1, 1, seq]: 0 for tokens, -10000 for padding.
	maskF := b.Op("Cast", []string{mask}, onnxgraph.AttrInt("to", int64(onnx.TensorProto_FLOAT)))
	maskF = b.Op("Unsqueeze", []string{maskF, b.Int64("const.axes12", []int64{2}, []int64{1, 2})})
	attnBias := b.Op("Mul", []string{b.Op("Sub", []string{one, maskF}), maskBias})

	for l := 0; l < cfg.Layers; l++ {
		p := fmt.Sprintf("encoder.layer.%d.", l)
		// [batch, seq, hidden] → [batch, heads, seq, head_dim] (keys: [.., head_dim, seq]).
		split := func(t string, perm ...int64) string {
			return b.Op("Transpose", []string{b.Op("Reshape", []string{t, toHeads})}, onnxgraph.AttrInts("perm", perm...))
		}
		q := split(linear(x, p+"attention.self.query", H, H), 0, 2, 1, 3)
		k := split(linear(x, p+"attention.self.key", H, H), 0, 2, 3, 1)
		v := split(linear(x, p+"attention.self.value", H, H), 0, 2, 1, 3)
		scores := b.Op("Div", []string{b.Op("MatMul", []string{q, k}), scale})
		probs := b.Op("Softmax", []string{b.Op("Add", []string{scores, attnBias})}, onnxgraph.AttrInt("axis", -1))
		ctx := b.Op("Transpose", []string{b.Op("MatMul", []string{probs, v})}, onnxgraph.AttrInts("perm", 0, 2, 1, 3))
		ctx = b.Op("Reshape", []string{ctx, toHidden})
		attn := linear(ctx, p+"attention.output.dense", H, H)
		x = layerNorm(b.Op("Add", []string{attn, x}), p+"attention.output.LayerNorm", "")

		// Feed-forward with exact GELU: 0.5·h·(1 + erf(h/√2)).
		h := linear(x, p+"intermediate.dense", H, F)
		erf := b.Op("Erf", []string{b.Op("Div", []string{h, sqrt2})})
		h = b.Op("Mul", []string{b.Op("Mul", []string{h, b.Op("Add", []string{erf, one})}), half})
		out := linear(h, p+"output.dense", F, H)
		name := ""
		if l == cfg.Layers-1 {
			name = "last_hidden_state"
		}
		x = layerNorm(b.Op("Add", []string{out, x}), p+"output.LayerNorm", name)
	}
	b.Output(x, onnx.TensorProto_FLOAT, batch, seq, onnxgraph.Fixed(H))

	b.SetDoc("BERT encoder with random weights: " + fixtureNote(seed))
	b.SetMetadata("fixture", fixtureNote(seed))
	b.SetMetadata("shape", cfg.key())
	b.SetMetadata("seed", fmt.Sprint(seed))
	b.SetMetadata("build", bertBuild(cfg, seed))
	return b.Build()
}
