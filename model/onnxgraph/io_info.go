package onnxgraph

import (
	"fmt"
	"os"

	"github.com/advancedclimatesystems/gonnx/onnx"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// Field numbers in onnx.proto: ModelProto.graph, GraphProto.input/output.
const (
	modelGraphField  = 7
	graphInputField  = 11
	graphOutputField = 12
)

// ReadIO returns a model file's graph inputs and outputs without decoding
// its initializers: it walks the protobuf wire format and unmarshals only
// the small ValueInfoProto messages. Opening an encoder needs its I/O names
// before creating the session, and decoding a 140 MB model (or letting
// onnxruntime build a second session for it) costs seconds.
func ReadIO(path string) (inputs, outputs []*onnx.ValueInfoProto, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	graph, err := field(data, modelGraphField)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	if graph == nil {
		return nil, nil, fmt.Errorf("%s: no graph in the model", path)
	}
	for len(graph) > 0 {
		num, typ, n := protowire.ConsumeTag(graph)
		if n < 0 {
			return nil, nil, fmt.Errorf("%s: %w", path, protowire.ParseError(n))
		}
		graph = graph[n:]
		if typ == protowire.BytesType && (num == graphInputField || num == graphOutputField) {
			b, m := protowire.ConsumeBytes(graph)
			if m < 0 {
				return nil, nil, fmt.Errorf("%s: %w", path, protowire.ParseError(m))
			}
			vi := &onnx.ValueInfoProto{}
			if err := proto.Unmarshal(b, vi); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", path, err)
			}
			if num == graphInputField {
				inputs = append(inputs, vi)
			} else {
				outputs = append(outputs, vi)
			}
			graph = graph[m:]
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, graph)
		if m < 0 {
			return nil, nil, fmt.Errorf("%s: %w", path, protowire.ParseError(m))
		}
		graph = graph[m:]
	}
	return inputs, outputs, nil
}

// field returns the bytes of the last occurrence of a length-delimited field.
func field(msg []byte, want protowire.Number) ([]byte, error) {
	var out []byte
	for len(msg) > 0 {
		num, typ, n := protowire.ConsumeTag(msg)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		msg = msg[n:]
		if num == want && typ == protowire.BytesType {
			b, m := protowire.ConsumeBytes(msg)
			if m < 0 {
				return nil, protowire.ParseError(m)
			}
			out = b
			msg = msg[m:]
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, msg)
		if m < 0 {
			return nil, protowire.ParseError(m)
		}
		msg = msg[m:]
	}
	return out, nil
}

// LastDim returns a value's last dimension (0 when symbolic or absent) and rank.
func LastDim(vi *onnx.ValueInfoProto) (last int64, rank int) {
	tt := vi.GetType().GetTensorType()
	dims := tt.GetShape().GetDim()
	if len(dims) == 0 {
		return 0, 0
	}
	return dims[len(dims)-1].GetDimValue(), len(dims)
}
