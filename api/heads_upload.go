package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/gin-gonic/gin"

	"retune/eval"
	"retune/internal/jsontype"
	"retune/model"
	"retune/store"
	"retune/train"
)

// headsPath is the head upload route, whose body limit is MaxUploadBytes.
const headsPath = "/v1/heads"

// Multipart parts of POST /v1/heads: the files `retune train --out`
// writes (negatives only when the run generated negatives).
const (
	partHead      = "head"
	partWeights   = "weights"
	partNegatives = "negatives"
)

// createHead registers a head trained elsewhere (retune train): it is
// checked as LoadHead checks a head folder, must fit an installed encoder
// (same checksum, same width), and is then served like a job's head.
func (s *Server) createHead(c *gin.Context) {
	if msg := checkMultipartContentType(c.GetHeader("Content-Type")); msg != "" {
		abort(c, http.StatusUnsupportedMediaType, codeInvalidRequest, msg)
		return
	}
	tmp, err := s.store.TempDir("head-upload-")
	if err != nil {
		s.internalError(c, err)
		return
	}
	defer os.RemoveAll(tmp)
	h, err := s.ingestHead(c.Request.Context(), c.Request, tmp)
	if err != nil {
		s.abortUpload(c, err)
		return
	}
	s.log.Info("head uploaded", "head", h.ID, "encoder", h.Encoder, "d_in", h.DIn, "d_out", h.DOut, "apply", h.Apply)
	created(c, http.StatusCreated, headsPath+"/"+h.ID, headView(h))
}

func (s *Server) ingestHead(ctx context.Context, r *http.Request, tmp string) (store.Head, error) {
	if err := receiveHeadParts(r, tmp); err != nil {
		return store.Head{}, err
	}
	// Checking the files parses them into memory (the negatives can be
	// large): uploads take turns here, as datasets' validations do.
	release, err := takeSlot(ctx, s.ingestSlots)
	if err != nil {
		return store.Head{}, err
	}
	defer release()
	negs := filepath.Join(tmp, train.GeneratedFile)
	if err := train.CheckGenerated(negs); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return store.Head{}, badUpload("part %q: %v", partNegatives, err)
	}
	head, meta, err := model.LoadHead(tmp)
	if err != nil {
		// Every LoadHead failure is about the files sent; the message
		// names the problem, without the scratch folder's path.
		inner := err
		if u := errors.Unwrap(err); u != nil {
			inner = u // without LoadHead's "load head <folder>" prefix
		}
		msg := strings.ReplaceAll(inner.Error(), tmp+string(filepath.Separator), "")
		return store.Head{}, badUpload("not a valid head: %s", msg)
	}
	if err := head.Config().CheckQueryWidth(); err != nil {
		return store.Head{}, badUpload("not a valid head: %s", strings.TrimPrefix(err.Error(), "model: "))
	}
	if strings.TrimSpace(meta.Encoder) == "" {
		return store.Head{}, badUpload(`not a valid head: head.json names no "encoder" (the encoder it was trained on)`)
	}
	summary, err := uploadedMetrics(meta)
	if err != nil {
		return store.Head{}, badUpload("not a valid head: head.json %v", err)
	}
	enc, err := s.cfg.Models.Get(ctx, meta.Encoder)
	if errors.Is(err, model.ErrUnknownModel) {
		return store.Head{}, &uploadError{status: http.StatusNotFound,
			msg: fmt.Sprintf("the head was trained on encoder %q, which is not installed here (GET /v1/models lists the encoders)", meta.Encoder)}
	}
	if err != nil {
		return store.Head{}, s.encoderBroken(err)
	}
	sum, err := enc.Checksum()
	if err != nil {
		return store.Head{}, err
	}
	if err := model.VerifyEncoder(meta, sum); err != nil {
		return store.Head{}, &uploadError{status: http.StatusConflict, msg: err.Error()}
	}
	hc := head.Config()
	if hc.DIn != enc.Dim() {
		return store.Head{}, &uploadError{status: http.StatusConflict,
			msg: fmt.Sprintf("the head takes %d-dimensional input, but encoder %q outputs %d", hc.DIn, meta.Encoder, enc.Dim())}
	}
	metrics, err := json.Marshal(summary)
	if err != nil {
		return store.Head{}, err
	}
	row := store.Head{ID: store.NewID(store.PrefixHead), Encoder: meta.Encoder, EncoderChecksum: sum,
		DIn: hc.DIn, DOut: hc.DOut, Apply: hc.Apply, Metrics: metrics}
	dir, err := s.store.Dir(store.KindHeads, row.ID)
	if err != nil {
		return store.Head{}, err
	}
	// Files first, then the row, as for a job's head: a crash in between
	// leaves a folder without a row, which the next start removes.
	err = head.Save(dir, meta)
	if err == nil {
		if err = os.Rename(negs, filepath.Join(dir, train.GeneratedFile)); errors.Is(err, fs.ErrNotExist) {
			err = nil // no negatives part
		}
	}
	var created store.Head
	if err == nil {
		created, err = s.store.CreateHead(ctx, row)
	}
	if err != nil {
		s.discardHeadFiles(row.ID)
		return store.Head{}, err
	}
	return created, nil
}

// maxHeadJSONBytes bounds the head part: retune train's head.json is a few
// kB of settings and metrics, and LoadHead reads it whole.
const maxHeadJSONBytes = 4 << 20

// headFiles are the files of a head folder, by the part that carries them.
var headFiles = map[string]string{partHead: "head.json", partWeights: "weights.bin", partNegatives: train.GeneratedFile}

// receiveHeadParts streams the head and weights parts into dir as the
// head.json and weights.bin LoadHead reads.
func receiveHeadParts(r *http.Request, dir string) error {
	parts, err := newPartReader(r)
	if err != nil {
		return err
	}
	up := &upload{dir: dir, files: map[string]storedFile{}, ctx: r.Context()}
	for {
		part, err := parts.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		name, ok := headFiles[part.FormName()]
		if !ok {
			part.Close()
			return badUpload("unknown part %q: send the parts head (head.json), weights (weights.bin) and, when there is one, negatives (negatives.json) of a folder retune train wrote", part.FormName())
		}
		if err := up.save(part, part.FormName(), name); err != nil {
			return err
		}
	}
	for _, p := range []string{partHead, partWeights} {
		if _, ok := up.files[headFiles[p]]; !ok {
			return badUpload("missing part %q: send the parts head (head.json) and weights (weights.bin) of a folder retune train wrote", p)
		}
	}
	if n := up.files[headFiles[partHead]].bytes; n > maxHeadJSONBytes {
		// Refused before LoadHead reads it: a junk-filled "metrics" must
		// not cost the server its memory.
		return &uploadError{status: http.StatusRequestEntityTooLarge,
			msg: fmt.Sprintf("part %q (head.json) has %d bytes; a head.json is at most %d MiB", partHead, n, maxHeadJSONBytes>>20)}
	}
	return nil
}

// uploadedMetrics summarises the metrics a head.json carries (what retune
// train or a job recorded) as a head's record does; absent ones stay null,
// and ones of the wrong shape (a string for "base") are refused rather
// than shown as null.
func uploadedMetrics(meta model.HeadMeta) (headMetrics, error) {
	var m struct {
		Base     eval.Metrics `json:"base"`
		Tuned    eval.Metrics `json:"tuned"`
		Training struct {
			BestEpoch int          `json:"best_epoch"`
			DevBest   eval.Metrics `json:"dev_best"`
		} `json:"training"`
	}
	b, err := json.Marshal(meta.Metrics)
	if err != nil {
		return headMetrics{}, fmt.Errorf("metrics: %w", err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			// te.Field leaves out map keys: metrics.base.ndcg@10 is "base".
			got, _, _ := strings.Cut(te.Value, " ") // "number 1.5" → "number"
			return headMetrics{}, fmt.Errorf("metrics.%s holds a JSON %s where %s belongs", te.Field, got, jsontype.Name(te.Type))
		}
		return headMetrics{}, fmt.Errorf("metrics: %w", err)
	}
	split, isString := meta.Training["test_split"].(string)
	if v, given := meta.Training["test_split"]; given && v != nil && !isString {
		return headMetrics{}, fmt.Errorf("training.test_split is not a string")
	}
	return headMetrics{TestSplit: split, Base: m.Base, Tuned: m.Tuned, DevBest: m.Training.DevBest, BestEpoch: m.Training.BestEpoch}, nil
}
