package api

import (
	"context"
	"errors"
	"strings"

	"retune/model"
	"retune/store"
)

// collectionHead returns head id's weights for use on top of enc, through
// the server's head cache. A head only means something in the embedding
// space it was trained in, so one trained on another encoder (by checksum,
// not just by name) is a 409 naming both.
func (s *Server) collectionHead(ctx context.Context, id string, enc *model.Encoder) (*model.Head, error) {
	h, err := s.encoderHead(ctx, id, enc)
	if err != nil {
		return nil, err
	}
	// Stored before uploads were checked for it: documents keep the
	// encoder's width, so its queries could be compared with none of them.
	if cfg := h.Config(); cfg.CheckQueryWidth() != nil {
		return nil, colConflict("head %s projects queries only but changes their width (%d → %d dimensions), so it can search no collection: documents keep the encoder's %d; delete it",
			id, cfg.DIn, cfg.DOut, cfg.DIn)
	}
	return h, nil
}

// encoderHead is collectionHead without the check that the head can
// compare its queries with a collection's documents.
func (s *Server) encoderHead(ctx context.Context, id string, enc *model.Encoder) (*model.Head, error) {
	if !store.ValidID(store.PrefixHead, id) {
		return nil, colBadRequest("head %q is not a head id (head-...)", id)
	}
	sum, err := enc.Checksum()
	if err != nil {
		return nil, err
	}
	// A head in the cache was checked against this encoder when it loaded,
	// and leaves it when deleted: a search need not read the database.
	if h, ok := s.heads.cached(id, enc.Name(), sum); ok {
		return h, nil
	}
	row, err := s.store.GetHead(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, colNotFound("head %s not found", id)
	}
	if err != nil {
		return nil, err
	}
	if !strings.EqualFold(row.EncoderChecksum, sum) {
		return nil, colConflict("head %s was trained on encoder %q (sha256 %s), but %q here has sha256 %s: its vectors would be meaningless; use a head trained on this encoder",
			id, row.Encoder, short(row.EncoderChecksum), enc.Name(), short(sum))
	}
	h, err := s.heads.load(ctx, s.store, fineTunedName(enc.Name(), id), enc.Name(), id, enc)
	var nf *modelNotFoundError
	switch {
	case errors.As(err, &nf):
		return nil, colNotFound("%s", nf.Error())
	case isHeadConflict(err):
		return nil, colConflict("%v", err)
	}
	return h, err
}

// short abbreviates a checksum for messages.
func short(sum string) string {
	if len(sum) > 12 {
		return sum[:12] + "…"
	}
	return sum
}
