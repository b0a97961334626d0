package export

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/advancedclimatesystems/gonnx/onnx"

	"retune/model"
	"retune/model/onnxgraph"
	"retune/models"
)

// lastHiddenState is the token-level output model.Encoder pools when the
// encoder has no sentence_embedding output.
const lastHiddenState = "last_hidden_state"

// Fused writes outDir as an encoder folder whose model computes
// encoder → pooling → L2 normalisation → head → L2 normalisation in one
// graph, with the encoder's original inputs and the single output
// "sentence_embedding" [batch, d_out]. model.Open(outDir) then yields
// exactly what model.Open(encoderDir) + h.Project yields.
//
// The head must have been trained on this encoder: meta's encoder checksum
// is compared with the folder's (model.VerifyEncoder), because a head on
// another encoder's embedding space gives plausible but meaningless vectors.
// A head with apply "query" is applied too, so its fused model is the query
// encoder; documents still go through the base encoder.
//
// outDir is created if missing; an earlier export there is replaced once
// the new one is written whole (a failed export leaves it as it was), with
// encoder.json last, so a folder holding encoder.json is always complete.
func Fused(ctx context.Context, encoderDir string, h *model.Head, meta model.HeadMeta, outDir string) error {
	return fuse(ctx, encoderDir, h, meta, outDir, defaultExternal)
}

// encoderSettings is what model.Encoder does after the forward pass.
type encoderSettings struct {
	pooling   string // one of models.PoolingModes
	normalize bool
	dim       int // encoder.json dim, used when the graph's width is symbolic
}

func fuse(ctx context.Context, encoderDir string, h *model.Head, meta model.HeadMeta, outDir string, ext externalPolicy) error {
	fail := func(err error) error {
		return fmt.Errorf("export: fuse encoder %s with head into %s: %w", encoderDir, outDir, err)
	}
	if err := checkHead(h); err != nil {
		return err
	}
	if same, err := sameDir(encoderDir, outDir); err != nil {
		return fail(err)
	} else if same {
		return fail(fmt.Errorf("output folder is the encoder folder; refusing to overwrite the base encoder"))
	}
	cfg, hasCfg, err := models.ReadEncoderConfig(encoderDir)
	if err != nil {
		return fail(err)
	}
	sum, err := model.EncoderChecksum(encoderDir)
	if err != nil {
		return fail(err)
	}
	if err := model.VerifyEncoder(meta, sum); err != nil {
		return fail(err)
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	m, err := onnxgraph.Load(filepath.Join(encoderDir, models.ModelFile))
	if err != nil {
		return fail(err)
	}
	if err := onnxgraph.LoadExternal(m, encoderDir); err != nil {
		return fail(err)
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	// model.Encoder's defaults when encoder.json is absent.
	settings := encoderSettings{pooling: models.PoolingMean, normalize: true}
	if hasCfg {
		settings = encoderSettings{pooling: cfg.Pooling, normalize: cfg.Normalize, dim: cfg.Dim}
	}
	if err := appendHead(m, h, meta, settings); err != nil {
		return fail(err)
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	if err := writeEncoderFolder(encoderDir, outDir, m, h, meta, sum, cfg, hasCfg, ext); err != nil {
		return fail(err)
	}
	return nil
}

// appendHead rewires m in place: the encoder output model.Encoder would read
// feeds pooling (unless it is already a sentence embedding), normalisation
// and the head, and the graph's outputs become the single
// "sentence_embedding". Nodes that no longer feed it are pruned.
func appendHead(m *onnx.ModelProto, h *model.Head, meta model.HeadMeta, enc encoderSettings) error {
	opset, err := defaultOpset(m)
	if err != nil {
		return err
	}
	g := m.Graph
	src, pooled, err := encoderOutput(g)
	if err != nil {
		return err
	}
	width := lastDim(src)
	if width <= 0 {
		width = int64(enc.dim)
	}
	cfg := h.Config()
	if width <= 0 {
		return fmt.Errorf("cannot tell the width of encoder output %q (symbolic, and no dim in encoder.json)", src.Name)
	}
	if width != int64(cfg.DIn) {
		return fmt.Errorf("head expects %d-dim embeddings (d_in) but encoder output %q is %d wide", cfg.DIn, src.Name, width)
	}
	batch := batchDim(src)
	x := src.Name
	if pooled {
		// The encoder's own sentence_embedding would clash with the new
		// output of that name; it keeps its role under a fresh name.
		x = freshName(g, "retune_base_sentence_embedding")
		renameValue(g, OutputEmbedding, x)
	}
	positions := dropInput(g, inputPositionIDs)
	b := onnxgraph.FromModel(m)
	o := ops{b: b, opset: opset}
	if positions != "" {
		o.positionsFromMask(g, positions, attentionMask(b, g))
	}
	if !pooled {
		switch enc.pooling {
		case models.PoolingCLS:
			x = o.firstTokenPool(x, attentionMask(b, g))
		case models.PoolingMean:
			x = o.meanPool(x, attentionMask(b, g))
		case models.PoolingMax:
			x = o.maxPool(x, attentionMask(b, g))
		case models.PoolingLastToken:
			x = o.lastTokenPool(x, attentionMask(b, g))
		case models.PoolingMeanSqrtLen:
			x = o.weightedPool(x, attentionMask(b, g), true)
		case models.PoolingWeightedMean:
			x = o.weightedPool(x, attentionMask(b, g), false)
		default:
			return fmt.Errorf("pooling %q not supported (%s)", enc.pooling, strings.Join(models.PoolingModes, ", "))
		}
	}
	if enc.normalize {
		x = o.l2Normalize(x, "")
	}
	o.l2Normalize(o.linear(x, h), OutputEmbedding)
	g.Output = nil
	b.Output(OutputEmbedding, onnx.TensorProto_FLOAT, batch, onnxgraph.Fixed(int64(cfg.DOut)))
	kv, err := headMetadata(h, meta)
	if err != nil {
		return err
	}
	for _, p := range kv {
		b.SetMetadata(p[0], p[1])
	}
	pipeline := "pool " + enc.pooling
	if pooled {
		pipeline = "encoder sentence_embedding"
	}
	if enc.normalize {
		pipeline += " → L2"
	}
	b.SetMetadata("retune_pipeline", pipeline+" → head → L2")
	if _, err := b.Build(); err != nil {
		return err
	}
	prune(g)
	uniqueNodeNames(g)
	return onnxgraph.Validate(g)
}

// encoderOutput picks the output model.Encoder reads: sentence_embedding
// when present (already pooled), else last_hidden_state.
func encoderOutput(g *onnx.GraphProto) (*onnx.ValueInfoProto, bool, error) {
	var names []string
	for _, out := range g.Output {
		if out.Name == OutputEmbedding {
			return out, true, nil
		}
		names = append(names, out.Name)
	}
	for _, out := range g.Output {
		if out.Name == lastHiddenState {
			return out, false, nil
		}
	}
	return nil, false, fmt.Errorf("encoder outputs [%s] include neither %s nor %s", strings.Join(names, ", "), OutputEmbedding, lastHiddenState)
}

// attentionMask returns the attention_mask input, declaring it (shaped like
// input_ids) when the encoder has none: pooling over tokens needs the mask,
// and model.Encoder feeds every one of input_ids, attention_mask,
// token_type_ids and position_ids the model declares.
func attentionMask(b *onnxgraph.Builder, g *onnx.GraphProto) string {
	const mask = "attention_mask"
	var ids *onnx.ValueInfoProto
	for _, in := range g.Input {
		switch in.Name {
		case mask:
			return mask
		case "input_ids":
			ids = in
		}
	}
	dims := []onnxgraph.Dim{onnxgraph.Sym("batch"), onnxgraph.Sym("sequence")}
	if ids != nil {
		if d := shapeDims(ids); len(d) == 2 {
			dims = d
		}
	}
	return b.Input(mask, onnx.TensorProto_INT64, dims...)
}

// shapeDims converts a tensor value's declared shape to Builder dims.
func shapeDims(v *onnx.ValueInfoProto) []onnxgraph.Dim {
	tt := v.GetType().GetTensorType()
	if tt == nil || tt.Shape == nil {
		return nil
	}
	var out []onnxgraph.Dim
	for i, d := range tt.Shape.Dim {
		switch {
		case d.GetDimParam() != "":
			out = append(out, onnxgraph.Sym(d.GetDimParam()))
		case d.GetDimValue() > 0:
			out = append(out, onnxgraph.Fixed(d.GetDimValue()))
		default: // unknown: give it a name of its own
			out = append(out, onnxgraph.Sym(fmt.Sprintf("%s_dim%d", v.Name, i)))
		}
	}
	return out
}

// lastDim is the fixed size of v's last dimension, or 0 when unknown.
func lastDim(v *onnx.ValueInfoProto) int64 {
	d := shapeDims(v)
	if len(d) == 0 {
		return 0
	}
	return d[len(d)-1].Size
}

// batchDim reuses the encoder's batch dimension for the new output.
func batchDim(v *onnx.ValueInfoProto) onnxgraph.Dim {
	if d := shapeDims(v); len(d) > 0 {
		return d[0]
	}
	return onnxgraph.Sym("batch")
}
