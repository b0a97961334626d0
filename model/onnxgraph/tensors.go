package onnxgraph

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/advancedclimatesystems/gonnx/onnx"
)

// elemSize is the byte width of the fixed-size element types we write.
func elemSize(t onnx.TensorProto_DataType) int {
	switch t {
	case onnx.TensorProto_FLOAT, onnx.TensorProto_INT32, onnx.TensorProto_UINT32:
		return 4
	case onnx.TensorProto_INT64, onnx.TensorProto_UINT64, onnx.TensorProto_DOUBLE:
		return 8
	case onnx.TensorProto_FLOAT16, onnx.TensorProto_BFLOAT16, onnx.TensorProto_INT16, onnx.TensorProto_UINT16:
		return 2
	case onnx.TensorProto_INT8, onnx.TensorProto_UINT8, onnx.TensorProto_BOOL:
		return 1
	}
	return 0
}

// NumElements is the product of dims (1 for a scalar), or an error for a
// negative dimension.
func NumElements(dims []int64) (int64, error) {
	n := int64(1)
	for _, d := range dims {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension in %v", dims)
		}
		n *= d
	}
	return n, nil
}

// RawTensor wraps little-endian bytes as a tensor after checking that their
// length matches dims. raw is kept, not copied.
func RawTensor(name string, elem onnx.TensorProto_DataType, dims []int64, raw []byte) (*onnx.TensorProto, error) {
	size := elemSize(elem)
	if size == 0 {
		return nil, fmt.Errorf("tensor %q: element type %v has no fixed-size raw encoding", name, elem)
	}
	n, err := NumElements(dims)
	if err != nil {
		return nil, fmt.Errorf("tensor %q: %w", name, err)
	}
	if int64(len(raw)) != n*int64(size) {
		return nil, fmt.Errorf("tensor %q: %d bytes of raw data, want %d for dims %v of %v",
			name, len(raw), n*int64(size), dims, elem)
	}
	return &onnx.TensorProto{
		Name:     name,
		DataType: int32(elem),
		Dims:     append([]int64{}, dims...),
		RawData:  raw,
	}, nil
}

// Float32Tensor encodes data as a float32 tensor with raw little-endian data.
func Float32Tensor(name string, dims []int64, data []float32) (*onnx.TensorProto, error) {
	raw := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	return RawTensor(name, onnx.TensorProto_FLOAT, dims, raw)
}

// Int64Tensor encodes data as an int64 tensor with raw little-endian data.
func Int64Tensor(name string, dims []int64, data []int64) (*onnx.TensorProto, error) {
	raw := make([]byte, 8*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
	}
	return RawTensor(name, onnx.TensorProto_INT64, dims, raw)
}

// Float32s decodes a float tensor stored either as raw_data or float_data,
// e.g. to read trained head weights back from an exported model.
func Float32s(t *onnx.TensorProto) ([]float32, error) {
	if onnx.TensorProto_DataType(t.DataType) != onnx.TensorProto_FLOAT {
		return nil, fmt.Errorf("tensor %q is %v, not FLOAT", t.Name, onnx.TensorProto_DataType(t.DataType))
	}
	n, err := NumElements(t.Dims)
	if err != nil {
		return nil, fmt.Errorf("tensor %q: %w", t.Name, err)
	}
	if t.RawData == nil {
		if int64(len(t.FloatData)) != n {
			return nil, fmt.Errorf("tensor %q: %d float_data values for dims %v", t.Name, len(t.FloatData), t.Dims)
		}
		return append([]float32{}, t.FloatData...), nil
	}
	if int64(len(t.RawData)) != 4*n {
		return nil, fmt.Errorf("tensor %q: %d raw bytes for dims %v", t.Name, len(t.RawData), t.Dims)
	}
	out := make([]float32, n)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.RawData[4*i:]))
	}
	return out, nil
}

// Int64s decodes an int64 tensor stored either as raw_data or int64_data.
func Int64s(t *onnx.TensorProto) ([]int64, error) {
	if onnx.TensorProto_DataType(t.DataType) != onnx.TensorProto_INT64 {
		return nil, fmt.Errorf("tensor %q is %v, not INT64", t.Name, onnx.TensorProto_DataType(t.DataType))
	}
	n, err := NumElements(t.Dims)
	if err != nil {
		return nil, fmt.Errorf("tensor %q: %w", t.Name, err)
	}
	if t.RawData == nil {
		if int64(len(t.Int64Data)) != n {
			return nil, fmt.Errorf("tensor %q: %d int64_data values for dims %v", t.Name, len(t.Int64Data), t.Dims)
		}
		return append([]int64{}, t.Int64Data...), nil
	}
	if int64(len(t.RawData)) != 8*n {
		return nil, fmt.Errorf("tensor %q: %d raw bytes for dims %v", t.Name, len(t.RawData), t.Dims)
	}
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(binary.LittleEndian.Uint64(t.RawData[8*i:]))
	}
	return out, nil
}
