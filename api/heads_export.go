package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"

	"github.com/gin-gonic/gin"

	"retune/export"
	"retune/model"
	"retune/store"
)

// exportHead streams a head as ONNX (one file), a fused encoder+head ONNX
// folder (zip) or safetensors + sentence-transformers Dense config (zip).
// The export is built in a temporary folder under the data directory and
// removed once sent, so nothing accumulates.
func (s *Server) exportHead(c *gin.Context) {
	id, ok := pathID(c, "head_id", store.PrefixHead, "head")
	if !ok {
		return
	}
	format := c.DefaultQuery("format", export.FormatONNX)
	if !validFormat(format) {
		badRequestParam(c, "format", fmt.Sprintf("format %q: use one of %v", format, export.Formats))
		return
	}
	ctx := c.Request.Context()
	h, err := s.store.GetHead(ctx, id)
	if err != nil {
		s.abortStore(c, err, fmt.Sprintf("head %s not found", id))
		return
	}
	headDir, err := s.store.Dir(store.KindHeads, id)
	if err != nil {
		s.internalError(c, err)
		return
	}
	req := export.Request{HeadDir: headDir, Format: format}
	if format == export.FormatFusedONNX {
		// The exporter hashes the encoder and verifies the head against it;
		// here, for a clear answer before any work, the encoder must be
		// installed (409) and open (503, a file missing or damaged, as for
		// embeddings).
		if _, err := s.cfg.Models.Get(ctx, h.Encoder); errors.Is(err, model.ErrUnknownModel) {
			abort(c, http.StatusConflict, codeConflict, fmt.Sprintf("head %s was trained on encoder %q, which this server does not have; a fused export needs it (install it under the models folder)", id, h.Encoder))
			return
		} else if err != nil {
			s.writeCollectionError(c, s.encoderBroken(err))
			return
		}
		req.EncoderDir = filepath.Join(s.cfg.Models.Root(), h.Encoder)
	}
	if c.Request.Method == http.MethodHead && format != export.FormatONNX {
		// A zip is streamed without a length, so a HEAD learns all a GET's
		// headers would say without the export being built (seconds for a
		// fused transformer); the head's files and the encoder are still
		// checked as GET does.
		s.headZipExport(c, h, id, format, req)
		return
	}
	tmp, err := s.store.TempDir("export-*")
	if err != nil {
		s.internalError(c, err)
		return
	}
	defer os.RemoveAll(tmp)
	// The folder's name becomes the fused encoder.json's "name": the head
	// id, not a name only this request ever saw.
	req.Out = filepath.Join(tmp, id)
	if format == export.FormatONNX {
		req.Out = filepath.Join(tmp, id+".onnx")
	}
	res, err := s.buildExport(ctx, req)
	if ctx.Err() != nil {
		return // the client gave up (waiting for a build slot, or during it)
	}
	if errors.Is(err, model.ErrHeadEncoderChanged) {
		// The export's error names its scratch folder and the encoder's:
		// where the server keeps files is the operator's business.
		abort(c, http.StatusConflict, codeConflict, s.hidePaths(fmt.Sprintf("encoder %q on this server differs from the one head %s was trained on: %v", h.Encoder, id, err)))
		return
	}
	if err != nil {
		s.abortExport(c, id, format, err)
		return
	}
	if format == export.FormatONNX {
		// Sent whole, like the zips: the file is made for this request, so
		// the range and conditional requests c.File would honour (with a
		// Last-Modified of "now" and plain-text errors) mean nothing here.
		f, err := os.Open(res.Out)
		if err != nil {
			s.internalError(c, err)
			return
		}
		c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.onnx"`, id))
		s.sendFile(c, f, "application/octet-stream")
		return
	}
	zipHeaders(c, id, format)
	if err := export.ZipDir(c.Writer, res.Out, h.CreatedAt); err != nil {
		// Headers are sent: nothing to tell the client. Nearly always it
		// went away, or the server is stopping, so not a server error.
		s.log.Warn("export download not completed", "head", id, "format", format, "err", err)
	}
}

// buildExport runs the exporter; a fused build first waits for one of the
// server's build slots, held until the files are written (the zip then
// streams from disk).
func (s *Server) buildExport(ctx context.Context, req export.Request) (export.Result, error) {
	if req.Format == export.FormatFusedONNX {
		release, err := takeSlot(ctx, s.fusedBuilds)
		if err != nil {
			return export.Result{}, err
		}
		defer release()
	}
	return export.Run(ctx, req)
}

// takeSlot waits for a place in slots (a counting semaphore) or for ctx
// to end; release gives the place back.
func takeSlot(ctx context.Context, slots chan struct{}) (release func(), err error) {
	select {
	case slots <- struct{}{}:
		return func() { <-slots }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// abortExport answers an export's failure to read head id: a 404 if it
// was deleted meanwhile, a 409 if this build refuses what it holds, a 500
// for anything else (its files damaged, the disk).
func (s *Server) abortExport(c *gin.Context, id, format string, err error) {
	if headDeleted(c.Request.Context(), s.store, id, err) {
		notFound(c, fmt.Sprintf("head %s not found (deleted during the export)", id))
		return
	}
	if r := refusedHead(id, err); r != nil {
		abort(c, http.StatusConflict, codeConflict, r.Error())
		return
	}
	s.internalError(c, fmt.Errorf("export head %s as %s: %w", id, format, err))
}

func zipHeaders(c *gin.Context, id, format string) {
	c.Header("Content-Type", "application/zip")
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-%s.zip"`, id, format))
	c.Status(http.StatusOK)
}

// headZipExport answers HEAD for a zip export: a fused one's encoder must
// still be the one the head was trained on (409 otherwise, as GET).
func (s *Server) headZipExport(c *gin.Context, h store.Head, id, format string, req export.Request) {
	// What every export reads first: a damaged or vanished head fails the
	// GET, so it fails the HEAD. Loading it costs its weights' size.
	if _, _, err := model.LoadHead(req.HeadDir); err != nil {
		s.abortExport(c, id, format, err)
		return
	}
	if req.EncoderDir != "" {
		// The registry's encoder hashes its files once per process; a HEAD
		// must not read a model's hundreds of megabytes every time.
		enc, err := s.cfg.Models.Get(c.Request.Context(), h.Encoder)
		if err != nil {
			s.writeCollectionError(c, s.encoderBroken(err))
			return
		}
		sum, err := enc.Checksum()
		if err != nil {
			s.internalError(c, err)
			return
		}
		if sum != h.EncoderChecksum {
			abort(c, http.StatusConflict, codeConflict, fmt.Sprintf("encoder %q on this server differs from the one head %s was trained on: %v",
				h.Encoder, id, fmt.Errorf("%w: checksum %s, head trained on %s", model.ErrHeadEncoderChanged, sum, h.EncoderChecksum)))
			return
		}
	}
	zipHeaders(c, id, format)
}

func validFormat(f string) bool {
	for _, v := range export.Formats {
		if f == v {
			return true
		}
	}
	return false
}
