package onnxgraph

import "github.com/advancedclimatesystems/gonnx/onnx"

// Attribute constructors for Node and Op. ONNX reads an attribute by its
// declared Type, so each sets Type alongside the value.

// AttrInt is an INT attribute, e.g. AttrInt("axis", -1).
func AttrInt(name string, v int64) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: name, Type: onnx.AttributeProto_INT, I: v}
}

// AttrFloat is a FLOAT attribute, e.g. AttrFloat("epsilon", 1e-12).
func AttrFloat(name string, v float32) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: name, Type: onnx.AttributeProto_FLOAT, F: v}
}

// AttrInts is an INTS attribute, e.g. AttrInts("perm", 0, 2, 1, 3).
func AttrInts(name string, v ...int64) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: name, Type: onnx.AttributeProto_INTS, Ints: append([]int64{}, v...)}
}
