package model_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"retune/model"
)

// FuzzLoadHead: head.json and weights.bin as POST /v1/heads stores them.
// "SUM" in head.json is replaced by the weights' real sha256, so the fuzzer
// gets past the checksum. A head that loads must save and load unchanged
// and project a unit vector to finite values (it found weights each finite
// in float32 whose projection overflowed it).
func FuzzLoadHead(f *testing.F) {
	w := func(xs ...float64) []byte {
		b := make([]byte, 8*len(xs))
		for i, x := range xs {
			binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(x))
		}
		return b
	}
	f.Add([]byte(`{"format_version":1,"config":{"d_in":2,"d_out":2,"bias":false,"rank":0,"apply":"shared","seed":0},"encoder":"glove-100d","encoder_checksum":"abc","d_in":2,"d_out":2,"created_at":"2024-01-01T00:00:00Z","weights_file":"weights.bin","weights_dtype":"float64le","weights_sha256":"SUM","num_params":4,"param_layout":[{"name":"weight","shape":[2,2]}]}`), w(1, 0, 0, 1))
	f.Add([]byte(`{"format_version":1,"config":{"d_in":2,"d_out":2,"bias":true,"rank":1,"apply":"query"},"encoder":"e","d_in":2,"d_out":2,"weights_file":"weights.bin","weights_dtype":"float64le","weights_sha256":"SUM","num_params":6,"param_layout":[{"name":"a","shape":[2,1]},{"name":"b","shape":[1,2]},{"name":"bias","shape":[2]}],"training":{"x":[1,{"y":null}]},"metrics":{"base":{"ndcg@10":0.5}}}`), w(0, 0, 1, 1, 0.5, -0.5))
	f.Add([]byte(`{"format_version":1,"config":{"d_in":3,"d_out":1,"bias":true},"d_in":3,"d_out":1,"weights_file":"weights.bin","weights_dtype":"float64le","weights_sha256":"SUM","num_params":4,"param_layout":[{"name":"weight","shape":[1,3]},{"name":"bias","shape":[1]}]}`), w(1e38, 3e38, -3.4e38, 0))
	f.Add([]byte(`{"format_version":1,"config":{"d_in":3,"d_out":1,"bias":false},"d_in":3,"d_out":1,"weights_file":"weights.bin","weights_dtype":"float64le","weights_sha256":"SUM","num_params":3,"param_layout":[{"name":"weight","shape":[1,3]}]}`), w(3e38, 3e38, 3e38))
	f.Add([]byte(`{"format_version":1,"config":{"d_in":8192,"d_out":8192,"rank":8192},"d_in":8192,"d_out":8192,"weights_file":"../weights.bin","weights_dtype":"float64le","weights_sha256":"SUM","num_params":0}`), []byte{})
	f.Fuzz(func(t *testing.T, js, weights []byte) {
		dir := shmDir(t)
		sum := sha256.Sum256(weights)
		js = bytes.ReplaceAll(js, []byte("SUM"), []byte(hex.EncodeToString(sum[:])))
		if err := os.WriteFile(filepath.Join(dir, "head.json"), js, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "weights.bin"), weights, 0o644); err != nil {
			t.Fatal(err)
		}
		h, meta, err := model.LoadHead(dir)
		if err != nil {
			return
		}
		cfg := h.Config()
		if cfg.DIn <= 0 || cfg.DOut <= 0 || cfg.DIn > model.MaxHeadDim || cfg.DOut > model.MaxHeadDim {
			t.Fatalf("loaded config %+v", cfg)
		}
		if 8*len(h.Params()) != len(weights) {
			t.Fatalf("%d params from %d bytes", len(h.Params()), len(weights))
		}
		for i, p := range h.Params() {
			if math.IsNaN(p) || math.IsInf(float64(float32(p)), 0) {
				t.Fatalf("param %d = %v", i, p)
			}
		}
		// Round trip: Save then LoadHead gives the same head.
		out := shmDir(t)
		if err := h.Save(out, meta); err != nil {
			t.Fatalf("Save of a loaded head: %v", err)
		}
		h2, meta2, err := model.LoadHead(out)
		if err != nil {
			t.Fatalf("LoadHead of a saved head: %v", err)
		}
		if h2.Config() != cfg || !slices.Equal(h2.Params(), h.Params()) || meta2.Encoder != meta.Encoder {
			t.Fatalf("round trip changed the head")
		}
		// Projecting a unit vector must give finite output (serving path).
		if cfg.DIn*cfg.DOut <= 1<<16 {
			h.Freeze()
			x := make([]float32, cfg.DIn)
			for i := range x {
				x[i] = float32(1 / math.Sqrt(float64(cfg.DIn)))
			}
			for name, y := range map[string][]float32{"Project": h.Project(x), "ProjectBatch": h.ProjectBatch([][]float32{x})[0]} {
				for i, v := range y {
					if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
						t.Fatalf("%s of a unit vector: output %d is %v (config %+v, params %v)", name, i, v, cfg, h.Params())
					}
				}
			}
		}
	})
}

// shmDir is a temp dir on tmpfs where there is one: Save fsyncs, which
// on a disk slows fuzzing to a crawl.
func shmDir(t *testing.T) string {
	d, err := os.MkdirTemp("/dev/shm", "fuzzhead-")
	if err != nil {
		return t.TempDir()
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}
