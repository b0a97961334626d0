package onnxgraph

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/advancedclimatesystems/gonnx/onnx"
)

// ONNX external data: a tensor whose bytes live in a side file instead of
// the protobuf, described by external_data entries location (relative to the
// model file), offset and length, with data_location EXTERNAL. Protobuf
// refuses messages of 2 GiB or more, so large models must move their big
// initializers out; onnxruntime also maps such files instead of copying
// them, which makes opening a model with a large table almost free.

// externalAlign aligns each tensor in the data file to a page, so
// onnxruntime can map it instead of copying.
const externalAlign = 4096

// Subgraphs returns the graphs held by n's attributes (If/Loop/Scan bodies).
func Subgraphs(n *onnx.NodeProto) []*onnx.GraphProto {
	var gs []*onnx.GraphProto
	for _, a := range n.Attribute {
		if a.G != nil {
			gs = append(gs, a.G)
		}
		gs = append(gs, a.Graphs...)
	}
	return gs
}

// ExternalChunk is one tensor's bytes at its offset in the data file.
type ExternalChunk struct {
	Offset int64
	Data   []byte
}

// Externalize moves the raw_data of m's initializers larger than minBytes
// to external data in the file location (relative to the model file), in
// initializer order, each aligned to a page so onnxruntime can map it
// instead of copying, and returns the bytes to write there (WriteExternal).
func Externalize(m *onnx.ModelProto, location string, minBytes int64) []ExternalChunk {
	var chunks []ExternalChunk
	var off int64
	for _, t := range m.Graph.Initializer {
		n := int64(len(t.RawData))
		if t.DataLocation == onnx.TensorProto_EXTERNAL || n <= minBytes {
			continue
		}
		off = (off + externalAlign - 1) / externalAlign * externalAlign
		chunks = append(chunks, ExternalChunk{Offset: off, Data: t.RawData})
		t.ExternalData = []*onnx.StringStringEntryProto{
			{Key: "location", Value: location},
			{Key: "offset", Value: strconv.FormatInt(off, 10)},
			{Key: "length", Value: strconv.FormatInt(n, 10)},
		}
		t.DataLocation = onnx.TensorProto_EXTERNAL
		t.RawData = nil
		off += n
	}
	return chunks
}

// WriteExternal writes chunks at their offsets, zero-filling the gaps.
func WriteExternal(w io.Writer, chunks []ExternalChunk) error {
	var pos int64
	for _, c := range chunks {
		if c.Offset < pos {
			return fmt.Errorf("external data chunk at offset %d overlaps the previous one ending at %d", c.Offset, pos)
		}
		if _, err := io.CopyN(w, zeros{}, c.Offset-pos); err != nil {
			return err
		}
		if _, err := w.Write(c.Data); err != nil {
			return err
		}
		pos = c.Offset + int64(len(c.Data))
	}
	return nil
}

// zeros reads as an endless run of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// LoadExternal reads every external initializer of m (stored relative to
// dir, the model file's folder) back into raw_data, so the model can be
// inspected or rewritten elsewhere without dangling references.
func LoadExternal(m *onnx.ModelProto, dir string) error {
	files := map[string]*os.File{}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	var visit func(g *onnx.GraphProto) error
	visit = func(g *onnx.GraphProto) error {
		for _, t := range g.Initializer {
			if t.DataLocation != onnx.TensorProto_EXTERNAL {
				continue
			}
			if err := readExternal(t, dir, files); err != nil {
				return fmt.Errorf("external data of initializer %q: %w", t.Name, err)
			}
		}
		for _, n := range g.Node {
			for _, sg := range Subgraphs(n) {
				if err := visit(sg); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return visit(m.Graph)
}

// readExternal loads one tensor's bytes. A missing length means "to the end
// of the file", as in the ONNX reference loader.
func readExternal(t *onnx.TensorProto, dir string, files map[string]*os.File) error {
	var loc string
	off, length := int64(0), int64(-1)
	for _, kv := range t.ExternalData {
		var err error
		switch kv.Key {
		case "location":
			loc = kv.Value
		case "offset":
			off, err = strconv.ParseInt(kv.Value, 10, 64)
		case "length":
			length, err = strconv.ParseInt(kv.Value, 10, 64)
		}
		if err != nil {
			return fmt.Errorf("%s %q: %w", kv.Key, kv.Value, err)
		}
	}
	if loc == "" {
		return errors.New("no location")
	}
	// A model file must not make us read outside its own folder.
	if !filepath.IsLocal(loc) {
		return fmt.Errorf("location %q is not a path inside the model folder", loc)
	}
	f, ok := files[loc]
	if !ok {
		var err error
		if f, err = os.Open(filepath.Join(dir, loc)); err != nil {
			return err
		}
		files[loc] = f
	}
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if length < 0 {
		length = st.Size() - off
	}
	// Checked against the file before allocating: a damaged model must
	// not make us allocate what it says.
	if off < 0 || length < 0 || off > st.Size() || length > st.Size()-off {
		return fmt.Errorf("offset %d / length %d out of range of %s (%d bytes)", off, length, loc, st.Size())
	}
	buf := make([]byte, length)
	if _, err := f.ReadAt(buf, off); err != nil {
		return fmt.Errorf("read %d bytes at %d of %s: %w", length, off, loc, err)
	}
	t.RawData = buf
	t.ExternalData = nil
	t.DataLocation = onnx.TensorProto_DEFAULT
	return nil
}
