package onnxgraph

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/advancedclimatesystems/gonnx/onnx"
	ort "github.com/yalue/onnxruntime_go"
)

var (
	ortOnce sync.Once
	ortErr  error
)

// findORTLib returns the ONNX Runtime library from RETUNE_ORT_LIB or from
// models/onnxruntime/ in this directory or a parent.
func findORTLib() (string, error) {
	if p := os.Getenv("RETUNE_ORT_LIB"); p != "" {
		return p, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "models", "onnxruntime", "libonnxruntime.so.1")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("models/onnxruntime/libonnxruntime.so.1 not found above the working directory and RETUNE_ORT_LIB unset")
		}
		dir = parent
	}
}

// requireORT initialises the ONNX Runtime environment once per test binary,
// skipping the test when the library is not installed (run `make setup`).
func requireORT(t *testing.T) {
	t.Helper()
	lib, err := findORTLib()
	if err != nil {
		t.Skipf("ONNX Runtime unavailable (%v); run `make setup` or set RETUNE_ORT_LIB", err)
	}
	ortOnce.Do(func() {
		if ort.IsInitialized() {
			return
		}
		ort.SetSharedLibraryPath(lib)
		ortErr = ort.InitializeEnvironment()
	})
	if ortErr != nil {
		t.Fatalf("initialise ONNX Runtime from %s: %v", lib, ortErr)
	}
}

// runModel runs m on the given inputs and returns the single float32 output.
func runModel(t *testing.T, m *onnx.ModelProto, inputNames []string, inputs []ort.Value, output string) ([]float32, ort.Shape) {
	t.Helper()
	data, err := Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	opts, err := ort.NewSessionOptions()
	if err != nil {
		t.Fatal(err)
	}
	defer opts.Destroy()
	if err := opts.SetIntraOpNumThreads(runtime.NumCPU()); err != nil {
		t.Fatal(err)
	}
	sess, err := ort.NewDynamicAdvancedSessionWithONNXData(data, inputNames, []string{output}, opts)
	if err != nil {
		t.Fatalf("ONNX Runtime rejected the model: %v", err)
	}
	defer sess.Destroy()
	outs := []ort.Value{nil}
	if err := sess.Run(inputs, outs); err != nil {
		t.Fatalf("run: %v", err)
	}
	defer outs[0].Destroy()
	out, ok := outs[0].(*ort.Tensor[float32])
	if !ok {
		t.Fatalf("output is %T, want float32 tensor", outs[0])
	}
	return append([]float32{}, out.GetData()...), out.GetShape().Clone()
}

func tensor[T ort.TensorData](t *testing.T, shape ort.Shape, data []T) *ort.Tensor[T] {
	t.Helper()
	v, err := ort.NewTensor(shape, data)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Destroy() })
	return v
}

func TestGraphsRunInONNXRuntime(t *testing.T) {
	requireORT(t)
	batch, seq := Sym("batch"), Sym("seq")
	cases := []struct {
		name   string
		build  func(b *Builder)
		inputs func(t *testing.T) ([]string, []ort.Value)
		shape  ort.Shape
		want   []float32
	}{{
		// y = x·W + b with x [2,3], W [3,2].
		name: "MatMul+Add",
		build: func(b *Builder) {
			x := b.Input("x", onnx.TensorProto_FLOAT, batch, Fixed(3))
			w := b.Float32("w", []int64{3, 2}, []float32{1, 2, 3, 4, 5, 6})
			bias := b.Float32("b", []int64{2}, []float32{0.5, -1})
			b.NamedOp("Add", "y", []string{b.Op("MatMul", []string{x, w}), bias})
			b.Output("y", onnx.TensorProto_FLOAT, batch, Fixed(2))
		},
		inputs: func(t *testing.T) ([]string, []ort.Value) {
			x := tensor(t, ort.NewShape(2, 3), []float32{1, 0, -1, 2, 1, 0.5})
			return []string{"x"}, []ort.Value{x}
		},
		shape: ort.NewShape(2, 2),
		// [1,0,-1]·W = [1-5, 2-6] = [-4,-4]; [2,1,.5]·W = [2+3+2.5, 4+4+3] = [7.5, 11]
		want: []float32{-3.5, -5, 8, 10},
	}, {
		// LayerNormalization exists from opset 17 on; gamma scales, beta shifts.
		name: "LayerNormalization",
		build: func(b *Builder) {
			x := b.Input("x", onnx.TensorProto_FLOAT, batch, Fixed(2))
			g := b.Float32("gamma", []int64{2}, []float32{2, 1})
			be := b.Float32("beta", []int64{2}, []float32{0, 10})
			b.NamedOp("LayerNormalization", "y", []string{x, g, be}, AttrInt("axis", -1), AttrFloat("epsilon", 0))
			b.Output("y", onnx.TensorProto_FLOAT, batch, Fixed(2))
		},
		inputs: func(t *testing.T) ([]string, []ort.Value) {
			return []string{"x"}, []ort.Value{tensor(t, ort.NewShape(2, 2), []float32{1, 3, 5, -5})}
		},
		shape: ort.NewShape(2, 2),
		// each row normalises to [-1, 1] (or [1, -1]) before gamma/beta.
		want: []float32{-2, 11, 2, 9},
	}, {
		// The masked-embedding pattern of the GloVe encoder:
		// Gather(E, ids) * Unsqueeze(Cast(mask), -1).
		name: "Gather*mask",
		build: func(b *Builder) {
			ids := b.Input("input_ids", onnx.TensorProto_INT64, batch, seq)
			mask := b.Input("attention_mask", onnx.TensorProto_INT64, batch, seq)
			e := b.Float32("E", []int64{3, 2}, []float32{0, 0, 1, 2, 3, 4})
			emb := b.Op("Gather", []string{e, ids})
			mf := b.Op("Cast", []string{mask}, AttrInt("to", int64(onnx.TensorProto_FLOAT)))
			axes := b.Int64(b.Unique("axes"), []int64{1}, []int64{-1})
			b.NamedOp("Mul", "out", []string{emb, b.Op("Unsqueeze", []string{mf, axes})})
			b.Output("out", onnx.TensorProto_FLOAT, batch, seq, Fixed(2))
		},
		inputs: func(t *testing.T) ([]string, []ort.Value) {
			ids := tensor(t, ort.NewShape(1, 3), []int64{2, 1, 2})
			mask := tensor(t, ort.NewShape(1, 3), []int64{1, 1, 0})
			return []string{"input_ids", "attention_mask"}, []ort.Value{ids, mask}
		},
		shape: ort.NewShape(1, 3, 2),
		want:  []float32{3, 4, 1, 2, 0, 0},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := New("test")
			tc.build(b)
			m, err := b.Build()
			if err != nil {
				t.Fatal(err)
			}
			names, inputs := tc.inputs(t)
			got, shape := runModel(t, m, names, inputs, m.Graph.Output[0].Name)
			if !shape.Equals(tc.shape) {
				t.Fatalf("shape %v, want %v", shape, tc.shape)
			}
			for i := range tc.want {
				if math.Abs(float64(got[i]-tc.want[i])) > 1e-5 {
					t.Fatalf("output %v, want %v", got, tc.want)
				}
			}
		})
	}
}
