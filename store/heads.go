package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Head is a trained adapter applied on top of an encoder's embeddings. Its
// weights live in Dir(KindHeads, ID).
type Head struct {
	ID              string          `json:"id"`
	JobID           string          `json:"job_id,omitempty"` // the job that trained it, if any
	Encoder         string          `json:"encoder"`
	EncoderChecksum string          `json:"encoder_checksum"` // the exact encoder weights it was trained on
	DIn             int             `json:"d_in"`
	DOut            int             `json:"d_out"`
	Apply           string          `json:"apply"` // how the head is applied (which side, residual, ...)
	Metrics         json.RawMessage `json:"metrics,omitempty"`
	CreatedAt       time.Time       `json:"created_at"`
}

const headCols = `id, job_id, encoder, encoder_checksum, d_in, d_out, apply, metrics, created_at`

// CreateHead inserts h. An empty ID gets a new "head-" id, a zero CreatedAt
// becomes now. A non-empty JobID must name an existing job (ErrNotFound
// otherwise). It returns h as stored.
func (s *Store) CreateHead(ctx context.Context, h Head) (Head, error) {
	h, err := normalizeHead(h)
	if err != nil {
		return Head{}, err
	}
	if err := s.withTx(ctx, func(tx *sql.Tx) error { return createHeadTx(ctx, tx, h) }); err != nil {
		return Head{}, fmt.Errorf("create head %s: %w", h.ID, err)
	}
	return h, nil
}

// normalizeHead validates h and fills its defaults.
func normalizeHead(h Head) (Head, error) {
	if h.ID == "" {
		h.ID = NewID(PrefixHead)
	}
	if err := checkID("head", PrefixHead, h.ID); err != nil {
		return Head{}, err
	}
	if err := checkOptionalID("job", PrefixJob, h.JobID); err != nil {
		return Head{}, err
	}
	if h.Encoder == "" {
		return Head{}, fmt.Errorf("%w: head encoder is empty", ErrInvalidArgument)
	}
	if h.DIn <= 0 || h.DOut <= 0 {
		return Head{}, fmt.Errorf("%w: head dimensions %dx%d", ErrInvalidArgument, h.DIn, h.DOut)
	}
	if err := checkJSON("head metrics", h.Metrics); err != nil {
		return Head{}, err
	}
	h.Metrics = emptyToNil(h.Metrics)
	var err error
	if h.CreatedAt, err = stamp(h.CreatedAt); err != nil {
		return Head{}, err
	}
	return h, nil
}

func createHeadTx(ctx context.Context, tx *sql.Tx, h Head) error {
	if h.JobID != "" {
		if err := mustExist(ctx, tx, "jobs", h.JobID); err != nil {
			return err
		}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO heads (`+headCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		h.ID, h.JobID, h.Encoder, h.EncoderChecksum, h.DIn, h.DOut, h.Apply, nullJSON(h.Metrics),
		h.CreatedAt.UnixNano())
	return constraintErr(err)
}

// GetHead returns the head with the given id or ErrNotFound.
func (s *Store) GetHead(ctx context.Context, id string) (Head, error) {
	return getOne(ctx, s, "head", PrefixHead, "heads", headCols, id, scanHead)
}

// ListHeads lists heads newest first; hasMore reports whether another page
// follows.
func (s *Store) ListHeads(ctx context.Context, p Page) ([]Head, bool, error) {
	return listPage(ctx, s, "heads", headCols, PrefixHead, p, scanHead)
}

// DeleteHead deletes the head's row. It returns ErrConflict while a
// collection that is indexing or ready uses the head, since such a
// collection needs it to embed queries. Removing the weight files is the
// caller's job (RemoveDir), done after this succeeds.
func (s *Store) DeleteHead(ctx context.Context, id string) error {
	if err := checkID("head", PrefixHead, id); err != nil {
		return err
	}
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		var colID string
		err := tx.QueryRowContext(ctx, `SELECT id FROM collections WHERE head_id = ? AND status IN (?, ?) LIMIT 1`,
			id, CollectionIndexing, CollectionReady).Scan(&colID)
		if err == nil {
			return inUse("head %s is used by collection %s: delete the collection first", id, colID)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM heads WHERE id = ?`, id)
		if err != nil {
			return err
		}
		return affectedOne(res)
	})
	return wrapUnlessInUse(err, "delete head %s", id)
}

func scanHead(r rowScanner) (Head, error) {
	var (
		h       Head
		metrics sql.NullString
		at      int64
	)
	if err := r.Scan(&h.ID, &h.JobID, &h.Encoder, &h.EncoderChecksum, &h.DIn, &h.DOut, &h.Apply,
		&metrics, &at); err != nil {
		return Head{}, err
	}
	h.Metrics = rawJSON(metrics)
	h.CreatedAt = fromNanos(at)
	return h, nil
}
