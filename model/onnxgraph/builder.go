// Package onnxgraph builds ONNX models in Go on top of the protobuf types of
// github.com/advancedclimatesystems/gonnx/onnx.
//
// It is deliberately small: a Builder that appends graph inputs, outputs,
// initializers and nodes in topological order, hands out unique names for
// intermediate tensors, and checks the result before it is written. The same
// Builder can extend an existing model (FromModel), which is how trained heads
// get fused onto frozen encoders.
package onnxgraph

import (
	"fmt"
	"strings"

	"github.com/advancedclimatesystems/gonnx/onnx"
)

const (
	// IRVersion is the ONNX IR version written into new models. IR 8 is
	// understood by every ONNX Runtime release we target.
	IRVersion int64 = 8
	// Opset is the default-domain opset of new models; 17 is the first one
	// with LayerNormalization.
	Opset int64 = 17
	// ProducerName is recorded in every model this package creates.
	ProducerName = "retune"
)

// Dim is one dimension of a graph input or output: a fixed Size, or a
// symbolic Param such as "batch" that ties dimensions of different tensors
// together.
type Dim struct {
	Size  int64
	Param string
}

// Sym returns a symbolic dimension.
func Sym(name string) Dim { return Dim{Param: name} }

// Fixed returns a dimension of known size.
func Fixed(n int64) Dim { return Dim{Size: n} }

// Builder assembles one ModelProto. Methods record the first error they hit
// and later calls become no-ops, so a long construction can be checked once,
// at Build or WriteFile.
type Builder struct {
	m     *onnx.ModelProto
	names map[string]bool // every value name in use: inputs, initializers, node outputs
	next  map[string]int  // per-prefix counters for Unique
	err   error
}

// New starts an empty model with IR version 8, opset 17 and producer "retune".
func New(graphName string) *Builder {
	m := &onnx.ModelProto{
		IrVersion:    IRVersion,
		ProducerName: ProducerName,
		OpsetImport:  []*onnx.OperatorSetIdProto{{Domain: "", Version: Opset}},
		Graph:        &onnx.GraphProto{Name: graphName},
	}
	return &Builder{m: m, names: map[string]bool{}, next: map[string]int{}}
}

// FromModel returns a Builder that appends to m in place. Every name already
// used by m is reserved, so Unique never collides with it.
func FromModel(m *onnx.ModelProto) *Builder {
	if m.Graph == nil {
		m.Graph = &onnx.GraphProto{}
	}
	b := &Builder{m: m, names: map[string]bool{}, next: map[string]int{}}
	g := m.Graph
	for _, v := range g.Input {
		b.names[v.Name] = true
	}
	for _, t := range g.Initializer {
		b.names[t.Name] = true
	}
	for _, n := range g.Node {
		for _, o := range n.Output {
			b.names[o] = true
		}
	}
	return b
}

func (b *Builder) fail(format string, args ...any) {
	if b.err == nil {
		b.err = fmt.Errorf("onnxgraph: "+format, args...)
	}
}

// define reserves name as a value name, recording an error on reuse.
func (b *Builder) define(name, what string) bool {
	if b.err != nil {
		return false
	}
	if name == "" {
		b.fail("%s with empty name", what)
		return false
	}
	if b.names[name] {
		b.fail("%s %q: name already defined", what, name)
		return false
	}
	b.names[name] = true
	return true
}

// Unique returns a name starting with prefix ("prefix_N") that no value has
// yet and that no earlier Unique call returned. Pass it to the method that
// defines the value, e.g. b.Int64(b.Unique("axes"), ...).
func (b *Builder) Unique(prefix string) string {
	if prefix == "" {
		prefix = "t"
	}
	for {
		n := b.next[prefix]
		b.next[prefix] = n + 1
		name := fmt.Sprintf("%s_%d", prefix, n)
		if !b.names[name] {
			return name
		}
	}
}

// SetOpset sets the opset version imported for domain ("" is the default
// ONNX domain), replacing an existing import of the same domain.
func (b *Builder) SetOpset(domain string, version int64) {
	for _, o := range b.m.OpsetImport {
		if o.Domain == domain {
			o.Version = version
			return
		}
	}
	b.m.OpsetImport = append(b.m.OpsetImport, &onnx.OperatorSetIdProto{Domain: domain, Version: version})
}

// SetMetadata sets a metadata_props entry, replacing an existing key.
func (b *Builder) SetMetadata(key, value string) {
	for _, p := range b.m.MetadataProps {
		if p.Key == key {
			p.Value = value
			return
		}
	}
	b.m.MetadataProps = append(b.m.MetadataProps, &onnx.StringStringEntryProto{Key: key, Value: value})
}

// SetDoc sets the model's doc_string.
func (b *Builder) SetDoc(doc string) { b.m.DocString = doc }

// Input declares a graph input and returns its name.
func (b *Builder) Input(name string, elem onnx.TensorProto_DataType, dims ...Dim) string {
	if b.define(name, "input") {
		b.m.Graph.Input = append(b.m.Graph.Input, ValueInfo(name, elem, dims...))
	}
	return name
}

// Output declares name, which a node must produce, as a graph output.
func (b *Builder) Output(name string, elem onnx.TensorProto_DataType, dims ...Dim) {
	if b.err == nil {
		b.m.Graph.Output = append(b.m.Graph.Output, ValueInfo(name, elem, dims...))
	}
}

// Initializer adds t as a graph initializer and returns its name.
func (b *Builder) Initializer(t *onnx.TensorProto) string {
	if b.define(t.Name, "initializer") {
		b.m.Graph.Initializer = append(b.m.Graph.Initializer, t)
	}
	return t.Name
}

// Float32 adds a float32 initializer (raw little-endian data). Empty dims
// make a scalar.
func (b *Builder) Float32(name string, dims []int64, data []float32) string {
	t, err := Float32Tensor(name, dims, data)
	if err != nil {
		b.fail("%w", err)
		return name
	}
	return b.Initializer(t)
}

// Int64 adds an int64 initializer (raw little-endian data). Empty dims make a
// scalar.
func (b *Builder) Int64(name string, dims []int64, data []int64) string {
	t, err := Int64Tensor(name, dims, data)
	if err != nil {
		b.fail("%w", err)
		return name
	}
	return b.Initializer(t)
}

// Raw adds an initializer whose little-endian bytes the caller already has;
// the Builder keeps raw without copying, which matters for large embedding
// tables.
func (b *Builder) Raw(name string, elem onnx.TensorProto_DataType, dims []int64, raw []byte) string {
	t, err := RawTensor(name, elem, dims, raw)
	if err != nil {
		b.fail("%w", err)
		return name
	}
	return b.Initializer(t)
}

// Node appends a node with explicit output names and returns it. Nodes must
// be added in topological order (inputs defined before use); "" stands for an
// omitted optional input.
func (b *Builder) Node(op string, inputs, outputs []string, attrs ...*onnx.AttributeProto) *onnx.NodeProto {
	n := &onnx.NodeProto{
		OpType:    op,
		Input:     append([]string(nil), inputs...),
		Output:    append([]string(nil), outputs...),
		Attribute: attrs,
	}
	if b.err != nil {
		return n
	}
	if len(outputs) == 0 {
		b.fail("%s node without outputs", op)
		return n
	}
	for _, in := range inputs {
		if in != "" && !b.names[in] {
			b.fail("%s node: input %q is not defined yet", op, in)
			return n
		}
	}
	for _, out := range outputs {
		if !b.define(out, op+" output") {
			return n
		}
	}
	n.Name = op + ":" + outputs[0] // node names only help when reading a graph dump
	b.m.Graph.Node = append(b.m.Graph.Node, n)
	return n
}

// Op appends a single-output node and returns the name of its output,
// freshly made from the lower-cased op type.
func (b *Builder) Op(op string, inputs []string, attrs ...*onnx.AttributeProto) string {
	out := b.Unique(strings.ToLower(op))
	b.Node(op, inputs, []string{out}, attrs...)
	return out
}

// NamedOp is Op with a caller-chosen output name, for tensors others refer
// to (graph outputs, fusion points).
func (b *Builder) NamedOp(op, output string, inputs []string, attrs ...*onnx.AttributeProto) string {
	b.Node(op, inputs, []string{output}, attrs...)
	return output
}

// Build checks the graph and returns the model. The Builder still owns the
// model; further calls modify the returned value.
func (b *Builder) Build() (*onnx.ModelProto, error) {
	if b.err != nil {
		return nil, b.err
	}
	if err := Validate(b.m.Graph); err != nil {
		return nil, err
	}
	return b.m, nil
}

// WriteFile builds the model and writes it atomically to path.
func (b *Builder) WriteFile(path string) error {
	m, err := b.Build()
	if err != nil {
		return err
	}
	return WriteFile(path, m)
}

// ValueInfo describes a tensor value for graph inputs, outputs or value_info.
func ValueInfo(name string, elem onnx.TensorProto_DataType, dims ...Dim) *onnx.ValueInfoProto {
	shape := &onnx.TensorShapeProto{}
	for _, d := range dims {
		dim := &onnx.TensorShapeProto_Dimension{}
		if d.Param != "" {
			dim.Value = &onnx.TensorShapeProto_Dimension_DimParam{DimParam: d.Param}
		} else {
			dim.Value = &onnx.TensorShapeProto_Dimension_DimValue{DimValue: d.Size}
		}
		shape.Dim = append(shape.Dim, dim)
	}
	return &onnx.ValueInfoProto{
		Name: name,
		Type: &onnx.TypeProto{Value: &onnx.TypeProto_TensorType{TensorType: &onnx.TypeProto_Tensor{
			ElemType: int32(elem),
			Shape:    shape,
		}}},
	}
}
