package model

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"gonum.org/v1/gonum/floats"

	"retune/internal/atomicfile"
	"retune/internal/jsontype"
	"retune/internal/textcut"
)

// On-disk layout of a saved head (one folder per head version):
//
//	head.json    metadata: format_version, config, encoder name + checksum,
//	             d_in/d_out, training config, metrics, created_at, the
//	             weights file name, dtype, parameter layout and sha256
//	weights.bin  Params() as little-endian IEEE-754 float64, in Params order
//	             (see Head). float64 rather than float32 so that resuming
//	             training continues from bit-identical parameters; the
//	             exporters convert to float32 themselves.
const (
	HeadFormatVersion = 1
	headJSONName      = "head.json"
	headWeightsName   = "weights.bin"
	headWeightsDType  = "float64le"
)

// Sentinel errors for errors.Is; the returned errors wrap them with detail.
var (
	ErrHeadFormatVersion  = errors.New("unsupported head format_version")
	ErrHeadChecksum       = errors.New("checksum mismatch: file corrupted or edited")
	ErrHeadEncoderMissing = errors.New("head has no encoder checksum recorded")
	ErrHeadEncoderChanged = errors.New("head was trained on a different encoder")
	// ErrHeadRefused marks a head whose files read whole but hold what
	// this build does not accept (head.json's JSON, format, shape, or
	// parameters that pass their checksum): a head an earlier build
	// stored, under looser checks, fails so. head.json has no checksum, so
	// its damage is refused too; the weights' damage (ErrHeadChecksum) and
	// a missing file are not refusals.
	ErrHeadRefused = errors.New("head refused by this build")
)

// refusedError is an error of LoadHead's checks, marked ErrHeadRefused
// without changing its message.
type refusedError struct{ error }

func (e refusedError) Unwrap() error      { return e.error }
func (refusedError) Is(target error) bool { return target == ErrHeadRefused }

// HeadRefusal is what LoadHead refused in a head (ErrHeadRefused), in
// words without the folder's path, and false for any other error.
func HeadRefusal(err error) (reason string, ok bool) {
	var r refusedError
	if !errors.As(err, &r) {
		return "", false
	}
	return r.error.Error(), true
}

// HeadMeta is the provenance stored next to the weights.
type HeadMeta struct {
	Encoder         string // encoder name, for humans
	EncoderChecksum string // sha256 of the encoder the head was trained on
	// Training and Metrics are free-form. After a round trip through JSON,
	// numbers come back as float64 and nested objects as map[string]any.
	Training  map[string]any
	Metrics   map[string]any
	CreatedAt time.Time // Save uses the current UTC time when zero
	// WeightsSHA256 is filled by LoadHead (hex); Save ignores it and
	// computes the checksum itself.
	WeightsSHA256 string
}

// headFile is the JSON schema of head.json.
type headFile struct {
	FormatVersion   int               `json:"format_version"`
	Config          HeadConfig        `json:"config"`
	Encoder         string            `json:"encoder"`
	EncoderChecksum string            `json:"encoder_checksum"`
	DIn             int               `json:"d_in"`
	DOut            int               `json:"d_out"`
	Training        map[string]any    `json:"training,omitempty"`
	Metrics         map[string]any    `json:"metrics,omitempty"`
	CreatedAt       time.Time         `json:"created_at"`
	WeightsFile     string            `json:"weights_file"`
	WeightsDType    string            `json:"weights_dtype"`
	WeightsSHA256   string            `json:"weights_sha256"`
	NumParams       int               `json:"num_params"`
	ParamLayout     []headParamTensor `json:"param_layout"`
}

// headParamTensor names one consecutive block of weights.bin, so that exporters
// and humans can read the file without this package.
type headParamTensor struct {
	Name  string `json:"name"`
	Shape []int  `json:"shape"`
}

// paramLayout lists the tensors of Params() in storage order.
func headParamLayout(cfg HeadConfig) []headParamTensor {
	var l []headParamTensor
	if cfg.Rank > 0 {
		l = append(l,
			headParamTensor{Name: "a", Shape: []int{cfg.DIn, cfg.Rank}},
			headParamTensor{Name: "b", Shape: []int{cfg.Rank, cfg.DIn}})
	} else {
		l = append(l, headParamTensor{Name: "weight", Shape: []int{cfg.DOut, cfg.DIn}})
	}
	if cfg.Bias {
		l = append(l, headParamTensor{Name: "bias", Shape: []int{cfg.DOut}})
	}
	return l
}

// Save writes head.json and weights.bin into dir (created if missing). Each
// file is written to a temporary name, fsynced and renamed, so a reader never
// sees a half-written file. weights.bin is replaced first: if the process
// dies between the two renames, the old head.json's checksum no longer
// matches and LoadHead refuses the folder instead of silently mixing versions.
func (h *Head) Save(dir string, meta HeadMeta) error {
	for i, p := range h.params {
		if math.IsNaN(p) || math.IsInf(p, 0) {
			return fmt.Errorf("model: save head to %s: parameter %d is %v; refusing to persist a diverged head", dir, i, p)
		}
	}
	// The new folder's entry is synced too: a head whose row a database
	// commits right after must not lose its folder to a power cut.
	if err := atomicfile.MkdirAllSync(dir, 0o755); err != nil {
		return fmt.Errorf("model: save head: %w", err)
	}
	raw := headEncodeFloat64LE(h.params)
	sum := sha256.Sum256(raw)
	created := meta.CreatedAt
	if created.IsZero() {
		created = time.Now().UTC()
	}
	doc := headFile{
		FormatVersion:   HeadFormatVersion,
		Config:          h.cfg,
		Encoder:         meta.Encoder,
		EncoderChecksum: meta.EncoderChecksum,
		DIn:             h.cfg.DIn,
		DOut:            h.cfg.DOut,
		Training:        meta.Training,
		Metrics:         meta.Metrics,
		CreatedAt:       created,
		WeightsFile:     headWeightsName,
		WeightsDType:    headWeightsDType,
		WeightsSHA256:   hex.EncodeToString(sum[:]),
		NumParams:       len(h.params),
		ParamLayout:     headParamLayout(h.cfg),
	}
	js, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("model: save head to %s: encode %s: %w", dir, headJSONName, err)
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, headWeightsName), raw, 0o644); err != nil {
		return fmt.Errorf("model: save head to %s: %w", dir, err)
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, headJSONName), append(js, '\n'), 0o644); err != nil {
		return fmt.Errorf("model: save head to %s: %w", dir, err)
	}
	return nil
}

// LoadHead reads a folder written by Save, checking the format version, the
// consistency of config, dimensions and layout, and the weights checksum.
func LoadHead(dir string) (*Head, HeadMeta, error) {
	fail := func(err error) (*Head, HeadMeta, error) {
		return nil, HeadMeta{}, fmt.Errorf("model: load head %s: %w", dir, err)
	}
	refuse := func(err error) (*Head, HeadMeta, error) { return fail(refusedError{err}) }
	js, err := os.ReadFile(filepath.Join(dir, headJSONName))
	if err != nil {
		return fail(err)
	}
	doc, err := headDecodeJSON(js)
	if err != nil {
		return refuse(err)
	}
	if doc.FormatVersion != HeadFormatVersion {
		return refuse(fmt.Errorf("%w %d in %s (this build reads %d)", ErrHeadFormatVersion, doc.FormatVersion, headJSONName, HeadFormatVersion))
	}
	cfg, err := doc.Config.normalized()
	if err != nil {
		return refuse(fmt.Errorf("%s config: %w", headJSONName, err))
	}
	if err := headCheckShape(doc, cfg); err != nil {
		return refuse(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, doc.WeightsFile))
	if err != nil {
		return fail(err)
	}
	sum := sha256.Sum256(raw)
	if got := hex.EncodeToString(sum[:]); !strings.EqualFold(got, doc.WeightsSHA256) {
		return fail(fmt.Errorf("%s %w (head.json records sha256 %s, file has %s)", doc.WeightsFile, ErrHeadChecksum, doc.WeightsSHA256, got))
	}
	if want := 8 * doc.NumParams; len(raw) != want {
		return refuse(fmt.Errorf("%s has %d bytes, want %d (%d float64 parameters)", doc.WeightsFile, len(raw), want, doc.NumParams))
	}
	h := newHeadStorage(cfg)
	headDecodeFloat64LE(h.params, raw)
	for i, p := range h.params {
		// Finite in float32 too: projections and exports run in float32,
		// where a larger value becomes ±Inf and the embeddings NaN.
		if math.IsNaN(p) || math.IsInf(float64(float32(p)), 0) {
			return refuse(fmt.Errorf("%s parameter %d is %v, not a finite float32", doc.WeightsFile, i, p))
		}
	}
	if err := headCheckRowNorms(h); err != nil {
		return refuse(fmt.Errorf("%s: %w", doc.WeightsFile, err))
	}
	meta := HeadMeta{
		Encoder:         doc.Encoder,
		EncoderChecksum: doc.EncoderChecksum,
		Training:        doc.Training,
		Metrics:         doc.Metrics,
		CreatedAt:       doc.CreatedAt,
		WeightsSHA256:   doc.WeightsSHA256,
	}
	return h, meta, nil
}

// headDecodeJSON parses head.json, saying what is wrong with it in JSON's
// terms (the field, the byte of a syntax error), not in Go's: its
// messages reach the API's clients and the CLI's users alike. A leading
// byte-order mark (Windows editors write one) is ignored, as the API's
// JSON bodies and the dataset files' readers ignore it.
func headDecodeJSON(js []byte) (headFile, error) {
	var doc headFile
	bom := len(js)
	js = bytes.TrimPrefix(js, []byte("\ufeff"))
	bom -= len(js) // the file's bytes before js's, for a syntax error's offset
	err := json.Unmarshal(js, &doc)
	var se *json.SyntaxError
	var ute *json.UnmarshalTypeError
	switch kind := jsontype.Of(js); {
	case kind == "nothing":
		return doc, fmt.Errorf("%s is empty: it must be a JSON object", headJSONName)
	case errors.As(err, &se):
		return doc, fmt.Errorf("%s is not valid JSON at byte %d: %v", headJSONName, se.Offset+int64(bom), se)
	case kind != "an object":
		return doc, fmt.Errorf("%s must be a JSON object, not %s", headJSONName, kind)
	case errors.As(err, &ute):
		path := jsontype.PathAt(js, ute.Offset)
		if path == "" {
			path = ute.Field
		}
		return doc, fmt.Errorf("%s: field %q must be %s, not %s", headJSONName, path, jsontype.Name(ute.Type), jsontype.Value(ute.Value))
	case err != nil:
		// Only created_at decodes itself (time.Time), with Go's words:
		// "parsing time ... as 2006-01-02T15:04:05Z07:00".
		var at struct {
			CreatedAt time.Time `json:"created_at"`
		}
		if json.Unmarshal(js, &at) != nil {
			return doc, fmt.Errorf(`%s: field "created_at" must be a time in RFC 3339 form, such as "2025-11-25T19:34:00Z"`, headJSONName)
		}
		return doc, fmt.Errorf("%s is not valid: %w", headJSONName, err)
	}
	return doc, nil
}

// maxHeadRowNorm bounds the L2 norm of each row of a loaded head's W, and
// of its bias. Projections run in float32, where a row of norm r maps an
// input of norm ‖x‖ to at most r·‖x‖ (every partial sum too): 1e18 keeps
// that finite for inputs below 1e20, where weights that are each finite in
// float32 (3e38) made every embedding NaN. Trained heads stay near the
// identity (rows of norm about 1): only a file made by hand comes near it.
const maxHeadRowNorm = 1e18

// headCheckRowNorms refuses a head whose projection could overflow float32
// (see maxHeadRowNorm).
func headCheckRowNorms(h *Head) error {
	w := h.Weight()
	for i := range h.cfg.DOut {
		if n := floats.Norm(w.RawRowView(i), 2); !(n <= maxHeadRowNorm) {
			return fmt.Errorf("row %d of the projection has norm %g, over %g: its outputs would overflow float32", i, n, float64(maxHeadRowNorm))
		}
	}
	if n := floats.Norm(h.bias, 2); !(n <= maxHeadRowNorm) {
		return fmt.Errorf("the bias has norm %g, over %g: outputs would overflow float32", n, float64(maxHeadRowNorm))
	}
	return nil
}

// headCheckShape verifies that the redundant shape fields of head.json agree
// with its config, so a hand-edited file fails loudly rather than loading
// weights into the wrong matrices.
func headCheckShape(doc headFile, cfg HeadConfig) error {
	if doc.DIn != cfg.DIn || doc.DOut != cfg.DOut {
		return fmt.Errorf("%s: d_in/d_out %d/%d disagree with config %d/%d", headJSONName, doc.DIn, doc.DOut, cfg.DIn, cfg.DOut)
	}
	if want := headNumParams(cfg); doc.NumParams != want {
		return fmt.Errorf("%s: num_params %d, but the config implies %d", headJSONName, doc.NumParams, want)
	}
	want := headParamLayout(cfg)
	if !slices.EqualFunc(doc.ParamLayout, want, func(a, b headParamTensor) bool {
		return a.Name == b.Name && slices.Equal(a.Shape, b.Shape)
	}) {
		return fmt.Errorf("%s: param_layout lists %s; the config implies %s", headJSONName, headLayoutString(doc.ParamLayout), headLayoutString(want))
	}
	if doc.WeightsDType != headWeightsDType {
		return fmt.Errorf("%s: weights_dtype %q is not supported (want %q)", headJSONName, doc.WeightsDType, headWeightsDType)
	}
	// The weights must sit inside the head folder; reject paths that escape it.
	if doc.WeightsFile == "" || doc.WeightsFile != filepath.Base(doc.WeightsFile) || doc.WeightsFile == "." || doc.WeightsFile == ".." {
		return fmt.Errorf("%s: weights_file %q must be a plain file name", headJSONName, doc.WeightsFile)
	}
	return nil
}

// Bounds on what headLayoutString shows of a param_layout: a hand-made
// head.json (up to the 4 MiB an upload may send) can list any number of
// tensors, dimensions and names of any length; a saved head has at most
// three tensors of two dimensions.
const (
	maxShownTensors = 4
	maxShownDims    = 4
	maxShownName    = 64
)

// headLayoutString writes a param_layout as a reader would: "weight [100
// 100], bias [100]". Names other than letters, digits and '_' (an empty
// one) are quoted.
func headLayoutString(l []headParamTensor) string {
	if len(l) == 0 {
		return "no tensors"
	}
	parts := make([]string, 0, min(len(l), maxShownTensors+1))
	for i, p := range l {
		if i == maxShownTensors {
			parts = append(parts, fmt.Sprintf("… (%d tensors in all)", len(l)))
			break
		}
		name := textcut.Prefix(p.Name, maxShownName)
		cut := len(name) < len(p.Name)
		if p.Name == "" || strings.ContainsFunc(p.Name, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' }) {
			name = strconv.Quote(name)
		}
		if cut {
			name += "…"
		}
		dims := make([]string, 0, min(len(p.Shape), maxShownDims+1))
		for j, d := range p.Shape {
			if j == maxShownDims {
				dims = append(dims, fmt.Sprintf("… (%d dimensions)", len(p.Shape)))
				break
			}
			dims = append(dims, strconv.Itoa(d))
		}
		parts = append(parts, name+" ["+strings.Join(dims, " ")+"]")
	}
	return strings.Join(parts, ", ")
}

// VerifyEncoder returns an error unless the head described by meta was
// trained on the encoder whose checksum is given. A head applied to another
// encoder's embedding space produces plausible-looking but meaningless
// vectors, so this is checked rather than trusted.
func VerifyEncoder(meta HeadMeta, checksum string) error {
	if meta.EncoderChecksum == "" {
		return fmt.Errorf("model: %w (encoder %q); cannot verify it matches sha256 %s", ErrHeadEncoderMissing, meta.Encoder, checksum)
	}
	if !strings.EqualFold(meta.EncoderChecksum, checksum) {
		return fmt.Errorf("model: %w: head expects encoder %q with sha256 %s, but the loaded encoder has sha256 %s; load the matching encoder or retrain the head",
			ErrHeadEncoderChanged, meta.Encoder, meta.EncoderChecksum, checksum)
	}
	return nil
}

func headEncodeFloat64LE(xs []float64) []byte {
	buf := make([]byte, 8*len(xs))
	for i, x := range xs {
		binary.LittleEndian.PutUint64(buf[8*i:], math.Float64bits(x))
	}
	return buf
}

// headDecodeFloat64LE fills dst from raw, which must hold exactly 8·len(dst) bytes.
func headDecodeFloat64LE(dst []float64, raw []byte) {
	for i := range dst {
		dst[i] = math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:]))
	}
}

// HeadFileNames lists the files of a saved head, with extra (files saved
// beside it) before head.json, which comes last: the file that makes a
// folder a head (see atomicfile.ReplaceFiles).
func HeadFileNames(extra ...string) []string {
	return append(append([]string{headWeightsName}, extra...), headJSONName)
}

// IsHeadFolder reports whether dir holds a saved head (its head.json),
// with one stat: HeadFolder lists the folder to name what else is there.
func IsHeadFolder(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, headJSONName))
	return err == nil
}

// HeadFolder reports whether dir holds a saved head (its head.json), and
// the names of the files beside it that are neither the head's nor in
// extra. A folder holding only a head's files has no others.
func HeadFolder(dir string, extra ...string) (hasHead bool, others []string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false, nil
	}
	own := HeadFileNames(extra...)
	for _, e := range entries {
		switch name := e.Name(); {
		case name == headJSONName:
			hasHead = true
		case slices.Contains(own, name) || atomicfile.IsTemp(name):
		default:
			others = append(others, name)
		}
	}
	return hasHead, others
}
