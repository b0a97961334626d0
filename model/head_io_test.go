package model

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func headTestMeta() HeadMeta {
	return HeadMeta{
		Encoder:         "bge-small-en-v1.5",
		EncoderChecksum: strings.Repeat("ab", 32),
		Training:        map[string]any{"lr": 1e-3, "epochs": 3.0, "loss": "infonce"},
		Metrics:         map[string]any{"ndcg@10": 0.4321},
		CreatedAt:       time.Date(2025, 11, 25, 19, 34, 0, 123456789, time.UTC),
	}
}

func TestHeadSaveLoadRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(20, 21))
	for _, tc := range headTestConfigs {
		t.Run(tc.name, func(t *testing.T) {
			h := headMust(t, tc.cfg)
			headRandomizeParams(h, rng)
			dir := filepath.Join(t.TempDir(), "heads", "v1") // parents do not exist yet
			meta := headTestMeta()
			if err := h.Save(dir, meta); err != nil {
				t.Fatalf("Save: %v", err)
			}
			got, gotMeta, err := LoadHead(dir)
			if err != nil {
				t.Fatalf("LoadHead: %v", err)
			}
			if got.Config() != h.Config() {
				t.Errorf("config = %+v, want %+v", got.Config(), h.Config())
			}
			if !headEqualFloats(got.Params(), h.Params()) {
				t.Errorf("params differ after round trip:\n got %v\nwant %v", got.Params(), h.Params())
			}
			if gotMeta.Encoder != meta.Encoder || gotMeta.EncoderChecksum != meta.EncoderChecksum ||
				!gotMeta.CreatedAt.Equal(meta.CreatedAt) ||
				!reflect.DeepEqual(gotMeta.Training, meta.Training) || !reflect.DeepEqual(gotMeta.Metrics, meta.Metrics) {
				t.Errorf("meta = %+v, want %+v", gotMeta, meta)
			}
			if len(gotMeta.WeightsSHA256) != 64 {
				t.Errorf("WeightsSHA256 = %q, want 64 hex digits", gotMeta.WeightsSHA256)
			}
			// The loaded head must compute, not just store, the same thing.
			v := headRandVec(rng, tc.cfg.DIn)
			if a, b := got.Project(v), h.Project(v); !reflect.DeepEqual(a, b) {
				t.Errorf("Project differs after round trip: %v vs %v", a, b)
			}
		})
	}
}

func TestHeadSaveOverwritesAndCleansUp(t *testing.T) {
	dir := t.TempDir()
	h := headMust(t, HeadConfig{DIn: 3, DOut: 3, Bias: true})
	if err := h.Save(dir, HeadMeta{}); err != nil {
		t.Fatalf("first Save: %v", err)
	}
	h.Params()[0] = 2.5
	if err := h.Save(dir, HeadMeta{}); err != nil {
		t.Fatalf("second Save: %v", err)
	}
	got, meta, err := LoadHead(dir)
	if err != nil {
		t.Fatalf("LoadHead: %v", err)
	}
	if got.Params()[0] != 2.5 {
		t.Errorf("loaded params[0] = %v, want the re-saved 2.5", got.Params()[0])
	}
	if meta.CreatedAt.IsZero() {
		t.Error("CreatedAt was not defaulted to the save time")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{"head.json", "weights.bin"}; !reflect.DeepEqual(names, want) {
		t.Errorf("folder holds %v, want exactly %v (temporary files left behind?)", names, want)
	}
}

func TestHeadSaveRejectsNonFinite(t *testing.T) {
	h := headMust(t, HeadConfig{DIn: 2, DOut: 2})
	h.Params()[1] = math.NaN()
	dir := filepath.Join(t.TempDir(), "h")
	if err := h.Save(dir, HeadMeta{}); err == nil {
		t.Fatal("Save accepted a NaN parameter")
	}
}

func TestHeadLoadCorruptWeights(t *testing.T) {
	dir := headSaved(t)
	path := filepath.Join(dir, "weights.bin")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)/2] ^= 0x01 // one flipped bit, same size
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err = LoadHead(dir)
	if !errors.Is(err, ErrHeadChecksum) {
		t.Fatalf("LoadHead error = %v, want ErrHeadChecksum", err)
	}
	if !strings.Contains(err.Error(), "weights.bin checksum mismatch: file corrupted or edited") {
		t.Errorf("error %q does not say which file is corrupted", err)
	}
	if errors.Is(err, ErrHeadRefused) {
		t.Error("damaged files are marked ErrHeadRefused, which is for contents this build does not accept")
	}
}

// TestHeadLoadRejectsBadHeadJSON edits one field of head.json at a time.
func TestHeadLoadRejectsBadHeadJSON(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(doc map[string]any)
		target error // nil: any error will do, only the message is for humans
	}{
		{"future format version", func(d map[string]any) { d["format_version"] = 2 }, ErrHeadFormatVersion},
		{"missing format version", func(d map[string]any) { delete(d, "format_version") }, ErrHeadFormatVersion},
		{"d_out disagrees with config", func(d map[string]any) { d["d_out"] = 4 }, nil},
		{"config dims changed", func(d map[string]any) {
			cfg := d["config"].(map[string]any)
			cfg["d_out"], cfg["d_in"] = 2.0, 2.0
			d["d_out"], d["d_in"] = 2.0, 2.0
		}, nil},
		{"num_params disagrees", func(d map[string]any) { d["num_params"] = 1 }, nil},
		{"layout disagrees", func(d map[string]any) {
			d["param_layout"] = []any{map[string]any{"name": "weight", "shape": []any{3.0, 3.0}}}
		}, nil},
		{"invalid config", func(d map[string]any) { d["config"].(map[string]any)["apply"] = "docs" }, nil},
		{"unknown dtype", func(d map[string]any) { d["weights_dtype"] = "float32le" }, nil},
		{"weights outside folder", func(d map[string]any) { d["weights_file"] = "../weights.bin" }, nil},
		{"dimensions whose product wraps", func(d map[string]any) {
			// 2^62 × 3 parameters wrap to a small int64; nothing may be
			// allocated or sliced from such a config.
			const huge = float64(1 << 62)
			d["config"].(map[string]any)["d_out"], d["d_out"], d["num_params"] = huge, huge, 0.0
			d["param_layout"] = []any{map[string]any{"name": "weight", "shape": []any{huge, 3.0}}}
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := headSaved(t)
			headEditJSON(t, dir, tt.edit)
			_, _, err := LoadHead(dir)
			if err == nil {
				t.Fatal("LoadHead accepted the edited head.json")
			}
			if !errors.Is(err, ErrHeadRefused) {
				t.Errorf("LoadHead error = %v, not marked ErrHeadRefused", err)
			}
			if tt.target != nil && !errors.Is(err, tt.target) {
				t.Fatalf("LoadHead error = %v, want %v", err, tt.target)
			}
		})
	}
}

// A head.json that is not what Save writes is refused in JSON's terms,
// the field or byte named, never Go's ("cannot unmarshal bool into Go
// value of type model.headFile"): the messages reach API clients and CLI
// users. A byte-order mark is ignored, as in JSON bodies and datasets.
func TestHeadLoadBadHeadJSONMessages(t *testing.T) {
	tests := []struct {
		name string
		edit func(saved string) string
		want string // "" when it loads
	}{
		{"a boolean", func(string) string { return "true" }, "head.json must be a JSON object, not a boolean"},
		{"an array", func(string) string { return " [1] " }, "head.json must be a JSON object, not an array"},
		{"null", func(string) string { return "null" }, "head.json must be a JSON object, not null"},
		{"empty", func(string) string { return "\n" }, "head.json is empty: it must be a JSON object"},
		{"d_in an array", func(s string) string { return headSetField(t, s, "d_in", []any{3}) }, `head.json: field "d_in" must be an integer, not an array`},
		{"d_in a fraction", func(s string) string { return headSetField(t, s, "d_in", 1.5) }, `head.json: field "d_in" must be an integer, not 1.5`},
		{"config.d_out a string", func(s string) string {
			return strings.Replace(s, `"d_out": 3,`, `"d_out": "3",`, 1) // config's comes first
		}, `head.json: field "config.d_out" must be an integer, not a string`},
		{"a shape of strings", func(s string) string {
			return headSetField(t, s, "param_layout", []any{map[string]any{"name": "weight", "shape": []any{3, 3}}, map[string]any{"name": "bias", "shape": []any{"3"}}})
		}, `head.json: field "param_layout[1].shape[0]" must be an integer, not a string`},
		{"training an array", func(s string) string { return headSetField(t, s, "training", []any{}) }, `head.json: field "training" must be an object, not an array`},
		{"created_at not a time", func(s string) string { return headSetField(t, s, "created_at", "yesterday") },
			`head.json: field "created_at" must be a time in RFC 3339 form, such as "2025-11-25T19:34:00Z"`},
		{"created_at a number", func(s string) string { return headSetField(t, s, "created_at", 5) }, `field "created_at" must be a time in RFC 3339 form`},
		{"syntax error", func(string) string { return `{"d_in": 3,}` }, "head.json is not valid JSON at byte 12: invalid character '}' looking for beginning of object key string"},
		{"cut short", func(s string) string { return s[:20] }, "head.json is not valid JSON at byte 20: unexpected end of JSON input"},
		{"a syntax error after a byte-order mark", func(string) string { return "\ufeff{,}" }, "head.json is not valid JSON at byte 5: invalid character ','"},
		{"a layout of another head", func(s string) string {
			return headSetField(t, s, "param_layout", []any{map[string]any{"name": "weight", "shape": []any{3, 3}}, map[string]any{"name": "bias", "shape": []any{3}}, map[string]any{}})
		}, `head.json: param_layout lists weight [3 3], bias [3], "" []; the config implies weight [3 3], bias [3]`},
		{"no layout", func(s string) string { return headSetField(t, s, "param_layout", nil) }, "param_layout lists no tensors; the config implies weight [3 3], bias [3]"},
		{"a layout past the shown bound", func(s string) string {
			long := map[string]any{"name": strings.Repeat("w", 65), "shape": []any{1, 2, 3, 4, 5, 6}}
			return headSetField(t, s, "param_layout", []any{long, long, long, long, long, long})
		}, "param_layout lists " + strings.Repeat("w", 64) + "… [1 2 3 4 … (6 dimensions)]"},
		{"a byte-order mark", func(s string) string { return "\ufeff" + s }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := headSaved(t)
			path := filepath.Join(dir, "head.json")
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(tt.edit(string(raw))), 0o644); err != nil {
				t.Fatal(err)
			}
			_, _, err = LoadHead(dir)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("LoadHead: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("LoadHead error = %v, want %q", err, tt.want)
			}
			for _, goWords := range []string{"Go value", "Go struct", "headFile", "model.", "{"} {
				if strings.Contains(err.Error(), goWords) {
					t.Errorf("the message shows Go's %q: %v", goWords, err)
				}
			}
		})
	}
}

// headSetField sets one top-level field of head.json text.
func headSetField(t *testing.T, headJSON, key string, v any) string {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal([]byte(headJSON), &doc); err != nil {
		t.Fatal(err)
	}
	doc[key] = v
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A weight past float32's range is refused: projections and exports run in
// float32, where it would turn embeddings into NaN.
func TestHeadLoadRejectsFloat32Overflow(t *testing.T) {
	dir := headSaved(t)
	path := filepath.Join(dir, "weights.bin")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	binary.LittleEndian.PutUint64(raw[8:], math.Float64bits(1e39))
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(raw)
	headEditJSON(t, dir, func(d map[string]any) { d["weights_sha256"] = hex.EncodeToString(sum[:]) })
	if _, _, err := LoadHead(dir); !errors.Is(err, ErrHeadRefused) || !strings.Contains(err.Error(), "parameter 1 is 1e+39, not a finite float32") {
		t.Fatalf("LoadHead error = %v, want parameter 1 refused", err)
	}
}

// Weights each finite in float32 can still overflow it in a projection
// (3e38·x summed over a row): LoadHead refuses a row, of the full or the
// low-rank form's effective W, or a bias, whose norm passes maxHeadRowNorm,
// and a head under it projects to finite values.
func TestHeadLoadRejectsOverflowingRows(t *testing.T) {
	tests := []struct {
		name    string
		cfg     HeadConfig
		set     func(h *Head)
		wantErr string // "" when it loads
	}{
		{"full, rows of 3e38", HeadConfig{DIn: 3, DOut: 3}, func(h *Head) {
			for i := range h.Params() {
				h.Params()[i] = 3e38
			}
		}, "row 0 of the projection has norm 5.19615"},
		{"low rank, A·B past float32", HeadConfig{DIn: 3, DOut: 3, Rank: 1}, func(h *Head) {
			for i := range h.Params() {
				h.Params()[i] = 1e30
			}
		}, "row 0 of the projection has norm"},
		{"bias", HeadConfig{DIn: 3, DOut: 3, Bias: true}, func(h *Head) { h.Bias()[2] = 2e18 }, "the bias has norm 2e+18"},
		{"rows just under the bound", HeadConfig{DIn: 3, DOut: 3, Bias: true}, func(h *Head) {
			for i := range h.Params() {
				h.Params()[i] = 5e17
			}
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := headMust(t, tt.cfg)
			tt.set(h)
			dir := t.TempDir()
			if err := h.Save(dir, headTestMeta()); err != nil {
				t.Fatal(err)
			}
			got, _, err := LoadHead(dir)
			if tt.wantErr != "" {
				if !errors.Is(err, ErrHeadRefused) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("LoadHead error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range got.ProjectBatch([][]float32{{1e3, -1e3, 1e3}}) {
				for j, x := range v {
					if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
						t.Fatalf("output %d is %v", j, x)
					}
				}
			}
		})
	}
}

func TestHeadLoadMissingFolder(t *testing.T) {
	_, _, err := LoadHead(filepath.Join(t.TempDir(), "nope"))
	if !errors.Is(err, os.ErrNotExist) || errors.Is(err, ErrHeadRefused) {
		t.Fatalf("LoadHead error = %v, want os.ErrNotExist", err)
	}
}

func TestHeadVerifyEncoder(t *testing.T) {
	meta := headTestMeta()
	tests := []struct {
		name     string
		meta     HeadMeta
		checksum string
		target   error
	}{
		{"same", meta, meta.EncoderChecksum, nil},
		{"same, upper-case hex", meta, strings.ToUpper(meta.EncoderChecksum), nil},
		{"different encoder", meta, strings.Repeat("cd", 32), ErrHeadEncoderChanged},
		{"nothing recorded", HeadMeta{Encoder: "x"}, meta.EncoderChecksum, ErrHeadEncoderMissing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifyEncoder(tt.meta, tt.checksum)
			if tt.target == nil {
				if err != nil {
					t.Fatalf("VerifyEncoder: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.target) {
				t.Fatalf("VerifyEncoder error = %v, want %v", err, tt.target)
			}
		})
	}
}

// headSaved writes a small 3×3 biased head and returns its folder.
func headSaved(t *testing.T) string {
	t.Helper()
	h := headMust(t, HeadConfig{DIn: 3, DOut: 3, Bias: true})
	headRandomizeParams(h, rand.New(rand.NewPCG(30, 31)))
	dir := t.TempDir()
	if err := h.Save(dir, headTestMeta()); err != nil {
		t.Fatalf("Save: %v", err)
	}
	if _, _, err := LoadHead(dir); err != nil {
		t.Fatalf("LoadHead of an unmodified head: %v", err)
	}
	return dir
}

func headEditJSON(t *testing.T, dir string, edit func(map[string]any)) {
	t.Helper()
	path := filepath.Join(dir, "head.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	edit(doc)
	if raw, err = json.Marshal(doc); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
}
