package onnxgraph

import (
	"fmt"
	"os"

	"github.com/advancedclimatesystems/gonnx/onnx"
	"google.golang.org/protobuf/proto"

	"retune/internal/atomicfile"
)

// Marshal serialises m deterministically, so the same model always gives the
// same bytes (fixtures and checksums rely on it).
func Marshal(m *onnx.ModelProto) ([]byte, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("onnxgraph: marshal model: %w", err)
	}
	return b, nil
}

// WriteFile writes m to path atomically: a temporary file in the same
// directory is written, fsynced and renamed over path, so readers (and a
// crash) see either the old model or the complete new one.
func WriteFile(path string, m *onnx.ModelProto) error {
	data, err := Marshal(m)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("onnxgraph: %w", err)
	}
	return nil
}

// Load reads and parses an ONNX model file.
func Load(path string) (*onnx.ModelProto, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("onnxgraph: %w", err)
	}
	m := &onnx.ModelProto{}
	if err := proto.Unmarshal(data, m); err != nil {
		return nil, fmt.Errorf("onnxgraph: parse %s: %w", path, err)
	}
	if m.Graph == nil {
		return nil, fmt.Errorf("onnxgraph: %s has no graph (not an ONNX model?)", path)
	}
	return m, nil
}
