package api

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"

	"retune/model"
	"retune/store"
)

// A fine-tuned model is named "<encoder>:ft-<head id>", e.g.
// "glove-100d:ft-head-k3jz...": the encoder's embeddings projected by the
// head a job trained on it.
const fineTunedSep = ":ft-"

func fineTunedName(encoder, headID string) string { return encoder + fineTunedSep + headID }

// parseHeadModel splits a fine-tuned model name; ok is false for a plain
// encoder name.
func parseHeadModel(name string) (encoder, headID string, ok bool) {
	i := strings.LastIndex(name, fineTunedSep)
	if i < 0 {
		return name, "", false
	}
	return name[:i], name[i+len(fineTunedSep):], true
}

// embedFunc embeds texts and reports how many tokens the encoder was fed
// and which texts got an all-zero vector (no token the encoder knows, e.g.
// "2019" for GloVe, which a head keeps zero, or a head mapping them to
// zero): such a vector carries nothing about its text.
type embedFunc func(ctx context.Context, texts []string) (vecs [][]float32, tokens int, zero []int, err error)

// errHeadMismatch marks a head whose recorded encoder checksum differs from
// the encoder now installed under its name: its vectors would be
// meaningless, so it is refused (409) rather than applied.
var errHeadMismatch = errors.New("head does not match its encoder")

// modelNotFoundError says why a fine-tuned model name resolves to nothing.
type modelNotFoundError struct{ name, why string }

func (e *modelNotFoundError) Error() string {
	return fmt.Sprintf("model %q not found: %s; GET /v1/models lists the available ones", e.name, e.why)
}

func (e *modelNotFoundError) Unwrap() error { return model.ErrUnknownModel }

// embedderFor returns the function that embeds queries (or any text, as
// /v1/embeddings does) with the named model, an encoder or a fine-tuned
// "<encoder>:ft-<head id>", and the width of its vectors. Heads are loaded
// once and cached. Errors: model.ErrUnknownModel (404), errHeadMismatch
// (409); abortEmbedder answers them.
func (s *Server) embedderFor(ctx context.Context, name string) (embedFunc, int, error) {
	enc, head, err := s.resolveModel(ctx, name)
	if err != nil {
		return nil, 0, err
	}
	dim := enc.Dim()
	if head != nil {
		dim = head.Config().DOut
	}
	return func(ctx context.Context, texts []string) ([][]float32, int, []int, error) {
		vecs, tokens, err := enc.EmbedCount(ctx, texts)
		if err != nil {
			return nil, 0, nil, err
		}
		if head != nil {
			vecs = head.ProjectBatch(vecs)
		}
		var zero []int
		for i, v := range vecs {
			if vectorNorm(v) == 0 {
				zero = append(zero, i)
			}
		}
		return vecs, tokens, zero, nil
	}, dim, nil
}

// resolveModel opens the encoder of name and, for a fine-tuned name, its head.
func (s *Server) resolveModel(ctx context.Context, name string) (*model.Encoder, *model.Head, error) {
	encName, headID, isHead := parseHeadModel(name)
	if isHead && !store.ValidID(store.PrefixHead, headID) {
		return nil, nil, &modelNotFoundError{name, fmt.Sprintf("%q is not a head id", headID)}
	}
	enc, err := s.cfg.Models.Get(ctx, encName)
	if err != nil {
		return nil, nil, withParam(s.encoderBroken(err), "model")
	}
	if !isHead {
		return enc, nil, nil
	}
	head, err := s.heads.load(ctx, s.store, name, encName, headID, enc)
	if err != nil {
		return nil, nil, err
	}
	return enc, head, nil
}

// abortEmbedder answers an embedderFor error about the request's "model".
func (s *Server) abortEmbedder(c *gin.Context, name string, err error) {
	var nf *modelNotFoundError
	switch {
	case errors.As(err, &nf):
		abortParam(c, http.StatusNotFound, codeNotFound, "model", nf.Error())
	case errors.Is(err, model.ErrUnknownModel):
		// The registry's message names server paths; this one does not.
		abortParam(c, http.StatusNotFound, codeNotFound, "model", fmt.Sprintf("model %q not found; GET /v1/models lists the available ones", name))
	case isHeadConflict(err):
		abortParam(c, http.StatusConflict, codeConflict, "model", err.Error())
	case errors.As(err, new(*collectionError)):
		s.writeCollectionError(c, err)
	case c.Request.Context().Err() != nil:
		c.Abort() // the client went away
	default:
		s.internalError(c, err)
	}
}

// headRefusedError is a stored head that this build's checks refuse (an
// earlier build, under looser checks, accepted it): every use of it is a
// 409 that says why and what to do, not a 500.
type headRefusedError struct{ id, reason string }

func (e *headRefusedError) Error() string {
	return fmt.Sprintf("head %s is stored, but this build of retune refuses it: %s; delete it (DELETE /v1/heads/%s) and upload a corrected one",
		e.id, e.reason, e.id)
}

// refusedHead is LoadHead's error about head id as a headRefusedError,
// or nil when it is not a refusal (damage, a missing file).
func refusedHead(id string, err error) *headRefusedError {
	if reason, ok := model.HeadRefusal(err); ok {
		return &headRefusedError{id, reason}
	}
	return nil
}

// isHeadConflict reports whether err says the head a request names cannot
// serve it as stored: trained on other files of its encoder, or refused by
// this build. Either is a 409.
func isHeadConflict(err error) bool {
	return errors.Is(err, errHeadMismatch) || errors.As(err, new(*headRefusedError))
}

// headCache keeps loaded heads by id. A load that overlapped a delete's
// evict does not cache what it loaded, so a deleted head never stays.
type headCache struct {
	mu    sync.Mutex
	heads map[string]cachedHead
	// evictions counts evict calls: a head loaded while one happened may
	// be the deleted one, and is used for its request but not kept.
	evictions uint64
}

// cachedHead is a head with the encoder it was checked against: a hit
// for any other encoder (another name, or the same name reinstalled with
// other weights) goes through the checks again instead of projecting
// vectors the head was not trained on.
type cachedHead struct {
	head                *model.Head
	encoder, encoderSum string
}

func newHeadCache() *headCache { return &headCache{heads: map[string]cachedHead{}} }

func (hc *headCache) load(ctx context.Context, st *store.Store, name, encName, id string, enc *model.Encoder) (*model.Head, error) {
	// Hashed before the lock: the first call after an encoder opens reads
	// all of its files, and must not hold up every other head's requests.
	sum, err := enc.Checksum()
	if err != nil {
		return nil, err
	}
	if h, ok := hc.cached(id, encName, sum); ok {
		return h, nil
	}
	hc.mu.Lock()
	evictions := hc.evictions
	hc.mu.Unlock()
	// Loaded without the lock: reading one head's files must not hold up
	// the requests for heads already cached.
	rec, err := st.GetHead(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &modelNotFoundError{name, "no head " + id}
	}
	if err != nil {
		return nil, err
	}
	if rec.Encoder != encName {
		return nil, &modelNotFoundError{name, fmt.Sprintf("head %s was trained on encoder %q", id, rec.Encoder)}
	}
	dir, err := st.Dir(store.KindHeads, id)
	if err != nil {
		return nil, err
	}
	h, meta, err := model.LoadHead(dir)
	if err != nil {
		if headDeleted(ctx, st, id, err) {
			return nil, &modelNotFoundError{name, "no head " + id}
		}
		if r := refusedHead(id, err); r != nil {
			return nil, r
		}
		return nil, fmt.Errorf("load head %s: %w", id, err)
	}
	if err := model.VerifyEncoder(meta, sum); err != nil {
		return nil, fmt.Errorf("%w: head %s: %w", errHeadMismatch, id, err)
	}
	if h.Config().DIn != enc.Dim() {
		return nil, fmt.Errorf("%w: head %s takes %d dims, encoder %q outputs %d", errHeadMismatch, id, h.Config().DIn, encName, enc.Dim())
	}
	h.Freeze() // served heads never change
	hc.mu.Lock()
	if hc.evictions == evictions {
		hc.heads[id] = cachedHead{head: h, encoder: encName, encoderSum: sum}
	}
	hc.mu.Unlock()
	return h, nil
}

// headDeleted reports whether err, from reading head id's files, means
// the head was deleted meanwhile (its row is gone too): a 404 like any
// request after the delete. Files missing under a live row are damage.
func headDeleted(ctx context.Context, st *store.Store, id string, err error) bool {
	if !errors.Is(err, fs.ErrNotExist) {
		return false
	}
	_, gerr := st.GetHead(ctx, id)
	return errors.Is(gerr, store.ErrNotFound)
}

// cached returns head id when it is loaded and was checked against the
// encoder encName with checksum sum (a deleted head is evicted first).
func (hc *headCache) cached(id, encName, sum string) (*model.Head, bool) {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	c, ok := hc.heads[id]
	if !ok || c.encoder != encName || c.encoderSum != sum {
		return nil, false
	}
	return c.head, true
}

func (hc *headCache) evict(id string) {
	hc.mu.Lock()
	hc.evictions++
	delete(hc.heads, id)
	hc.mu.Unlock()
}
