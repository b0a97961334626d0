package models

import (
	"math"
	"runtime"
	"sync"
	"testing"

	ort "github.com/yalue/onnxruntime_go"
)

var (
	ortOnce sync.Once
	ortErr  error
)

// requireORT initialises ONNX Runtime once per test binary from
// $RETUNE_ORT_LIB or the shared models folder, and skips the test when
// neither holds the library.
func requireORT(t testing.TB) {
	t.Helper()
	lib, err := ResolveORTLib("", testRoot())
	if err != nil {
		t.Skipf("skipping: %v", err)
	}
	ortOnce.Do(func() {
		if ort.IsInitialized() {
			return
		}
		ort.SetSharedLibraryPath(lib)
		ortErr = ort.InitializeEnvironment(ort.WithLogLevelError())
	})
	if ortErr != nil {
		t.Fatalf("initialise ONNX Runtime from %s: %v", lib, ortErr)
	}
}

// runEncoder feeds a [batch, seq] int64 tensor per input name (row-major
// data) to modelPath and returns last_hidden_state and its shape.
func runEncoder(t *testing.T, modelPath string, batch, seq int, inputs map[string][]int64, order []string) ([]float32, ort.Shape) {
	t.Helper()
	opts, err := ort.NewSessionOptions()
	if err != nil {
		t.Fatal(err)
	}
	defer opts.Destroy()
	if err := opts.SetIntraOpNumThreads(runtime.NumCPU()); err != nil {
		t.Fatal(err)
	}
	sess, err := ort.NewDynamicAdvancedSession(modelPath, order, []string{"last_hidden_state"}, opts)
	if err != nil {
		t.Fatalf("load %s: %v", modelPath, err)
	}
	defer sess.Destroy()
	var in []ort.Value
	for _, name := range order {
		v, err := ort.NewTensor(ort.NewShape(int64(batch), int64(seq)), inputs[name])
		if err != nil {
			t.Fatalf("input %s: %v", name, err)
		}
		defer v.Destroy()
		in = append(in, v)
	}
	out := []ort.Value{nil}
	if err := sess.Run(in, out); err != nil {
		t.Fatalf("run %s: %v", modelPath, err)
	}
	defer out[0].Destroy()
	h := out[0].(*ort.Tensor[float32])
	return append([]float32{}, h.GetData()...), h.GetShape().Clone()
}

func maxAbsDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	m := 0.0
	for i := range a {
		d := float64(a[i] - b[i])
		if d < 0 {
			d = -d
		}
		m = max(m, d)
	}
	return m
}

func toInt64(xs []int) []int64 {
	out := make([]int64, len(xs))
	for i, x := range xs {
		out[i] = int64(x)
	}
	return out
}
