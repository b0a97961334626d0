package onnxgraph

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/advancedclimatesystems/gonnx/onnx"
)

// tiny builds y = Relu(x + c), the smallest graph that uses every kind of
// value (input, initializer, node output, graph output).
func tiny() *Builder {
	b := New("tiny")
	x := b.Input("x", onnx.TensorProto_FLOAT, Sym("batch"), Fixed(2))
	c := b.Float32("c", []int64{2}, []float32{1, -1})
	b.NamedOp("Relu", "y", []string{b.Op("Add", []string{x, c})})
	b.Output("y", onnx.TensorProto_FLOAT, Sym("batch"), Fixed(2))
	return b
}

func TestBuildRejectsMalformedGraphs(t *testing.T) {
	cases := []struct {
		name  string
		build func(b *Builder)
		want  string
	}{
		{"undefined input", func(b *Builder) {
			b.Op("Relu", []string{"nope"})
		}, `input "nope" is not defined`},
		{"duplicate initializer", func(b *Builder) {
			b.Float32("c", []int64{1}, []float32{0})
		}, `initializer "c": name already defined`},
		{"node output reuses a name", func(b *Builder) {
			b.NamedOp("Relu", "x", []string{"y"})
		}, `"x": name already defined`},
		{"raw data does not match dims", func(b *Builder) {
			b.Float32("d", []int64{2, 2}, []float32{1, 2, 3})
		}, "12 bytes of raw data, want 16"},
		{"output never produced", func(b *Builder) {
			b.Output("z", onnx.TensorProto_FLOAT)
		}, `graph output "z" is never produced`},
		{"node without outputs", func(b *Builder) {
			b.Node("Relu", []string{"x"}, nil)
		}, "without outputs"},
		{"first error sticks", func(b *Builder) {
			b.Op("Relu", []string{"first"})
			b.Op("Relu", []string{"second"})
		}, `"first"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := tiny()
			tc.build(b)
			_, err := b.Build()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Build error = %v, want one containing %q", err, tc.want)
			}
		})
	}
	if _, err := tiny().Build(); err != nil {
		t.Fatalf("well-formed graph rejected: %v", err)
	}
}

func TestModelHeader(t *testing.T) {
	b := tiny()
	b.SetMetadata("source", "a")
	b.SetMetadata("source", "b") // replaces, no duplicate key
	b.SetMetadata("seed", "7")
	m, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	if m.IrVersion != 8 || m.ProducerName != "retune" {
		t.Errorf("ir_version %d producer %q", m.IrVersion, m.ProducerName)
	}
	if len(m.OpsetImport) != 1 || m.OpsetImport[0].Domain != "" || m.OpsetImport[0].Version != 17 {
		t.Errorf("opset_import %v", m.OpsetImport)
	}
	got := map[string]string{}
	for _, p := range m.MetadataProps {
		got[p.Key] = p.Value
	}
	if want := map[string]string{"source": "b", "seed": "7"}; !reflect.DeepEqual(got, want) || len(m.MetadataProps) != 2 {
		t.Errorf("metadata %v, want %v", m.MetadataProps, want)
	}
	in := m.Graph.Input[0].Type.GetTensorType()
	if in.ElemType != int32(onnx.TensorProto_FLOAT) ||
		in.Shape.Dim[0].GetDimParam() != "batch" || in.Shape.Dim[1].GetDimValue() != 2 {
		t.Errorf("input type %v", in)
	}
}

func TestUniqueAvoidsExistingNames(t *testing.T) {
	b := New("u")
	b.Input("relu_0", onnx.TensorProto_FLOAT)
	b.Float32("relu_1", nil, []float32{1})
	seen := map[string]bool{"relu_0": true, "relu_1": true}
	for i := 0; i < 5; i++ {
		name := b.Unique("relu")
		if seen[name] {
			t.Fatalf("Unique returned %q twice or over an existing name", name)
		}
		seen[name] = true
	}
	// Op names its output from the same counter and must not collide either.
	if out := b.Op("Relu", []string{"relu_0"}); seen[out] {
		t.Fatalf("Op output %q collides", out)
	}
}

func TestFromModelExtendsLoadedModel(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tiny.onnx")
	if err := tiny().WriteFile(path); err != nil {
		t.Fatal(err)
	}
	m, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	// Append a head after the loaded graph's output, the way a trained head
	// is fused onto an encoder.
	b := FromModel(m)
	neg := b.Float32("neg", nil, []float32{-1})
	if _, err := b.Build(); err != nil {
		t.Fatal(err)
	}
	b.NamedOp("Mul", "head", []string{"y", neg})
	b.Output("head", onnx.TensorProto_FLOAT, Sym("batch"), Fixed(2))
	if name := b.Unique("add"); name == "add_0" {
		t.Fatalf("Unique reused %q from the loaded graph", name)
	}
	if _, err := b.Build(); err != nil {
		t.Fatalf("extended model invalid: %v", err)
	}
	if got := len(m.Graph.Node); got != 3 {
		t.Fatalf("extended graph has %d nodes, want 3", got)
	}
}

func TestWriteFileLoadRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.onnx")
	b := tiny()
	b.Int64("ids", []int64{3}, []int64{-1, 0, 1 << 40})
	if err := b.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	// Overwrite in place: the rename must replace the old file and leave no
	// temporary behind.
	if err := b.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries after two writes, want 1", len(entries))
	}
	m, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := Float32s(m.Graph.Initializer[0])
	if err != nil || !reflect.DeepEqual(f, []float32{1, -1}) {
		t.Fatalf("float initializer %v, %v", f, err)
	}
	ids, err := Int64s(m.Graph.Initializer[1])
	if err != nil || !reflect.DeepEqual(ids, []int64{-1, 0, 1 << 40}) {
		t.Fatalf("int64 initializer %v, %v", ids, err)
	}
	// Same model, same bytes: fixtures and checksums depend on it.
	a, _ := Marshal(m)
	again, _ := os.ReadFile(path)
	if !bytes.Equal(a, again) {
		t.Fatal("re-marshalled model differs from the file written")
	}
}

func TestLoadRejectsNonModels(t *testing.T) {
	dir := t.TempDir()
	cases := map[string][]byte{"garbage": []byte("\xff\xff\xff not protobuf"), "empty": {}}
	for name, data := range cases {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(p); err == nil {
			t.Errorf("Load(%s) succeeded", name)
		}
	}
	if _, err := Load(filepath.Join(dir, "missing")); err == nil {
		t.Error("Load of a missing file succeeded")
	}
}

func TestDecodeTensorForms(t *testing.T) {
	// Models from other exporters store small tensors in float_data/int64_data.
	f, err := Float32s(&onnx.TensorProto{DataType: int32(onnx.TensorProto_FLOAT), Dims: []int64{2}, FloatData: []float32{1, 2}})
	if err != nil || !reflect.DeepEqual(f, []float32{1, 2}) {
		t.Fatalf("float_data: %v %v", f, err)
	}
	i, err := Int64s(&onnx.TensorProto{DataType: int32(onnx.TensorProto_INT64), Dims: []int64{1}, Int64Data: []int64{9}})
	if err != nil || !reflect.DeepEqual(i, []int64{9}) {
		t.Fatalf("int64_data: %v %v", i, err)
	}
	if _, err := Float32s(&onnx.TensorProto{DataType: int32(onnx.TensorProto_INT64)}); err == nil {
		t.Fatal("Float32s accepted an INT64 tensor")
	}
	if _, err := Float32s(&onnx.TensorProto{DataType: int32(onnx.TensorProto_FLOAT), Dims: []int64{3}, RawData: make([]byte, 8)}); err == nil {
		t.Fatal("Float32s accepted short raw data")
	}
}

func TestReadIOMatchesFullLoad(t *testing.T) {
	b := New("io")
	x := b.Input("x", onnx.TensorProto_FLOAT, Sym("batch"), Fixed(3))
	w := b.Float32("w", []int64{3, 2}, []float32{1, 2, 3, 4, 5, 6})
	b.NamedOp("MatMul", "y", []string{x, w})
	b.Output("y", onnx.TensorProto_FLOAT, Sym("batch"), Fixed(2))
	path := filepath.Join(t.TempDir(), "m.onnx")
	if err := b.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	ins, outs, err := ReadIO(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(ins) != 1 || ins[0].GetName() != "x" || len(outs) != 1 || outs[0].GetName() != "y" {
		t.Fatalf("inputs %v outputs %v", ins, outs)
	}
	if last, rank := LastDim(outs[0]); last != 2 || rank != 2 {
		t.Fatalf("output last dim %d rank %d, want 2 and 2", last, rank)
	}
	if _, _, err := ReadIO(filepath.Join(t.TempDir(), "missing.onnx")); err == nil {
		t.Fatal("missing file: want an error")
	}
}
