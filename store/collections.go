package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// Collection statuses.
const (
	CollectionIndexing = "indexing"
	CollectionReady    = "ready"
	CollectionFailed   = "failed"
)

// Collection is a searchable index of documents embedded with an encoder
// and, optionally, a head. Its index files live in
// Dir(KindCollections, ID).
type Collection struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Encoder   string    `json:"encoder"`
	HeadID    string    `json:"head_id,omitempty"`
	DatasetID string    `json:"dataset_id,omitempty"`
	Status    string    `json:"status"`
	Docs      int       `json:"docs"`
	Progress  float64   `json:"progress"` // 0..1 while indexing
	Error     string    `json:"error,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// Unembeddable describes the documents indexing left out because the
	// encoder gave them no vector (JSON; nil when none).
	Unembeddable json.RawMessage `json:"unembeddable,omitempty"`
}

const collectionCols = `id, name, encoder, head_id, dataset_id, status, docs, progress, error, created_at, unembeddable`

func validCollectionStatus(s string) bool {
	return s == CollectionIndexing || s == CollectionReady || s == CollectionFailed
}

// CreateCollection inserts c. An empty ID gets a new "col-" id, an empty
// Status becomes indexing, a zero CreatedAt becomes now. A non-empty HeadID
// or DatasetID must name an existing head or dataset (ErrNotFound
// otherwise). It returns c as stored.
func (s *Store) CreateCollection(ctx context.Context, c Collection) (Collection, error) {
	if c.ID == "" {
		c.ID = NewID(PrefixCollection)
	}
	if err := checkID("collection", PrefixCollection, c.ID); err != nil {
		return Collection{}, err
	}
	if err := checkOptionalID("head", PrefixHead, c.HeadID); err != nil {
		return Collection{}, err
	}
	if err := checkOptionalID("dataset", PrefixDataset, c.DatasetID); err != nil {
		return Collection{}, err
	}
	if c.Encoder == "" {
		return Collection{}, fmt.Errorf("%w: collection encoder is empty", ErrInvalidArgument)
	}
	if c.Status == "" {
		c.Status = CollectionIndexing
	}
	if err := checkCollectionState(c.Status, c.Docs, c.Progress); err != nil {
		return Collection{}, err
	}
	var err error
	if c.CreatedAt, err = stamp(c.CreatedAt); err != nil {
		return Collection{}, err
	}
	err = s.withTx(ctx, func(tx *sql.Tx) error {
		for _, ref := range []struct{ table, id string }{{"heads", c.HeadID}, {"datasets", c.DatasetID}} {
			if ref.id == "" {
				continue
			}
			if err := mustExist(ctx, tx, ref.table, ref.id); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO collections (`+collectionCols+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.ID, c.Name, c.Encoder, c.HeadID, c.DatasetID, c.Status, c.Docs, c.Progress, c.Error,
			c.CreatedAt.UnixNano(), nullJSON(c.Unembeddable))
		return constraintErr(err)
	})
	if err != nil {
		return Collection{}, fmt.Errorf("create collection %s: %w", c.ID, err)
	}
	return c, nil
}

// GetCollection returns the collection with the given id or ErrNotFound.
func (s *Store) GetCollection(ctx context.Context, id string) (Collection, error) {
	return getOne(ctx, s, "collection", PrefixCollection, "collections", collectionCols, id, scanCollection)
}

// ListCollections lists collections newest first; hasMore reports whether
// another page follows.
func (s *Store) ListCollections(ctx context.Context, p Page) ([]Collection, bool, error) {
	return listPage(ctx, s, "collections", collectionCols, PrefixCollection, p, scanCollection)
}

// UpdateCollection sets the collection's status, document count, indexing
// progress (0..1) and error message (empty clears it).
func (s *Store) UpdateCollection(ctx context.Context, id, status string, docs int, progress float64, errMsg string) error {
	if err := checkID("collection", PrefixCollection, id); err != nil {
		return err
	}
	if err := checkCollectionState(status, docs, progress); err != nil {
		return err
	}
	return s.execOne(ctx, "update collection", id,
		`UPDATE collections SET status = ?, docs = ?, progress = ?, error = ? WHERE id = ?`,
		status, docs, progress, errMsg, id)
}

// SetCollectionUnembeddable records which documents indexing left out for
// having no vector (nil clears it).
func (s *Store) SetCollectionUnembeddable(ctx context.Context, id string, data json.RawMessage) error {
	if err := checkID("collection", PrefixCollection, id); err != nil {
		return err
	}
	if err := checkJSON("collection unembeddable", data); err != nil {
		return err
	}
	return s.execOne(ctx, "update collection", id, `UPDATE collections SET unembeddable = ? WHERE id = ?`,
		nullJSON(data), id)
}

// DeleteCollection deletes the collection's row; removing its index files
// is the caller's job (RemoveDir).
func (s *Store) DeleteCollection(ctx context.Context, id string) error {
	if err := checkID("collection", PrefixCollection, id); err != nil {
		return err
	}
	return s.execOne(ctx, "delete collection", id, `DELETE FROM collections WHERE id = ?`, id)
}

// UnfinishedCollections returns the collections still indexing, oldest
// first: at start-up these are the ones a crash or restart interrupted.
func (s *Store) UnfinishedCollections(ctx context.Context) ([]Collection, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+collectionCols+` FROM collections WHERE status = ?
		ORDER BY created_at, id`, CollectionIndexing)
	if err != nil {
		return nil, fmt.Errorf("unfinished collections: %w", err)
	}
	cols, err := collect(rows, scanCollection)
	if err != nil {
		return nil, fmt.Errorf("unfinished collections: %w", err)
	}
	return cols, nil
}

func checkCollectionState(status string, docs int, progress float64) error {
	if !validCollectionStatus(status) {
		return fmt.Errorf("%w: collection status %q", ErrInvalidArgument, status)
	}
	if err := checkCount("collection docs", int64(docs)); err != nil {
		return err
	}
	return checkFraction("collection progress", progress)
}

func scanCollection(r rowScanner) (Collection, error) {
	var (
		c            Collection
		at           int64
		unembeddable sql.NullString
	)
	if err := r.Scan(&c.ID, &c.Name, &c.Encoder, &c.HeadID, &c.DatasetID, &c.Status, &c.Docs,
		&c.Progress, &c.Error, &at, &unembeddable); err != nil {
		return Collection{}, err
	}
	c.CreatedAt = fromNanos(at)
	c.Unembeddable = rawJSON(unembeddable)
	return c, nil
}
