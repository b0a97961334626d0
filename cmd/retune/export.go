package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"retune/export"
	"retune/model"
)

// runExport writes a saved head in a format other tools load:
//
//	retune export --head HEAD_DIR --format onnx|fused-onnx|safetensors --out PATH
//	              [--model NAME | --onnx DIR] [--models DIR] [--ort-lib PATH]
//
// fused-onnx needs the base encoder: --onnx DIR, else --model NAME from the
// models folder, else the encoder recorded in the head. The head's encoder
// checksum must match that folder. The fused folder is then opened like any
// encoder (model.Open) and a probe text embedded, so a broken export fails
// here rather than at `retune embed --onnx PATH`; --verify=false skips that.
func runExport(ctx context.Context, args []string) error {
	fs := newFlags("export", "--head DIR --format onnx|fused-onnx|safetensors --out PATH",
		"Writes a trained head in a format other tools load: the head as ONNX, the encoder and head fused into one ONNX encoder, or safetensors (a sentence-transformers Dense layer). fused-onnx takes its encoder from --onnx, else --model, else the one the head was trained on.")
	var ef encoderFlags
	ef.register(fs, "") // empty: the head's own encoder
	headDir := fs.String("head", "", "head `folder` (what retune train --out wrote)")
	format := fs.String("format", "", "export format: "+strings.Join(export.Formats, " | "))
	out := fs.String("out", "", "output: a .onnx file, or a folder to receive head.onnx, for onnx; a folder for fused-onnx and safetensors")
	verify := fs.Bool("verify", true, "fused-onnx: open the export with ONNX Runtime and embed a probe text")
	force := fs.Bool("force", false, "replace an existing output file, or the files of a non-empty output folder (never an encoder's or a model's)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *headDir == "" || *format == "" || *out == "" {
		return usageError{fmt.Errorf("--head, --format and --out are required (formats: %s)", strings.Join(export.Formats, ", "))}
	}
	if !slices.Contains(export.Formats, *format) {
		return usageError{fmt.Errorf("--format %q: use one of %s", *format, strings.Join(export.Formats, ", "))}
	}
	if flagSet(fs, "blas") {
		return usageError{errors.New("--blas chooses how training and head projections multiply matrices; export multiplies none")}
	}
	if *format != export.FormatFusedONNX && (ef.onnx != "" || ef.name != "") {
		return usageError{fmt.Errorf("--onnx and --model choose the base encoder of a fused-onnx export; format %s exports the head alone", *format)}
	}
	if err := mustExist("head", *headDir, "folder"); err != nil {
		return err
	}
	if ef.onnx == "" && ef.name != "" {
		if _, err := ef.installedDir(); err != nil {
			return err
		}
	}
	if *format == export.FormatFusedONNX && *verify {
		// Checked before the export is written, not after.
		if err := ef.init(); err != nil {
			return fmt.Errorf("verify export (pass --verify=false to skip): %w", err)
		}
	}
	encDir, err := ef.onnxFolder()
	if err != nil {
		return err
	}
	res, err := export.Run(ctx, export.Request{
		HeadDir:     *headDir,
		Format:      *format,
		Out:         *out,
		EncoderDir:  encDir,
		EncoderName: ef.name,
		ModelsDir:   ef.modelsFolder.Get(),
		Overwrite:   *force,
	})
	if errors.Is(err, export.ErrOutputExists) {
		return usageError{fmt.Errorf("%w; pass --force to replace it", err)}
	}
	if errors.Is(err, export.ErrOutputRefused) {
		return usageError{err}
	}
	if err != nil {
		return err
	}
	if res.Format == export.FormatFusedONNX && *verify {
		if err := verifyFused(ctx, &ef.runtimeFlags, res.Out); err != nil {
			return withHint(err, fmt.Sprintf("the export in %s is written but not verified: rerun with --force to write and verify it again", res.Out))
		}
	}
	if res.Note != "" {
		fmt.Fprintln(os.Stderr, "note:", res.Note)
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

// verifyFused loads the fused folder exactly as `retune embed --onnx` would.
func verifyFused(ctx context.Context, rf *runtimeFlags, dir string) error {
	if err := rf.init(); err != nil {
		return fmt.Errorf("verify export (pass --verify=false to skip): %w", err)
	}
	enc, err := model.Open(ctx, dir)
	if err != nil {
		return fmt.Errorf("verify export: %w", err)
	}
	defer enc.Close()
	if _, err := enc.Embed(ctx, []string{"retune export probe"}); err != nil {
		return fmt.Errorf("verify export: %w", err)
	}
	return nil
}
