package export_test

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"retune/export"
	"retune/internal/testenv"
	"retune/model"
)

// savedHead writes a random head trained (per its metadata) on the encoder
// in encDir and returns the head folder.
func savedHead(t *testing.T, cfg model.HeadConfig, meta model.HeadMeta) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "head")
	if err := randomHead(t, cfg, 41).Save(dir, meta); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestRunFormats exports one saved head in every format through Run, the
// path the CLI and the API take, resolving the fused encoder from the models
// folder by the name recorded in the head.
func TestRunFormats(t *testing.T) {
	encDir := testenv.TinyBERT(t)
	meta := metaFor(t, baseEncoder(t, encDir))
	headDir := savedHead(t, model.HeadConfig{DIn: 32, DOut: 32, Bias: true, Apply: model.ApplyQuery}, meta)
	cases := []struct {
		format string
		out    string
		files  []string
	}{
		{export.FormatONNX, "head.onnx", []string{"head.onnx"}},
		{export.FormatFusedONNX, "fused", []string{"encoder.json", "model.onnx", "tokenizer.json"}},
		{export.FormatSafetensors, "dense", []string{"config.json", "model.safetensors"}},
	}
	for _, tc := range cases {
		t.Run(tc.format, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), tc.out)
			res, err := export.Run(context.Background(), export.Request{
				HeadDir: headDir, Format: tc.format, Out: out, ModelsDir: testenv.ModelsRoot(t),
			})
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, f := range res.Files {
				if f.Bytes <= 0 {
					t.Errorf("%s is empty", f.Name)
				}
				names = append(names, f.Name)
			}
			if strings.Join(names, ",") != strings.Join(tc.files, ",") {
				t.Errorf("files %v, want %v", names, tc.files)
			}
			if res.Apply != model.ApplyQuery || res.Note == "" {
				t.Errorf("query head: apply %q note %q; want the query-encoder note", res.Apply, res.Note)
			}
			if tc.format == export.FormatFusedONNX {
				if res.Encoder != encDir {
					t.Errorf("resolved encoder %s, want %s", res.Encoder, encDir)
				}
				// What `retune embed --onnx OUT` does.
				testenv.OpenEncoder(t, out)
			}
			t.Logf("%s: %v in %.2fs", tc.format, res.Files, res.Seconds)
		})
	}
}

// The folders an export made are removed again when the export fails: a
// probe on a full disk found empty folders left behind.
func TestRunFailureRemovesTheFolderItMade(t *testing.T) {
	encDir, meta := brokenTokenizerEncoder(t)
	headDir := savedHead(t, model.HeadConfig{DIn: 32, DOut: 32}, meta)
	parent := t.TempDir()
	out := filepath.Join(parent, "sub", "deep", "fused")
	if _, err := export.Run(context.Background(), export.Request{HeadDir: headDir, Format: export.FormatFusedONNX, Out: out, EncoderDir: encDir}); err == nil {
		t.Fatal("no error")
	}
	if entries, err := os.ReadDir(parent); err != nil || len(entries) != 0 {
		t.Errorf("the failed export left %v (%v) in %s", entries, err, parent)
	}
}

// TestRunOverwrite: with Overwrite an export replaces an earlier one; a
// path ending in a separator, or new and not named .onnx, is a folder to
// create.
func TestRunOverwrite(t *testing.T) {
	encDir := testenv.TinyBERT(t)
	meta := metaFor(t, baseEncoder(t, encDir))
	head := savedHead(t, model.HeadConfig{DIn: 32, DOut: 16}, meta)
	root := t.TempDir()
	res, err := export.Run(context.Background(), export.Request{HeadDir: head, Format: export.FormatONNX,
		Out: filepath.Join(root, "new") + string(filepath.Separator)})
	if err != nil || res.Out != filepath.Join(root, "new", export.HeadONNXName) {
		t.Fatalf("trailing separator: out %q err %v; want new/%s", res.Out, err, export.HeadONNXName)
	}
	// So is a new path not named .onnx, as the other formats take it.
	res, err = export.Run(context.Background(), export.Request{HeadDir: head, Format: export.FormatONNX,
		Out: filepath.Join(root, "exports", "scifact-onnx")})
	if err != nil || res.Out != filepath.Join(root, "exports", "scifact-onnx", export.HeadONNXName) {
		t.Fatalf("new path without .onnx: out %q err %v; want exports/scifact-onnx/%s", res.Out, err, export.HeadONNXName)
	}
	for _, format := range []string{export.FormatONNX, export.FormatFusedONNX, export.FormatSafetensors} {
		out := filepath.Join(root, format)
		if format == export.FormatONNX {
			out += ".onnx"
		}
		req := export.Request{HeadDir: head, Format: format, Out: out, EncoderDir: encDir}
		if _, err := export.Run(context.Background(), req); err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		if _, err := export.Run(context.Background(), req); !errors.Is(err, export.ErrOutputExists) {
			t.Fatalf("%s again without Overwrite: %v, want ErrOutputExists", format, err)
		}
		req.Overwrite = true
		if _, err := export.Run(context.Background(), req); err != nil {
			t.Fatalf("%s again with Overwrite: %v", format, err)
		}
	}
}

// One folder format never goes beside the other, even with Overwrite: the
// folder would hold two heads' models. What an export reports are the
// files it wrote, not the other files of its folder.
func TestRunOverwriteKeepsFormatsApart(t *testing.T) {
	encDir := testenv.TinyBERT(t)
	meta := metaFor(t, baseEncoder(t, encDir))
	head := savedHead(t, model.HeadConfig{DIn: 32, DOut: 16}, meta)
	for _, pair := range [][2]string{
		{export.FormatFusedONNX, export.FormatSafetensors}, {export.FormatSafetensors, export.FormatFusedONNX},
		{export.FormatONNX, export.FormatSafetensors}, {export.FormatONNX, export.FormatFusedONNX}, {export.FormatSafetensors, export.FormatONNX},
	} {
		first, second := pair[0], pair[1]
		t.Run(first+" then "+second, func(t *testing.T) {
			out := t.TempDir()
			if err := os.WriteFile(filepath.Join(out, "notes.txt"), []byte("keep"), 0o644); err != nil {
				t.Fatal(err)
			}
			res, err := export.Run(context.Background(), export.Request{HeadDir: head, Format: first, Out: out, EncoderDir: encDir, Overwrite: true})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range res.Files {
				if f.Name == "notes.txt" {
					t.Errorf("the export lists a file it did not write: %v", res.Files)
				}
			}
			_, err = export.Run(context.Background(), export.Request{HeadDir: head, Format: second, Out: out, EncoderDir: encDir, Overwrite: true})
			if !errors.Is(err, export.ErrOutputRefused) || !strings.Contains(err.Error(), second+" export beside it") {
				t.Fatalf("%s over %s: %v, want a refusal naming both", second, first, err)
			}
		})
	}
}

// TestRunErrors covers the failures a user can cause; each error must name
// the cause so the CLI message is actionable.
func TestRunErrors(t *testing.T) {
	encDir := testenv.TinyBERT(t)
	meta := metaFor(t, baseEncoder(t, encDir))
	good := savedHead(t, model.HeadConfig{DIn: 32, DOut: 16}, meta)
	wrongSum := meta
	wrongSum.EncoderChecksum = strings.Repeat("0", 64)
	noSum := meta
	noSum.EncoderChecksum = ""
	unknownEnc := meta
	unknownEnc.Encoder = "no-such-encoder"
	missing := filepath.Join(t.TempDir(), "no-such-head")
	cases := []struct {
		name     string
		req      func(t *testing.T) export.Request
		is       error
		contains []string
	}{
		{"unknown head dir", func(t *testing.T) export.Request {
			return export.Request{HeadDir: missing, Format: export.FormatONNX, Out: filepath.Join(t.TempDir(), "h.onnx")}
		}, nil, []string{missing}},
		{"unknown format", func(t *testing.T) export.Request {
			return export.Request{HeadDir: good, Format: "tflite", Out: t.TempDir()}
		}, nil, []string{`"tflite"`, "fused-onnx"}},
		{"no output", func(t *testing.T) export.Request {
			return export.Request{HeadDir: good, Format: export.FormatONNX}
		}, nil, []string{"output"}},
		{"encoder checksum mismatch", func(t *testing.T) export.Request {
			return export.Request{HeadDir: savedHead(t, model.HeadConfig{DIn: 32, DOut: 16}, wrongSum),
				Format: export.FormatFusedONNX, Out: filepath.Join(t.TempDir(), "f"), EncoderDir: encDir}
		}, model.ErrHeadEncoderChanged, []string{"different encoder", wrongSum.EncoderChecksum, meta.EncoderChecksum}},
		{"no encoder checksum", func(t *testing.T) export.Request {
			return export.Request{HeadDir: savedHead(t, model.HeadConfig{DIn: 32, DOut: 16}, noSum),
				Format: export.FormatFusedONNX, Out: filepath.Join(t.TempDir(), "f"), EncoderDir: encDir}
		}, model.ErrHeadEncoderMissing, []string{"no encoder checksum"}},
		{"encoder not in models folder", func(t *testing.T) export.Request {
			return export.Request{HeadDir: savedHead(t, model.HeadConfig{DIn: 32, DOut: 16}, unknownEnc),
				Format: export.FormatFusedONNX, Out: filepath.Join(t.TempDir(), "f"), ModelsDir: testenv.ModelsRoot(t)}
		}, nil, []string{`"no-such-encoder"`, testenv.ModelsRoot(t)}},
		{"head width differs from encoder", func(t *testing.T) export.Request {
			return export.Request{HeadDir: savedHead(t, model.HeadConfig{DIn: 48, DOut: 16}, meta),
				Format: export.FormatFusedONNX, Out: filepath.Join(t.TempDir(), "f"), EncoderDir: encDir}
		}, nil, []string{"48-dim", "32 wide"}},
		{"output is the encoder folder", func(t *testing.T) export.Request {
			return export.Request{HeadDir: good, Format: export.FormatFusedONNX, Out: encDir, EncoderDir: encDir, Overwrite: true}
		}, export.ErrOutputRefused, []string{`holds the encoder "bert-tiny-fixture"; refusing to replace it`}},
		{"output is another encoder's model.onnx", func(t *testing.T) export.Request {
			return export.Request{HeadDir: good, Format: export.FormatONNX, Out: filepath.Join(encDir, "model.onnx"), Overwrite: true}
		}, export.ErrOutputRefused, []string{encDir + " holds a model (model.onnx); refusing to write model.onnx among its files"}},
		{"ONNX into an encoder's folder", func(t *testing.T) export.Request {
			return export.Request{HeadDir: good, Format: export.FormatONNX, Out: encDir}
		}, export.ErrOutputRefused, []string{encDir + " holds a model (model.onnx); refusing to write head.onnx among its files"}},
		{"safetensors over a sentence-transformers snapshot", func(t *testing.T) export.Request {
			out := t.TempDir()
			for _, f := range []string{"config.json", "model.safetensors", "modules.json"} {
				os.WriteFile(filepath.Join(out, f), []byte("{}"), 0o644)
			}
			return export.Request{HeadDir: good, Format: export.FormatSafetensors, Out: out, Overwrite: true}
		}, export.ErrOutputRefused, []string{"holds a model (modules.json); refusing to replace it"}},
		{"safetensors over another tool's model.safetensors", func(t *testing.T) export.Request {
			out := t.TempDir()
			hdr := `{"__metadata__":{"format":"pt"}}`
			raw := binary.LittleEndian.AppendUint64(nil, uint64(len(hdr)))
			os.WriteFile(filepath.Join(out, "model.safetensors"), append(raw, hdr...), 0o644)
			return export.Request{HeadDir: good, Format: export.FormatSafetensors, Out: out, Overwrite: true}
		}, export.ErrOutputRefused, []string{"holds a model (model.safetensors); refusing to replace it"}},
		{"safetensors into a folder inside a trained head's", func(t *testing.T) export.Request {
			return export.Request{HeadDir: good, Format: export.FormatSafetensors, Out: filepath.Join(good, "st")}
		}, export.ErrOutputRefused, []string{"is inside the trained head's folder " + good}},
		{"ONNX file not named .onnx", func(t *testing.T) export.Request {
			return export.Request{HeadDir: good, Format: export.FormatONNX, Out: filepath.Join(good, "head.json"), Overwrite: true}
		}, export.ErrOutputRefused, []string{"an ONNX file name ends in .onnx"}},
		{"existing ONNX file", func(t *testing.T) export.Request {
			out := filepath.Join(t.TempDir(), "h.onnx")
			os.WriteFile(out, []byte("keep"), 0o644)
			return export.Request{HeadDir: good, Format: export.FormatONNX, Out: out}
		}, export.ErrOutputExists, []string{"h.onnx"}},
		{"ONNX into a trained head's folder", func(t *testing.T) export.Request {
			return export.Request{HeadDir: good, Format: export.FormatONNX, Out: good}
		}, export.ErrOutputRefused, []string{"holds a trained head"}},
		{"safetensors over a trained head's folder", func(t *testing.T) export.Request {
			return export.Request{HeadDir: good, Format: export.FormatSafetensors, Out: good, Overwrite: true}
		}, export.ErrOutputRefused, []string{"holds a trained head"}},
		{"non-empty folder", func(t *testing.T) export.Request {
			out := t.TempDir()
			os.WriteFile(filepath.Join(out, "config.json"), []byte("keep"), 0o644)
			return export.Request{HeadDir: good, Format: export.FormatSafetensors, Out: out}
		}, export.ErrOutputExists, []string{"is not empty"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := export.Run(context.Background(), tc.req(t))
			if err == nil {
				t.Fatal("no error")
			}
			t.Log(err)
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
			for _, s := range tc.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}

// TestExportersRefuseDivergedHead: NaN weights would export a model that
// returns NaN for every text.
func TestExportersRefuseDivergedHead(t *testing.T) {
	encDir := testenv.TinyBERT(t)
	meta := metaFor(t, baseEncoder(t, encDir))
	h := randomHead(t, model.HeadConfig{DIn: 32, DOut: 32}, 1)
	h.Params()[0] = math.Inf(1)
	if err := export.HeadONNX(h, meta, &strings.Builder{}); err == nil {
		t.Error("HeadONNX exported an Inf weight")
	}
	if err := export.Fused(context.Background(), encDir, h, meta, filepath.Join(t.TempDir(), "f")); err == nil {
		t.Error("Fused exported an Inf weight")
	}
}

// TestFusedHonoursCancelledContext: a cancelled export stops before writing.
func TestFusedHonoursCancelledContext(t *testing.T) {
	encDir := testenv.TinyBERT(t)
	meta := metaFor(t, baseEncoder(t, encDir))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out := filepath.Join(t.TempDir(), "f")
	err := export.Fused(ctx, encDir, randomHead(t, model.HeadConfig{DIn: 32, DOut: 32}, 1), meta, out)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if _, statErr := os.Stat(out); statErr == nil {
		t.Error("cancelled export created the output folder")
	}
}
