package models

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func validConfig() EncoderConfig {
	return EncoderConfig{
		Name: "enc", FormatVersion: EncoderFormatVersion, Pooling: PoolingCLS, Normalize: true,
		MaxLength: 64, Dim: 8, Inputs: []string{"input_ids"}, Output: "last_hidden_state",
		Provenance: map[string]any{"source": "test"},
	}
}

func TestEncoderConfigRoundTrip(t *testing.T) {
	dir := t.TempDir()
	if _, ok, err := ReadEncoderConfig(dir); ok || err != nil {
		t.Fatalf("missing encoder.json: present=%v err=%v, want false, nil", ok, err)
	}
	want := validConfig()
	if err := writeEncoderConfig(dir, want); err != nil {
		t.Fatal(err)
	}
	got, ok, err := ReadEncoderConfig(dir)
	if !ok || err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("read back %+v (present=%v, err=%v), want %+v", got, ok, err, want)
	}
}

func TestReadEncoderConfigRejectsBadFiles(t *testing.T) {
	cases := []struct{ name, json, want string }{
		{"not JSON", `{"name":`, "unexpected end"},
		{"unknown pooling", `{"format_version":1,"pooling":"attention","dim":8,"max_length":8}`, `pooling "attention"`},
		{"future format", `{"format_version":2,"pooling":"mean","dim":8,"max_length":8}`, "format_version 2"},
		{"no dim", `{"format_version":1,"pooling":"mean","max_length":8}`, "dim 0"},
		{"no max length", `{"format_version":1,"pooling":"mean","dim":8}`, "max_length 0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, ConfigFile), []byte(tc.json), 0o644)
			_, ok, err := ReadEncoderConfig(dir)
			if !ok || err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("present=%v err=%v, want present with an error containing %q", ok, err, tc.want)
			}
		})
	}
}

func TestUpToDate(t *testing.T) {
	dir := t.TempDir()
	model := []byte("model bytes")
	os.WriteFile(filepath.Join(dir, ModelFile), model, 0o644)
	os.WriteFile(filepath.Join(dir, TokenizerFile), []byte("{}"), 0o644)
	cfg := validConfig()
	cfg.Build, cfg.ModelSHA256, cfg.ModelSize = "b/1", sha256Hex(model), int64(len(model))
	if err := writeEncoderConfig(dir, cfg); err != nil {
		t.Fatal(err)
	}
	if !upToDate(dir, "b/1") {
		t.Fatal("complete folder is not up to date")
	}
	if upToDate(dir, "b/2") {
		t.Fatal("folder from another build version counts as up to date")
	}
	os.WriteFile(filepath.Join(dir, ModelFile), model[:4], 0o644)
	if upToDate(dir, "b/1") {
		t.Fatal("folder whose model.onnx changed size counts as up to date")
	}
	os.WriteFile(filepath.Join(dir, ModelFile), model, 0o644)

	// With external data recorded, the data file must be there at its size.
	cfg.DataSize = 8
	if err := writeEncoderConfig(dir, cfg); err != nil {
		t.Fatal(err)
	}
	if upToDate(dir, "b/1") {
		t.Fatal("folder missing its recorded model.onnx.data counts as up to date")
	}
	os.WriteFile(filepath.Join(dir, DataFile), make([]byte, 7), 0o644)
	if upToDate(dir, "b/1") {
		t.Fatal("folder whose model.onnx.data changed size counts as up to date")
	}
	os.WriteFile(filepath.Join(dir, DataFile), make([]byte, 8), 0o644)
	if !upToDate(dir, "b/1") {
		t.Fatal("complete folder with external data is not up to date")
	}

	os.Remove(filepath.Join(dir, TokenizerFile))
	if upToDate(dir, "b/1") {
		t.Fatal("folder without tokenizer.json counts as up to date")
	}
	if err := invalidate(dir); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := ReadEncoderConfig(dir); ok {
		t.Fatal("invalidate left encoder.json")
	}
	if err := invalidate(dir); err != nil {
		t.Fatalf("invalidate of an already invalid folder: %v", err)
	}
}
