package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/gin-gonic/gin"

	"retune/eval"
	"retune/model"
	"retune/store"
)

// headsPath is the head upload route, whose body limit is MaxUploadBytes.
const headsPath = "/v1/heads"

// Multipart parts of POST /v1/heads: the two files `retune train --out`
// writes.
const (
	partHead    = "head"
	partWeights = "weights"
)

// createHead registers a head trained elsewhere (retune train): it is
// checked as LoadHead checks a head folder, must fit an installed encoder
// (same checksum, same width), and is then served like a job's head.
func (s *Server) createHead(c *gin.Context) {
	if mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type")); err != nil || mt != "multipart/form-data" {
		abort(c, http.StatusUnsupportedMediaType, codeInvalidRequest,
			fmt.Sprintf("content type %q: send multipart/form-data", c.GetHeader("Content-Type")))
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
	c.JSON(http.StatusCreated, headView(h))
}

func (s *Server) ingestHead(ctx context.Context, r *http.Request, tmp string) (store.Head, error) {
	if err := receiveHeadParts(r, tmp); err != nil {
		return store.Head{}, err
	}
	head, meta, err := model.LoadHead(tmp)
	if err != nil {
		// Every LoadHead failure is about the files sent; the message
		// names the problem, without the scratch folder's path.
		msg := strings.ReplaceAll(errors.Unwrap(err).Error(), tmp+string(filepath.Separator), "")
		return store.Head{}, badUpload("not a valid head: %s", msg)
	}
	enc, err := s.cfg.Models.Get(ctx, meta.Encoder)
	if errors.Is(err, model.ErrUnknownModel) {
		return store.Head{}, &uploadError{status: http.StatusNotFound,
			msg: fmt.Sprintf("the head was trained on encoder %q, which is not installed here (GET /v1/models lists the encoders)", meta.Encoder)}
	}
	if err != nil {
		return store.Head{}, err
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
	summary, err := json.Marshal(uploadedMetrics(meta))
	if err != nil {
		return store.Head{}, err
	}
	row := store.Head{ID: store.NewID(store.PrefixHead), Encoder: meta.Encoder, EncoderChecksum: sum,
		DIn: hc.DIn, DOut: hc.DOut, Apply: hc.Apply, Metrics: summary}
	dir, err := s.store.Dir(store.KindHeads, row.ID)
	if err != nil {
		return store.Head{}, err
	}
	// Files first, then the row, as for a job's head: a crash in between
	// leaves a folder without a row, which the next start removes.
	if err := head.Save(dir, meta); err != nil {
		return store.Head{}, err
	}
	created, err := s.store.CreateHead(ctx, row)
	if err != nil {
		if rmErr := s.store.RemoveDir(store.KindHeads, row.ID); rmErr != nil {
			s.log.Error("discard head files", "head", row.ID, "err", rmErr)
		}
		return store.Head{}, err
	}
	return created, nil
}

// maxHeadJSONBytes bounds the head part: retune train's head.json is a few
// kB of settings and metrics.
const maxHeadJSONBytes = 4 << 20

// errHeadJSONTooLarge is limitedPart's error past the bound.
var errHeadJSONTooLarge = fmt.Errorf("part %q (head.json) is larger than %d MiB", partHead, maxHeadJSONBytes>>20)

// limitedPart fails with errHeadJSONTooLarge once more than left bytes are read.
type limitedPart struct {
	r    io.Reader
	left int64
}

func (l *limitedPart) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	if l.left -= int64(n); l.left < 0 {
		return n, errHeadJSONTooLarge
	}
	return n, err
}

// receiveHeadParts streams the head and weights parts into dir as the
// head.json and weights.bin LoadHead reads.
func receiveHeadParts(r *http.Request, dir string) error {
	mr, err := r.MultipartReader()
	if err != nil {
		return badUpload("malformed multipart body: %v", err)
	}
	got := map[string]bool{}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return readError(err)
		}
		field := part.FormName()
		var name string
		switch field {
		case partHead:
			name = "head.json"
		case partWeights:
			name = "weights.bin"
		default:
			part.Close()
			return badUpload("unknown part %q: send the parts head (head.json) and weights (weights.bin) of a folder retune train wrote", field)
		}
		if got[field] {
			return badUpload("part %q sent twice", field)
		}
		got[field] = true
		var r io.Reader = part
		if field == partHead {
			// head.json is metadata: bound it, so a junk-filled one cannot
			// fill the disk and memory with "metrics".
			r = &limitedPart{r: part, left: maxHeadJSONBytes}
		}
		src := &trackedReader{r: r}
		if _, _, err := store.WriteFileAtomic(filepath.Join(dir, name), src); err != nil {
			if errors.Is(src.err, errHeadJSONTooLarge) {
				return &uploadError{status: http.StatusRequestEntityTooLarge, msg: src.err.Error()}
			}
			if src.err != nil {
				return readError(src.err)
			}
			return fmt.Errorf("store %s: %w", name, err)
		}
	}
	for _, p := range []string{partHead, partWeights} {
		if !got[p] {
			return badUpload("missing part %q: send the parts head (head.json) and weights (weights.bin) of a folder retune train wrote", p)
		}
	}
	return nil
}

// uploadedMetrics summarises the metrics a head.json carries (what retune
// train or a job recorded) as a head's record does; absent ones stay null.
func uploadedMetrics(meta model.HeadMeta) headMetrics {
	var m struct {
		Base     eval.Metrics `json:"base"`
		Tuned    eval.Metrics `json:"tuned"`
		Training struct {
			BestEpoch int          `json:"best_epoch"`
			DevBest   eval.Metrics `json:"dev_best"`
		} `json:"training"`
	}
	if b, err := json.Marshal(meta.Metrics); err == nil {
		json.Unmarshal(b, &m) // best effort: a summary, not the head
	}
	split, _ := meta.Training["test_split"].(string)
	return headMetrics{TestSplit: split, Base: m.Base, Tuned: m.Tuned, DevBest: m.Training.DevBest, BestEpoch: m.Training.BestEpoch}
}
