package export

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"retune/internal/atomicfile"
	"retune/model"
)

// The safetensors writer is implemented here rather than imported. The one
// Go library on the module proxy, github.com/nlpodyssey/safetensors, has no
// tagged release (only pseudo-versions, last commit February 2025) and its
// writing API changed shape between commits; the format itself is a
// documented ~50-line affair (an 8-byte little-endian header length N, N
// bytes of JSON padded with spaces to a multiple of 8, then the tensor
// bytes), so owning it costs less than tracking an unreleased dependency.

// Tensor names of a sentence-transformers models.Dense module (its
// torch.nn.Linear is the attribute "linear").
const (
	denseWeight = "linear.weight"
	denseBias   = "linear.bias"
)

// denseIdentity is the activation_function of a Dense layer without one.
const denseIdentity = "torch.nn.modules.linear.Identity"

// Safetensors writes dir/model.safetensors (linear.weight F32 [d_out, d_in]
// in PyTorch nn.Linear row-major layout, linear.bias F32 [d_out] when the
// head has one) and dir/config.json, which together load as a
// sentence-transformers models.Dense module. That module does not normalise:
// append a models.Normalize module to reproduce retune's unit-length output.
// dir is created if missing; an earlier export there is replaced.
func Safetensors(h *model.Head, meta model.HeadMeta, dir string) error {
	fail := func(err error) error { return fmt.Errorf("export: safetensors into %s: %w", dir, err) }
	if err := checkHead(h); err != nil {
		return err
	}
	cfg := h.Config()
	tensors := map[string]stTensor{
		denseWeight: {shape: []int{cfg.DOut, cfg.DIn}, data: weight32(h)},
	}
	if b := bias32(h); b != nil {
		tensors[denseBias] = stTensor{shape: []int{cfg.DOut}, data: b}
	}
	metadata := map[string]string{
		"format":                "pt", // what transformers' loaders check for
		"encoder":               meta.Encoder,
		"encoder_checksum":      meta.EncoderChecksum,
		"apply":                 cfg.Apply,
		"head_sha256":           headSHA256(h),
		"retune_format_version": strconv.Itoa(FormatVersion),
	}
	js, err := json.MarshalIndent(struct {
		InFeatures         int    `json:"in_features"`
		OutFeatures        int    `json:"out_features"`
		Bias               bool   `json:"bias"`
		ActivationFunction string `json:"activation_function"`
	}{cfg.DIn, cfg.DOut, cfg.Bias, denseIdentity}, "", "  ")
	if err != nil {
		return fail(err)
	}
	// Both files or neither: an export that fails part-way leaves an
	// earlier one whole (model.safetensors, which marks it retune's, last).
	err = atomicfile.ReplaceFiles(dir, safetensorsFiles, func(stage string) error {
		err := atomicfile.Write(filepath.Join(stage, SafetensorsFile), 0o644, func(w io.Writer) error {
			return writeSafetensors(w, tensors, metadata)
		})
		if err != nil {
			return err
		}
		return atomicfile.WriteFile(filepath.Join(stage, DenseConfigFile), append(js, '\n'), 0o644)
	})
	if err != nil {
		return fail(err)
	}
	return nil
}

// weight32 returns the effective W (d_out × d_in, row-major) as float32.
func weight32(h *model.Head) []float32 {
	w := h.Weight()
	r, c := w.Dims()
	out := make([]float32, 0, r*c)
	for i := 0; i < r; i++ {
		for _, v := range w.RawRowView(i) {
			out = append(out, float32(v))
		}
	}
	return out
}

// stTensor is one F32 tensor to serialise.
type stTensor struct {
	shape []int
	data  []float32
}

// stEntry is a tensor's header record.
type stEntry struct {
	DType       string   `json:"dtype"`
	Shape       []int    `json:"shape"`
	DataOffsets [2]int64 `json:"data_offsets"`
}

// writeSafetensors lays tensors out contiguously, sorted by name (the
// reference implementation sorts by dtype alignment, then name; every tensor
// here is F32), with offsets relative to the start of the byte buffer.
func writeSafetensors(w io.Writer, tensors map[string]stTensor, metadata map[string]string) error {
	names := make([]string, 0, len(tensors))
	for name, t := range tensors {
		n := 1
		for _, d := range t.shape {
			n *= d
		}
		if n != len(t.data) {
			return fmt.Errorf("tensor %s: shape %v holds %d values, got %d", name, t.shape, n, len(t.data))
		}
		names = append(names, name)
	}
	sort.Strings(names)

	// The header is written by hand so that __metadata__ comes first and the
	// tensors follow in buffer order, which makes the file readable with a
	// hex dump; readers must not depend on key order.
	var hdr bytes.Buffer
	hdr.WriteByte('{')
	md, err := json.Marshal(metadata)
	if err != nil {
		return err
	}
	hdr.WriteString(`"__metadata__":`)
	hdr.Write(md)
	var off int64
	for _, name := range names {
		t := tensors[name]
		end := off + 4*int64(len(t.data))
		e, err := json.Marshal(stEntry{DType: "F32", Shape: t.shape, DataOffsets: [2]int64{off, end}})
		if err != nil {
			return err
		}
		k, _ := json.Marshal(name)
		hdr.WriteByte(',')
		hdr.Write(k)
		hdr.WriteByte(':')
		hdr.Write(e)
		off = end
	}
	hdr.WriteByte('}')
	// Pad with spaces (valid JSON whitespace) so the buffer starts 8-aligned.
	for hdr.Len()%8 != 0 {
		hdr.WriteByte(' ')
	}
	var size [8]byte
	binary.LittleEndian.PutUint64(size[:], uint64(hdr.Len()))
	if _, err := w.Write(size[:]); err != nil {
		return err
	}
	if _, err := w.Write(hdr.Bytes()); err != nil {
		return err
	}
	for _, name := range names {
		data := tensors[name].data
		buf := make([]byte, 4*len(data))
		for i, v := range data {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
		}
		if _, err := w.Write(buf); err != nil {
			return err
		}
	}
	return nil
}

// retuneSafetensors reports whether path is a safetensors file this
// package wrote: its header's __metadata__ carries retune_format_version.
func retuneSafetensors(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var n uint64
	if err := binary.Read(f, binary.LittleEndian, &n); err != nil || n > 100<<20 {
		return false
	}
	hdr := make([]byte, n)
	if _, err := io.ReadFull(f, hdr); err != nil {
		return false
	}
	var h struct {
		Metadata map[string]string `json:"__metadata__"`
	}
	if json.Unmarshal(hdr, &h) != nil {
		return false
	}
	_, ok := h.Metadata["retune_format_version"]
	return ok
}
