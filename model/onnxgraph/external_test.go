package onnxgraph

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/advancedclimatesystems/gonnx/onnx"
)

// Gaps between chunks, short or longer than the alignment, read back as zeros.
func TestWriteExternalZeroFillsGaps(t *testing.T) {
	chunks := []ExternalChunk{{Offset: 3, Data: []byte{1, 2}}, {Offset: 3 * externalAlign, Data: []byte{7}}}
	var buf bytes.Buffer
	if err := WriteExternal(&buf, chunks); err != nil {
		t.Fatal(err)
	}
	want := make([]byte, 3*externalAlign+1)
	want[3], want[4], want[3*externalAlign] = 1, 2, 7
	if !bytes.Equal(buf.Bytes(), want) {
		t.Fatalf("wrote %d bytes, want %d with the chunks at their offsets and zeros between", buf.Len(), len(want))
	}
	if err := WriteExternal(&buf, []ExternalChunk{{Offset: 4, Data: []byte{1, 2}}, {Offset: 5, Data: []byte{3}}}); err == nil {
		t.Fatal("overlapping chunks accepted")
	}
}

// A model whose external data reference points past the end of its file is
// refused before anything is allocated for it.
func TestLoadExternalRefusesRangesOutsideTheFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "w.bin"), make([]byte, 16), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ offset, length string }{
		{"0", "1099511627776"}, // 1 TiB
		{"17", "1"},
		{"8", "9"},
		{"-1", "4"},
	} {
		m := &onnx.ModelProto{Graph: &onnx.GraphProto{Initializer: []*onnx.TensorProto{{
			Name: "w", DataLocation: onnx.TensorProto_EXTERNAL,
			ExternalData: []*onnx.StringStringEntryProto{
				{Key: "location", Value: "w.bin"}, {Key: "offset", Value: tc.offset}, {Key: "length", Value: tc.length}},
		}}}}
		err := LoadExternal(m, dir)
		if err == nil || !strings.Contains(err.Error(), "out of range") {
			t.Errorf("offset %s length %s: err %v, want out of range", tc.offset, tc.length, err)
		}
	}
}
