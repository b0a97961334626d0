package export

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
// refuses messages of 2 GiB or more, so an export of a large encoder must
// move its big initializers out; smaller models stay self-contained.

// protoLimit is the largest serialized message protobuf parsers accept.
const protoLimit = 1<<31 - 1

// externalAlign aligns each tensor in the data file to a page, so
// onnxruntime can map it instead of copying.
const externalAlign = 4096

// externalPolicy decides when and what goes to external data.
type externalPolicy struct {
	limit    int64 // a model whose serialized size exceeds this is split
	minBytes int64 // initializers with more raw bytes than this move out
}

// defaultExternal splits only models protobuf could not hold, moving
// initializers over 1 MiB (the weight matrices) and keeping small constants
// inline, as the ONNX reference tooling does.
var defaultExternal = externalPolicy{limit: protoLimit, minBytes: 1 << 20}

// externalChunk is one tensor's bytes at its offset in the data file.
type externalChunk struct {
	offset int64
	data   []byte
}

// externalize moves the raw_data of m's initializers larger than minBytes
// to external data in the file location, in initializer order, and returns
// the bytes to write there.
func externalize(m *onnx.ModelProto, location string, minBytes int64) []externalChunk {
	var chunks []externalChunk
	var off int64
	for _, t := range m.Graph.Initializer {
		n := int64(len(t.RawData))
		if t.DataLocation == onnx.TensorProto_EXTERNAL || n <= minBytes {
			continue
		}
		off = (off + externalAlign - 1) / externalAlign * externalAlign
		chunks = append(chunks, externalChunk{offset: off, data: t.RawData})
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

// writeExternal writes chunks at their offsets, zero-filling the gaps.
func writeExternal(w io.Writer, chunks []externalChunk) error {
	var pos int64
	pad := make([]byte, externalAlign)
	for _, c := range chunks {
		if c.offset < pos {
			return fmt.Errorf("external data chunk at offset %d overlaps the previous one ending at %d", c.offset, pos)
		}
		if _, err := w.Write(pad[:c.offset-pos]); err != nil {
			return err
		}
		if _, err := w.Write(c.data); err != nil {
			return err
		}
		pos = c.offset + int64(len(c.data))
	}
	return nil
}

// loadExternal reads every external initializer of m (stored relative to
// dir) back into raw_data, so the model can be rewritten elsewhere without
// dangling references to the source folder.
func loadExternal(m *onnx.ModelProto, dir string) error {
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
			for _, sg := range subgraphs(n) {
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
	if length < 0 {
		st, err := f.Stat()
		if err != nil {
			return err
		}
		length = st.Size() - off
	}
	if off < 0 || length < 0 {
		return fmt.Errorf("offset %d / length %d out of range", off, length)
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
