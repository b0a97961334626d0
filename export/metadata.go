package export

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"retune/model"
)

// checkHead refuses heads that cannot give meaningful output: a nil head or
// one with non-finite parameters (a diverged run). model.Head.Save refuses
// the same, but a head can reach the exporters without passing through Save.
func checkHead(h *model.Head) error {
	if h == nil {
		return fmt.Errorf("export: no head")
	}
	for i, p := range h.Params() {
		if math.IsNaN(p) || math.IsInf(p, 0) {
			return fmt.Errorf("export: head parameter %d is %v; refusing to export a diverged head", i, p)
		}
	}
	return nil
}

// headSHA256 identifies the head's exact parameters. It hashes Params() as
// little-endian float64, the bytes model.Head.Save writes to weights.bin, so
// it equals head.json's weights_sha256 and ties an export to its head folder.
func headSHA256(h *model.Head) string {
	sum := sha256.New()
	var buf [8]byte
	for _, p := range h.Params() {
		binary.LittleEndian.PutUint64(buf[:], math.Float64bits(p))
		sum.Write(buf[:])
	}
	return hex.EncodeToString(sum.Sum(nil))
}

// weightT returns Wᵀ (d_in × d_out, row-major) as float32: the right-hand
// side of MatMul(x [batch, d_in], Wᵀ) = x·Wᵀ, ONNX's row-vector convention.
func weightT(h *model.Head) []float32 {
	cfg := h.Config()
	w := h.Weight()
	out := make([]float32, cfg.DIn*cfg.DOut)
	for i := 0; i < cfg.DOut; i++ {
		for j := 0; j < cfg.DIn; j++ {
			out[j*cfg.DOut+i] = float32(w.At(i, j))
		}
	}
	return out
}

// bias32 returns the bias as float32, or nil when the head has none.
func bias32(h *model.Head) []float32 {
	b := h.Bias()
	if b == nil {
		return nil
	}
	out := make([]float32, len(b))
	for i, v := range b {
		out[i] = float32(v)
	}
	return out
}

// jsonString renders a free-form map for a string-only metadata field; a
// nil map becomes {} so readers can always parse the value as an object.
func jsonString(m map[string]any) (string, error) {
	if m == nil {
		return "{}", nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// headMetadata is the metadata_props of both ONNX exports: enough to tell
// which head, trained on which encoder, produced a model file found on its
// own somewhere.
func headMetadata(h *model.Head, meta model.HeadMeta) ([][2]string, error) {
	cfg := h.Config()
	training, err := jsonString(meta.Training)
	if err != nil {
		return nil, fmt.Errorf("export: training config as JSON: %w", err)
	}
	metrics, err := jsonString(meta.Metrics)
	if err != nil {
		return nil, fmt.Errorf("export: metrics as JSON: %w", err)
	}
	kv := [][2]string{
		{"retune_format_version", strconv.Itoa(FormatVersion)},
		{"encoder", meta.Encoder},
		{"encoder_checksum", meta.EncoderChecksum},
		{"d_in", strconv.Itoa(cfg.DIn)},
		{"d_out", strconv.Itoa(cfg.DOut)},
		{"apply", cfg.Apply},
		{"bias", strconv.FormatBool(cfg.Bias)},
		{"rank", strconv.Itoa(cfg.Rank)},
		{"head_sha256", headSHA256(h)},
		{"training", training},
		{"metrics", metrics},
	}
	if !meta.CreatedAt.IsZero() {
		kv = append(kv, [2]string{"created_at", meta.CreatedAt.UTC().Format(time.RFC3339)})
	}
	return kv, nil
}
