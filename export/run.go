package export

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"retune/internal/atomicfile"
	"retune/model"
	"retune/models"
)

// Export formats accepted by Run.
const (
	FormatONNX        = "onnx"        // head alone: HeadONNX
	FormatFusedONNX   = "fused-onnx"  // encoder + head: Fused
	FormatSafetensors = "safetensors" // sentence-transformers Dense: Safetensors
)

// Formats lists the accepted formats, for usage texts and API validation.
var Formats = []string{FormatONNX, FormatFusedONNX, FormatSafetensors}

// Request describes one export of a saved head folder; the CLI and the API
// both go through Run so they resolve encoders and name files alike.
type Request struct {
	HeadDir string // folder written by model.Head.Save
	Format  string // one of Formats
	// Out is a file for FormatONNX (an existing folder receives head.onnx)
	// and a folder for the other formats.
	Out string
	// The encoder of FormatFusedONNX: EncoderDir when set (a folder, or the
	// model.onnx inside it), else ModelsDir/EncoderName, where EncoderName
	// defaults to the encoder recorded in the head and ModelsDir to
	// models.Root().
	EncoderDir  string
	EncoderName string
	ModelsDir   string
	// Overwrite lets Run replace an existing output: the ONNX file, or a
	// folder's files. Without it an existing file or non-empty folder is
	// refused (ErrOutputExists). An encoder's own files are refused either
	// way (see checkOut).
	Overwrite bool
}

// ErrOutputExists is returned for an existing output without Overwrite.
var ErrOutputExists = errors.New("output exists")

// ErrOutputRefused is matched by the errors for an output Run never writes
// over, Overwrite or not: an encoder's files, a path of the wrong kind.
var ErrOutputRefused = errors.New("output refused")

// refusal is an error that matches ErrOutputRefused, its message unchanged.
type refusal struct{ error }

func (r refusal) Is(target error) bool { return target == ErrOutputRefused }
func (r refusal) Unwrap() error        { return r.error }

func refuse(format string, args ...any) error { return refusal{fmt.Errorf(format, args...)} }

// File is one file an export wrote.
type File struct {
	Name  string `json:"name"`
	Path  string `json:"path"`
	Bytes int64  `json:"bytes"`
}

// Result reports what Run wrote.
type Result struct {
	Format  string  `json:"format"`
	Out     string  `json:"out"`
	Encoder string  `json:"encoder,omitempty"` // base encoder folder (fused only)
	Apply   string  `json:"apply"`
	Files   []File  `json:"files"`
	Seconds float64 `json:"seconds"`
	Note    string  `json:"note,omitempty"`
}

// queryNote warns that a query-only head's export encodes queries only.
const queryNote = "head apply=query: it projects queries only; keep embedding documents with the base encoder alone"

// Run loads the head folder and exports it as req asks.
func Run(ctx context.Context, req Request) (_ Result, err error) {
	start := time.Now()
	res := Result{Format: req.Format, Out: req.Out}
	if req.Out == "" {
		return res, errors.New("export: no output path")
	}
	h, meta, err := model.LoadHead(req.HeadDir)
	if err != nil {
		return res, fmt.Errorf("export: %w", err) // the model error names the folder
	}
	res.Apply = h.Config().Apply
	if res.Apply == model.ApplyQuery {
		res.Note = queryNote
	}
	if !slices.Contains(Formats, req.Format) {
		return res, fmt.Errorf("export: format %q is not one of %s", req.Format, strings.Join(Formats, ", "))
	}
	out, err := checkOut(req)
	if err != nil {
		return res, err
	}
	folder := out
	if req.Format == FormatONNX {
		folder = filepath.Dir(out)
	}
	if made, _ := atomicfile.FirstMissing(folder); made != "" { // (a path that cannot be looked at: nothing to remove)
		// The folders this export makes go again if the export fails (a
		// full disk): empty folders left behind would only mislead. A
		// parent another process filled meanwhile stays.
		defer func() {
			if err != nil {
				atomicfile.RemoveMade(folder, made)
			}
		}()
	}
	switch req.Format {
	case FormatONNX:
		path := out
		if err := HeadONNXFile(h, meta, path); err != nil {
			return res, err
		}
		res.Out = path
		res.Files, err = listFiles(filepath.Dir(path), []string{filepath.Base(path)})
	case FormatFusedONNX:
		if res.Encoder, err = resolveEncoder(req, meta); err != nil {
			return res, err
		}
		if err := Fused(ctx, res.Encoder, h, meta, out); err != nil {
			return res, err
		}
		res.Out = out
		res.Files, err = listFiles(out, fusedFiles)
	case FormatSafetensors:
		if err := Safetensors(h, meta, out); err != nil {
			return res, err
		}
		res.Out = out
		res.Files, err = listFiles(out, safetensorsFiles)
	}
	res.Seconds = time.Since(start).Seconds()
	return res, err
}

// checkOut returns where req's export goes and refuses outputs that would
// replace something unasked: an existing file or non-empty folder without
// Overwrite, and, even with it, an encoder's files (a fused export may
// replace an earlier fused export, a safetensors export an earlier one,
// nothing else holding a model: one format beside the other would leave
// two heads' models in one folder).
func checkOut(req Request) (string, error) {
	out := req.Out
	if req.Format == FormatONNX {
		// A folder (existing, or named without .onnx, as the other formats'
		// outputs are) receives head.onnx.
		st, err := os.Stat(out)
		switch {
		case err == nil && st.IsDir(), strings.HasSuffix(out, string(filepath.Separator)),
			errors.Is(err, fs.ErrNotExist) && !strings.EqualFold(filepath.Ext(out), ".onnx"):
			out = filepath.Join(out, HeadONNXName)
		case !strings.EqualFold(filepath.Ext(out), ".onnx"):
			return "", refuse("export: %s: an ONNX file name ends in .onnx (or give a folder to receive %s)", out, HeadONNXName)
		}
		if err := refuseHeadFolder(filepath.Dir(out)); err != nil {
			return "", err
		}
		// head.onnx beside an encoder's or a model's files would pass for
		// part of it (and a later import of the folder would carry it).
		if f := modelFile(filepath.Dir(out)); f != "" {
			return "", refuse("export: %s holds a model (%s); refusing to write %s among its files (give another folder)", filepath.Dir(out), f, filepath.Base(out))
		}
		if err := refuseOtherExport(filepath.Dir(out), req.Format); err != nil {
			return "", err
		}
		if ok, err := existing(out, false); !ok || err != nil {
			return out, err
		}
		if !req.Overwrite {
			return "", fmt.Errorf("export: %s: %w", out, ErrOutputExists)
		}
		return out, nil
	}
	out = filepath.Clean(out)
	if err := refuseHeadFolder(out); err != nil {
		return "", err
	}
	if ok, err := existing(out, true); !ok || err != nil {
		return out, err
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		return "", fmt.Errorf("export: %w", err)
	}
	if len(entries) == 0 {
		return out, nil
	}
	cfg, hasCfg, err := models.ReadEncoderConfig(out)
	switch {
	case err != nil:
		return "", refuse("export: %s holds an encoder.json this build cannot read (%w); refusing to replace it", out, err)
	case hasCfg && !strings.HasPrefix(cfg.Build, buildPrefix):
		return "", refuse("export: %s holds the encoder %q; refusing to replace it", out, cfg.Name)
	case !hasCfg:
		if f := modelFile(out); f != "" {
			return "", refuse("export: %s holds a model (%s); refusing to replace it", out, f)
		}
	}
	if err := refuseOtherExport(out, req.Format); err != nil {
		return "", err
	}
	if !req.Overwrite {
		return "", fmt.Errorf("export: %s is not empty: %w", out, ErrOutputExists)
	}
	return out, nil
}

// modelFiles mark a folder holding a model: an ONNX encoder, or a Hugging
// Face or sentence-transformers snapshot. An export never replaces them or
// writes beside them. Retune's own safetensors export writes
// model.safetensors and config.json too, told apart by the metadata it
// puts in the former; a fused export is told apart by its encoder.json.
var modelFiles = []string{models.ModelFile, models.TokenizerFile, "modules.json", "sentence_bert_config.json", "pytorch_model.bin", "tf_model.h5"}

// modelFile names a file of dir that shows it holds a model (other than a
// safetensors export of retune's), or returns "".
func modelFile(dir string) string {
	for _, f := range modelFiles {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return f
		}
	}
	if _, err := os.Stat(filepath.Join(dir, SafetensorsFile)); err == nil && !retuneSafetensors(filepath.Join(dir, SafetensorsFile)) {
		return SafetensorsFile
	}
	return ""
}

// refuseHeadFolder refuses to export into a trained head's folder, or a
// folder inside one, even with --force: the folder is train's (its --out),
// and a later `train --force` would refuse a head among other files.
func refuseHeadFolder(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	for d := abs; ; d = filepath.Dir(d) {
		if model.IsHeadFolder(d) {
			if d == abs {
				return refuse("export: %s holds a trained head; refusing to write an export among its files (give another folder)", dir)
			}
			return refuse("export: %s is inside the trained head's folder %s; refusing to write an export there (give a folder outside it)", dir, d)
		}
		if filepath.Dir(d) == d {
			return nil
		}
	}
}

// heldExport is the format of the export dir holds ("" for none): a fused
// one's encoder.json, a safetensors one's model.safetensors, a head.onnx.
func heldExport(dir string) string {
	if cfg, ok, err := models.ReadEncoderConfig(dir); err == nil && ok && strings.HasPrefix(cfg.Build, buildPrefix) {
		return FormatFusedONNX
	}
	if retuneSafetensors(filepath.Join(dir, SafetensorsFile)) {
		return FormatSafetensors
	}
	if _, err := os.Stat(filepath.Join(dir, HeadONNXName)); err == nil {
		return FormatONNX
	}
	return ""
}

// refuseOtherExport refuses to write a format export into dir when it
// holds an export of another format: the folder would hold two heads'
// models, Overwrite or not.
func refuseOtherExport(dir, format string) error {
	held := heldExport(dir)
	if held == "" || held == format {
		return nil
	}
	return refuse("export: %s holds %s; refusing to write %s beside it (give another folder)", dir, exportNoun(held), exportNoun(format))
}

func exportNoun(format string) string {
	if format == FormatONNX {
		return "an onnx export"
	}
	return "a " + format + " export"
}

// existing reports whether path exists, refusing one of the wrong kind.
func existing(path string, wantDir bool) (bool, error) {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("export: %w", err)
	case st.IsDir() && !wantDir:
		return false, refuse("export: %s is a folder", path)
	case !st.IsDir() && wantDir:
		return false, refuse("export: %s exists and is not a folder", path)
	}
	return true, nil
}

// resolveEncoder finds the base encoder folder of a fused export.
func resolveEncoder(req Request, meta model.HeadMeta) (string, error) {
	if req.EncoderDir != "" {
		dir := req.EncoderDir
		if st, err := os.Stat(dir); err == nil && !st.IsDir() {
			dir = filepath.Dir(dir)
		}
		return dir, nil
	}
	name, from := req.EncoderName, ""
	if name == "" {
		name, from = meta.Encoder, " (the encoder recorded in the head)"
	}
	if name == "" {
		return "", fmt.Errorf("export: head %s records no encoder name; name the encoder's folder (retune export --onnx DIR)", req.HeadDir)
	}
	if !filepath.IsLocal(name) {
		return "", fmt.Errorf("export: encoder name %q is not a folder name inside the models folder", name)
	}
	root := req.ModelsDir
	if root == "" {
		root = models.Root()
	}
	dir := filepath.Join(root, name)
	if _, err := os.Stat(filepath.Join(dir, models.ModelFile)); err != nil {
		return "", fmt.Errorf("export: encoder %q%s not found in models folder %s (install it there, or name its folder: retune export --onnx DIR): %w", name, from, root, err)
	}
	return dir, nil
}

// listFiles describes the files of dir among names (those an export
// wrote), by name; other files of the folder are not the export's.
func listFiles(dir string, names []string) ([]File, error) {
	var files []File
	for _, name := range names {
		path := filepath.Join(dir, name)
		st, err := os.Stat(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue // optional (external data)
		}
		if err != nil {
			return nil, err
		}
		files = append(files, File{Name: name, Path: path, Bytes: st.Size()})
	}
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Name, b.Name) })
	return files, nil
}
