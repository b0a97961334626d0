package export

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/advancedclimatesystems/gonnx/onnx"

	"retune/model"
	"retune/model/onnxgraph"
)

// HeadONNX writes the head alone as an ONNX model to w: input "embedding"
// float32 [batch, d_in] (base embeddings, as model.Encoder returns them),
// output "sentence_embedding" float32 [batch, d_out] =
// L2-normalise(embedding·Wᵀ + b), zero staying zero as in model.Head.Project.
// metadata_props carry the provenance listed in headMetadata.
func HeadONNX(h *model.Head, meta model.HeadMeta, w io.Writer) error {
	m, err := headModel(h, meta)
	if err != nil {
		return err
	}
	data, err := onnxgraph.Marshal(m)
	if err != nil {
		return fmt.Errorf("export: head onnx: %w", err)
	}
	if _, err := w.Write(data); err != nil {
		return fmt.Errorf("export: write head onnx: %w", err)
	}
	return nil
}

// HeadONNXFile is HeadONNX into a file, written atomically; its folder is
// created if missing, as the other formats create theirs.
func HeadONNXFile(h *model.Head, meta model.HeadMeta, path string) error {
	m, err := headModel(h, meta)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("export: head onnx: %w", err)
	}
	if err := onnxgraph.WriteFile(path, m); err != nil {
		return fmt.Errorf("export: head onnx: %w", err)
	}
	return nil
}

// headModel builds the head-only graph at the builder's default opset.
func headModel(h *model.Head, meta model.HeadMeta) (*onnx.ModelProto, error) {
	if err := checkHead(h); err != nil {
		return nil, err
	}
	cfg := h.Config()
	batch := onnxgraph.Sym("batch")
	b := onnxgraph.New("retune_head")
	o := ops{b: b, opset: onnxgraph.Opset}
	x := b.Input(InputEmbedding, onnx.TensorProto_FLOAT, batch, onnxgraph.Fixed(int64(cfg.DIn)))
	o.l2Normalize(o.linear(x, h), OutputEmbedding)
	b.Output(OutputEmbedding, onnx.TensorProto_FLOAT, batch, onnxgraph.Fixed(int64(cfg.DOut)))
	kv, err := headMetadata(h, meta)
	if err != nil {
		return nil, err
	}
	for _, p := range kv {
		b.SetMetadata(p[0], p[1])
	}
	b.SetDoc(fmt.Sprintf("retune projection head %d→%d (apply %s) for encoder %q: sentence_embedding = L2-normalise(embedding·Wᵀ + b); an all-zero embedding stays zero",
		cfg.DIn, cfg.DOut, cfg.Apply, meta.Encoder))
	m, err := b.Build()
	if err != nil {
		return nil, fmt.Errorf("export: head onnx: %w", err)
	}
	return m, nil
}
