package models

import (
	"path/filepath"
	"runtime"
	"testing"

	ort "github.com/yalue/onnxruntime_go"

	"retune/model/onnxgraph"
)

// BenchmarkGloveSession times creating an onnxruntime session for
// glove-100d as built, with its table in model.onnx.data (mapped), and for
// the same model with the table inline in model.onnx (copied out of the
// protobuf), the layout before glove build 3.
func BenchmarkGloveSession(b *testing.B) {
	requireORT(b)
	dir := filepath.Join(testRoot(), GloveName)
	if !upToDate(dir, gloveBuild) {
		b.Skip("glove-100d is not built: run `make setup`")
	}
	m, err := onnxgraph.Load(filepath.Join(dir, ModelFile))
	if err != nil {
		b.Fatal(err)
	}
	if err := onnxgraph.LoadExternal(m, dir); err != nil {
		b.Fatal(err)
	}
	inline := filepath.Join(b.TempDir(), ModelFile)
	if err := onnxgraph.WriteFile(inline, m); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct{ name, path string }{
		{"external", filepath.Join(dir, ModelFile)},
		{"inline", inline},
	} {
		b.Run(c.name, func(b *testing.B) {
			opts, err := ort.NewSessionOptions()
			if err != nil {
				b.Fatal(err)
			}
			defer opts.Destroy()
			if err := opts.SetIntraOpNumThreads(runtime.NumCPU()); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				s, err := ort.NewDynamicAdvancedSession(c.path, []string{"input_ids", "attention_mask"}, []string{"last_hidden_state"}, opts)
				if err != nil {
					b.Fatal(err)
				}
				s.Destroy()
			}
		})
	}
}
