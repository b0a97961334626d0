package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"

	"github.com/gin-gonic/gin"

	"retune/store"
	"retune/train"
)

func (s *Server) headRoutes(g *gin.RouterGroup) {
	g.POST("/heads", s.createHead)
	g.GET("/heads", s.listHeads)
	g.GET("/heads/:head_id", s.getHead)
	g.DELETE("/heads/:head_id", s.deleteHead)
	g.GET("/heads/:head_id/export", s.exportHead)
	g.GET("/heads/:head_id/negatives", s.headNegatives)
}

// headObject is a trained head as the API shows it; Model is the name that
// selects it in POST /v1/embeddings.
type headObject struct {
	ID              string          `json:"id"`
	Object          string          `json:"object"`
	Model           string          `json:"model"`
	Job             *string         `json:"job"`
	Encoder         string          `json:"encoder"`
	EncoderChecksum string          `json:"encoder_checksum"`
	DIn             int             `json:"d_in"`
	DOut            int             `json:"d_out"`
	Apply           string          `json:"apply"`
	Metrics         json.RawMessage `json:"metrics"`
	CreatedAt       int64           `json:"created_at"`
}

func headView(h store.Head) headObject {
	v := headObject{ID: h.ID, Object: "head", Model: fineTunedName(h.Encoder, h.ID), Encoder: h.Encoder,
		EncoderChecksum: h.EncoderChecksum, DIn: h.DIn, DOut: h.DOut, Apply: h.Apply, Metrics: h.Metrics,
		CreatedAt: h.CreatedAt.Unix()}
	if h.JobID != "" {
		v.Job = &h.JobID
	}
	if v.Metrics == nil {
		v.Metrics = json.RawMessage(`{}`)
	}
	return v
}

func (s *Server) listHeads(c *gin.Context) {
	page, ok := parsePage(c, store.PrefixHead, "head")
	if !ok {
		return
	}
	heads, more, err := s.store.ListHeads(c.Request.Context(), page)
	if err != nil {
		s.abortList(c, err, "head", page.After)
		return
	}
	views := make([]headObject, len(heads))
	for i, h := range heads {
		views[i] = headView(h)
	}
	c.JSON(http.StatusOK, newList(views, more))
}

func (s *Server) getHead(c *gin.Context) {
	id, ok := pathID(c, "head_id", store.PrefixHead, "head")
	if !ok {
		return
	}
	h, err := s.store.GetHead(c.Request.Context(), id)
	if err != nil {
		s.abortStore(c, err, fmt.Sprintf("head %s not found", id))
		return
	}
	c.JSON(http.StatusOK, headView(h))
}

// deleteHead refuses (409) while a collection uses the head.
func (s *Server) deleteHead(c *gin.Context) {
	id, ok := pathID(c, "head_id", store.PrefixHead, "head")
	if !ok {
		return
	}
	if err := s.store.DeleteHead(c.Request.Context(), id); err != nil {
		s.abortStore(c, err, fmt.Sprintf("head %s not found", id))
		return
	}
	s.heads.evict(id)
	if err := s.store.RemoveDir(store.KindHeads, id); err != nil {
		s.log.Error("remove head files", "head", id, "err", err)
	}
	c.JSON(http.StatusOK, deletedObject{ID: id, Object: "head", Deleted: true})
}

// headModels lists the heads of the installed encoders as models, by their
// fine-tuned model names: a head whose encoder is gone cannot embed.
func (s *Server) headModels(ctx context.Context, installed []string) ([]modelInfo, error) {
	var out []modelInfo
	page := store.Page{Limit: store.MaxPageLimit}
	for {
		heads, more, err := s.store.ListHeads(ctx, page)
		if err != nil {
			return nil, err
		}
		for _, h := range heads {
			if slices.Contains(installed, h.Encoder) {
				out = append(out, modelInfo{ID: fineTunedName(h.Encoder, h.ID), Object: "model", OwnedBy: "retune"})
			}
		}
		if !more || len(heads) == 0 {
			return out, nil
		}
		page.After = heads[len(heads)-1].ID
	}
}

// headNegatives returns the counterfactuals a head was trained against, with
// their provenance and the generation report (the file `retune train`
// writes beside a head, train.GeneratedFile), as stored.
func (s *Server) headNegatives(c *gin.Context) {
	id, ok := pathID(c, "head_id", store.PrefixHead, "head")
	if !ok {
		return
	}
	ctx := c.Request.Context()
	if _, err := s.store.GetHead(ctx, id); err != nil {
		s.abortStore(c, err, fmt.Sprintf("head %s not found", id))
		return
	}
	dir, err := s.store.Dir(store.KindHeads, id)
	if err != nil {
		s.internalError(c, err)
		return
	}
	f, err := os.Open(filepath.Join(dir, train.GeneratedFile))
	if errors.Is(err, fs.ErrNotExist) {
		notFound(c, fmt.Sprintf("head %s has no stored generated negatives: it was trained without them (negatives none or mined), by a job that ended before this server kept them, or uploaded without a negatives part", id))
		return
	}
	if err != nil {
		s.internalError(c, err)
		return
	}
	s.sendFile(c, f, "application/json")
}

// sendFile answers 200 with the open file f, whole, with its length (not
// c.File: no range or conditional requests for a file made or checked for
// this request), and closes it.
func (s *Server) sendFile(c *gin.Context, f *os.File, contentType string) {
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		s.internalError(c, err)
		return
	}
	c.DataFromReader(http.StatusOK, st.Size(), contentType, f, nil)
}
