package export

import (
	"fmt"
	"math"

	"github.com/advancedclimatesystems/gonnx/onnx"

	"retune/model"
	"retune/model/onnxgraph"
)

// Epsilons of the guarded divisions. normEps keeps x/‖x‖ finite for the zero
// vector (0/1e-12 = 0), matching model.Normalize and model.Head.Project,
// which leave a zero vector at zero; countEps does the same for mean pooling
// over a row whose mask is all zero.
const (
	normEps  = 1e-12
	countEps = 1e-9
)

// minOpset is the oldest default-domain opset the emitted nodes support:
// negative Unsqueeze axes need 11.
const minOpset = 11

// ops appends pooling, normalisation and head nodes to a graph, choosing the
// node form the model's opset expects: from opset 13 on, Unsqueeze and
// ReduceSum take their axes as an input tensor, before that as an
// attribute; ReduceMax changes the same way at opset 18.
// Emitting the right form instead of raising the opset keeps the encoder's
// own nodes valid, since their semantics are pinned by the opset they were
// exported with.
type ops struct {
	b     *onnxgraph.Builder
	opset int64
}

// defaultOpset returns the model's default-domain opset ("" or "ai.onnx").
func defaultOpset(m *onnx.ModelProto) (int64, error) {
	for _, o := range m.OpsetImport {
		if o.Domain == "" || o.Domain == "ai.onnx" {
			if o.Version < minOpset {
				return 0, fmt.Errorf("default-domain opset %d is older than %d, which export needs", o.Version, minOpset)
			}
			return o.Version, nil
		}
	}
	return 0, fmt.Errorf("model imports no default-domain opset")
}

// axes is an int64 [n] initializer for the input-form axes of opset 13+.
func (o ops) axes(v ...int64) string {
	return o.b.Int64(o.b.Unique("retune_axes"), []int64{int64(len(v))}, v)
}

// scalar is a float32 scalar initializer.
func (o ops) scalar(prefix string, v float32) string {
	return o.b.Float32(o.b.Unique(prefix), nil, []float32{v})
}

func (o ops) unsqueeze(x string, axis int64) string {
	if o.opset >= 13 {
		return o.b.Op("Unsqueeze", []string{x, o.axes(axis)})
	}
	return o.b.Op("Unsqueeze", []string{x}, onnxgraph.AttrInts("axes", axis))
}

func (o ops) reduceSum(x string, axis int64, keep bool) string {
	k := int64(0)
	if keep {
		k = 1
	}
	if o.opset >= 13 {
		return o.b.Op("ReduceSum", []string{x, o.axes(axis)}, onnxgraph.AttrInt("keepdims", k))
	}
	return o.b.Op("ReduceSum", []string{x}, onnxgraph.AttrInts("axes", axis), onnxgraph.AttrInt("keepdims", k))
}

// l2Normalize divides each row of x [batch, d] by max(‖row‖, normEps) and
// names the result out (a fresh name when out is empty). It is built from
// Mul/ReduceSum/Sqrt rather than ReduceL2 or LpNormalization: ReduceL2
// changes its axes form again at opset 18, and LpNormalization has no zero
// guard.
func (o ops) l2Normalize(x, out string) string {
	sq := o.b.Op("Mul", []string{x, x})
	norm := o.b.Op("Sqrt", []string{o.reduceSum(sq, -1, true)})
	safe := o.b.Op("Max", []string{norm, o.scalar("retune_norm_eps", normEps)})
	if out == "" {
		return o.b.Op("Div", []string{x, safe})
	}
	return o.b.NamedOp("Div", out, []string{x, safe})
}

// meanPool averages hidden [batch, seq, d] over the positions where mask
// [batch, seq] is non-zero, like model.Encoder's mean pooling: padding rows
// are replaced by zeros (by Where, so that a NaN or infinity in one stays
// out), and a row without any real token pools to zero (0 / countEps)
// instead of NaN.
func (o ops) meanPool(hidden, mask string) string {
	maskF, masked := o.realRows(hidden, mask, o.scalar("retune_zero", 0))
	sum := o.reduceSum(masked, 1, false) // [batch, d]
	return o.b.Op("Div", []string{sum, o.realCount(maskF)})
}

// realRows is mask [batch, seq] as float32, and hidden [batch, seq, d]
// with its padding rows replaced by fill (by Where, so that a NaN or
// infinity in one stays out).
func (o ops) realRows(hidden, mask, fill string) (maskF, masked string) {
	maskF = o.b.Op("Cast", []string{mask}, onnxgraph.AttrInt("to", int64(onnx.TensorProto_FLOAT)))
	realTok := o.b.Op("Cast", []string{o.unsqueeze(mask, -1)}, onnxgraph.AttrInt("to", int64(onnx.TensorProto_BOOL)))
	return maskF, o.b.Op("Where", []string{realTok, hidden, fill})
}

// realCount is each row's number of real tokens [batch, 1], at least
// countEps: a row without any divides its zero sum to zero, not NaN.
func (o ops) realCount(maskF string) string {
	return o.b.Op("Max", []string{o.reduceSum(maskF, 1, true), o.scalar("retune_count_eps", countEps)})
}

// weightedPool is Σ w_t·hidden_t / divisor over the positions where mask
// [batch, seq] is non-zero, like model.Encoder's mean_sqrt_len and
// weightedmean pooling: w is 1 (sqrtLen, divisor √count) or the token's
// rank among the row's real tokens, 1, 2, ... (divisor Σ ranks). Padding
// rows are replaced by zeros by Where, and a row without any real token
// pools to zero.
func (o ops) weightedPool(hidden, mask string, sqrtLen bool) string {
	maskF, masked := o.realRows(hidden, mask, o.scalar("retune_zero", 0))
	if sqrtLen {
		sum := o.reduceSum(masked, 1, false)
		return o.b.Op("Div", []string{sum, o.b.Op("Sqrt", []string{o.realCount(maskF)})})
	}
	rank := o.b.Op("Mul", []string{o.b.Op("CumSum", []string{maskF, o.b.Int64(o.b.Unique("retune_seq_axis"), nil, []int64{1})}), maskF})
	sum := o.reduceSum(o.b.Op("Mul", []string{masked, o.unsqueeze(rank, -1)}), 1, false)
	total := o.b.Op("Max", []string{o.reduceSum(rank, 1, true), o.scalar("retune_count_eps", countEps)})
	return o.b.Op("Div", []string{sum, total})
}

// maxPool takes, per dimension, the largest value of hidden [batch, seq, d]
// over the positions where mask [batch, seq] is non-zero, like
// model.Encoder's max pooling: padding rows are replaced by the lowest
// float32 before the maximum, and a row without any real token pools to
// zero (its maximum is multiplied by [count > 0]) instead of that value.
func (o ops) maxPool(hidden, mask string) string {
	maskF, floored := o.realRows(hidden, mask, o.scalar("retune_max_floor", -math.MaxFloat32))
	best := o.reduceMax(floored, 1)      // [batch, d]
	count := o.reduceSum(maskF, 1, true) // [batch, 1]
	hasToken := o.b.Op("Cast", []string{o.b.Op("Greater", []string{count, o.scalar("retune_zero", 0)})}, onnxgraph.AttrInt("to", int64(onnx.TensorProto_FLOAT)))
	return o.b.Op("Mul", []string{best, hasToken})
}

// reduceMax is ReduceMax over axis without keeping it; its axes move from
// an attribute to an input at opset 18.
func (o ops) reduceMax(x string, axis int64) string {
	if o.opset >= 18 {
		return o.b.Op("ReduceMax", []string{x, o.axes(axis)}, onnxgraph.AttrInt("keepdims", 0))
	}
	return o.b.Op("ReduceMax", []string{x}, onnxgraph.AttrInts("axes", axis), onnxgraph.AttrInt("keepdims", 0))
}

// lastTokenPool takes the row of hidden [batch, seq, d] at the last
// position where mask [batch, seq] is non-zero, like model.Encoder's
// last-token pooling, whichever side the tokenizer pads: that position is
// the one where the running count of real tokens reaches their total.
// Selecting it with Where and a sum over the sequence (rather than a
// gathered index) keeps a row without any real token at zero, and a NaN or
// infinity in another row (a fully masked padding token's) out of it.
func (o ops) lastTokenPool(hidden, mask string) string {
	return o.realTokenPool(hidden, mask, func(mask64 string) string { return o.reduceSum(mask64, 1, true) }) // [batch, 1]
}

// firstTokenPool takes the row of hidden [batch, seq, d] at the first
// position where mask is non-zero, like model.Encoder's CLS pooling: the
// first real token, position 0 unless the tokenizer pads on the left.
func (o ops) firstTokenPool(hidden, mask string) string {
	return o.realTokenPool(hidden, mask, func(string) string { return o.b.Int64(o.b.Unique("retune_one_i64"), nil, []int64{1}) })
}

// realTokenPool takes the row of hidden at the real token (mask non-zero)
// where the running count of real tokens reaches nth(mask as int64).
func (o ops) realTokenPool(hidden, mask string, nth func(mask64 string) string) string {
	mask64 := o.b.Op("Cast", []string{mask}, onnxgraph.AttrInt("to", int64(onnx.TensorProto_INT64)))
	seen := o.b.Op("CumSum", []string{mask64, o.b.Int64(o.b.Unique("retune_seq_axis"), nil, []int64{1})})
	isReal := o.b.Op("Greater", []string{mask64, o.b.Int64(o.b.Unique("retune_zero_i64"), nil, []int64{0})})
	at := o.b.Op("And", []string{o.b.Op("Equal", []string{seen, nth(mask64)}), isReal})
	picked := o.b.Op("Where", []string{o.unsqueeze(at, -1), hidden, o.scalar("retune_zero", 0)})
	return o.reduceSum(picked, 1, false)
}

// positionsFromMask defines out in g (the graph o builds on) as the positions model.Encoder feeds a
// position_ids input, computed from mask [batch, seq]: each row's real
// tokens numbered from 0 whichever side it is padded (cumsum − 1, at least
// 0), so that the fused export, like the other encoders, takes only the
// tokenizer's ids and mask. Its nodes read only the mask and constants:
// moved to the front, they keep the graph in topological order.
func (o ops) positionsFromMask(g *onnx.GraphProto, out, mask string) {
	start := len(g.Node)
	mask64 := o.b.Op("Cast", []string{mask}, onnxgraph.AttrInt("to", int64(onnx.TensorProto_INT64)))
	seen := o.b.Op("CumSum", []string{mask64, o.b.Int64(o.b.Unique("retune_seq_axis"), nil, []int64{1})})
	one := o.b.Int64(o.b.Unique("retune_one_i64"), nil, []int64{1})
	zero := o.b.Int64(o.b.Unique("retune_zero_i64"), nil, []int64{0})
	o.b.NamedOp("Max", out, []string{o.b.Op("Sub", []string{seen, one}), zero})
	added := append([]*onnx.NodeProto(nil), g.Node[start:]...)
	g.Node = append(added, g.Node[:start]...)
}

// linear is x·Wᵀ (+ b) for x [batch, d_in]. The effective W is baked in, so
// a low-rank head exports as the same dense matrix it computes with. As in
// model.Head.Project, a zero row of x gets no bias: the bias is multiplied
// by [Σ|x_row| > 0] (a sum of absolute values, which cannot underflow to
// zero the way a sum of squares of tiny values can).
func (o ops) linear(x string, h *model.Head) string {
	cfg := h.Config()
	wt := o.b.Float32(o.b.Unique("retune_head_weight_t"), []int64{int64(cfg.DIn), int64(cfg.DOut)}, weightT(h))
	y := o.b.Op("MatMul", []string{x, wt})
	if b := bias32(h); b != nil {
		mass := o.reduceSum(o.b.Op("Abs", []string{x}), -1, true) // [batch, 1]
		nonZero := o.b.Op("Greater", []string{mass, o.scalar("retune_zero", 0)})
		gate := o.b.Op("Cast", []string{nonZero}, onnxgraph.AttrInt("to", int64(onnx.TensorProto_FLOAT)))
		bias := o.b.Float32(o.b.Unique("retune_head_bias"), []int64{int64(cfg.DOut)}, b)
		y = o.b.Op("Add", []string{y, o.b.Op("Mul", []string{gate, bias})})
	}
	return y
}
