package export_test

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"retune/export"
	"retune/model"
)

// stTensorInfo is a header record, parsed here from the raw bytes
// independently of the writer.
type stTensorInfo struct {
	DType       string  `json:"dtype"`
	Shape       []int   `json:"shape"`
	DataOffsets []int64 `json:"data_offsets"`
}

// readSafetensors parses a safetensors file by the format's rules and fails
// the test on any violation; it returns the tensors' float32 values.
func readSafetensors(t *testing.T, path string) (map[string]stTensorInfo, map[string]string, map[string][]float32) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) < 8 {
		t.Fatalf("%d bytes: no header length", len(raw))
	}
	n := binary.LittleEndian.Uint64(raw[:8])
	if n%8 != 0 {
		t.Errorf("header length %d is not a multiple of 8: the buffer would start unaligned", n)
	}
	if 8+n > uint64(len(raw)) {
		t.Fatalf("header length %d exceeds the file (%d bytes)", n, len(raw))
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw[8:8+n], &fields); err != nil {
		t.Fatalf("header is not a JSON object: %v", err)
	}
	var md map[string]string
	infos := map[string]stTensorInfo{}
	for k, v := range fields {
		if k == "__metadata__" {
			if err := json.Unmarshal(v, &md); err != nil {
				t.Fatalf("__metadata__ is not string→string: %v", err)
			}
			continue
		}
		var info stTensorInfo
		if err := json.Unmarshal(v, &info); err != nil {
			t.Fatalf("tensor %s: %v", k, err)
		}
		infos[k] = info
	}
	buf := raw[8+n:]
	names := make([]string, 0, len(infos))
	for k := range infos {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool { return infos[names[i]].DataOffsets[0] < infos[names[j]].DataOffsets[0] })
	var pos int64
	values := map[string][]float32{}
	for _, name := range names {
		info := infos[name]
		if info.DType != "F32" {
			t.Errorf("%s dtype %q, want F32", name, info.DType)
		}
		if len(info.DataOffsets) != 2 || info.DataOffsets[0] != pos {
			t.Fatalf("%s data_offsets %v: tensors must be contiguous from %d", name, info.DataOffsets, pos)
		}
		count := int64(1)
		for _, d := range info.Shape {
			count *= int64(d)
		}
		if info.DataOffsets[1]-info.DataOffsets[0] != 4*count {
			t.Fatalf("%s: %d bytes for shape %v, want %d", name, info.DataOffsets[1]-info.DataOffsets[0], info.Shape, 4*count)
		}
		vals := make([]float32, count)
		for i := range vals {
			vals[i] = math.Float32frombits(binary.LittleEndian.Uint32(buf[info.DataOffsets[0]+4*int64(i):]))
		}
		values[name] = vals
		pos = info.DataOffsets[1]
	}
	if pos != int64(len(buf)) {
		t.Errorf("tensors cover %d bytes of a %d-byte buffer", pos, len(buf))
	}
	return infos, md, values
}

func TestSafetensorsLayout(t *testing.T) {
	cases := []struct {
		name string
		cfg  model.HeadConfig
	}{
		{"square+bias", model.HeadConfig{DIn: 7, DOut: 7, Bias: true}},
		{"5→3 no bias", model.HeadConfig{DIn: 5, DOut: 3, Seed: 1}},
		{"3→9+bias", model.HeadConfig{DIn: 3, DOut: 9, Bias: true, Seed: 2}},
		{"square+bias/query", model.HeadConfig{DIn: 4, DOut: 4, Bias: true, Apply: model.ApplyQuery, Seed: 5}},
		{"low-rank 2+bias", model.HeadConfig{DIn: 6, DOut: 6, Rank: 2, Bias: true, Seed: 3}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := randomHead(t, tc.cfg, uint64(200+i))
			meta := model.HeadMeta{Encoder: "glove-100d", EncoderChecksum: "cafe01"}
			dir := filepath.Join(t.TempDir(), "dense")
			if err := export.Safetensors(h, meta, dir); err != nil {
				t.Fatal(err)
			}
			infos, md, values := readSafetensors(t, filepath.Join(dir, export.SafetensorsFile))
			cfg := h.Config()
			wantNames := []string{"linear.weight"}
			if cfg.Bias {
				wantNames = append(wantNames, "linear.bias")
			}
			var names []string
			for k := range infos {
				names = append(names, k)
			}
			slices.Sort(names)
			slices.Sort(wantNames)
			if !slices.Equal(names, wantNames) {
				t.Fatalf("tensors %v, want %v", names, wantNames)
			}
			if s := infos["linear.weight"].Shape; !slices.Equal(s, []int{cfg.DOut, cfg.DIn}) {
				t.Errorf("linear.weight shape %v, want [%d %d] (nn.Linear: [out, in])", s, cfg.DOut, cfg.DIn)
			}
			w := h.Weight()
			for r := 0; r < cfg.DOut; r++ {
				for c := 0; c < cfg.DIn; c++ {
					if got, want := values["linear.weight"][r*cfg.DIn+c], float32(w.At(r, c)); got != want {
						t.Fatalf("linear.weight[%d,%d] = %v, want %v", r, c, got, want)
					}
				}
			}
			if cfg.Bias {
				if s := infos["linear.bias"].Shape; !slices.Equal(s, []int{cfg.DOut}) {
					t.Errorf("linear.bias shape %v, want [%d]", s, cfg.DOut)
				}
				for j, b := range h.Bias() {
					if got := values["linear.bias"][j]; got != float32(b) {
						t.Fatalf("linear.bias[%d] = %v, want %v", j, got, b)
					}
				}
			}
			for k, want := range map[string]string{"format": "pt", "encoder": "glove-100d", "encoder_checksum": "cafe01", "apply": cfg.Apply} {
				if md[k] != want {
					t.Errorf("__metadata__ %s = %q, want %q", k, md[k], want)
				}
			}
			raw, err := os.ReadFile(filepath.Join(dir, export.DenseConfigFile))
			if err != nil {
				t.Fatal(err)
			}
			var dense map[string]any
			if err := json.Unmarshal(raw, &dense); err != nil {
				t.Fatal(err)
			}
			want := map[string]any{"in_features": float64(cfg.DIn), "out_features": float64(cfg.DOut), "bias": cfg.Bias,
				"activation_function": "torch.nn.modules.linear.Identity"}
			for k, v := range want {
				if dense[k] != v {
					t.Errorf("config.json %s = %v, want %v", k, dense[k], v)
				}
			}
			if len(dense) != len(want) {
				t.Errorf("config.json has keys %v, want exactly %v", dense, want)
			}
		})
	}
}

func TestSafetensorsRefusesDivergedHead(t *testing.T) {
	h := randomHead(t, model.HeadConfig{DIn: 3, DOut: 3}, 1)
	h.Params()[4] = math.NaN()
	if err := export.Safetensors(h, model.HeadMeta{}, t.TempDir()); err == nil {
		t.Fatal("a head with a NaN parameter was exported")
	}
}
