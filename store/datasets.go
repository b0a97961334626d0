package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Dataset formats.
const (
	FormatBEIR  = "beir"  // corpus, queries and qrels per split
	FormatPairs = "pairs" // (query, positive passage) pairs
)

// SplitInfo counts one split ("train", "dev", "test", ...) of a dataset.
type SplitInfo struct {
	Queries int `json:"queries"`
	Pairs   int `json:"pairs"`
}

// Dataset is an uploaded training corpus. Its files live in
// Dir(KindDatasets, ID).
type Dataset struct {
	ID        string               `json:"id"`
	Name      string               `json:"name"`
	Format    string               `json:"format"`
	Checksum  string               `json:"checksum"` // SHA-256 of the upload
	Bytes     int64                `json:"bytes"`
	Docs      int                  `json:"docs"`
	Queries   int                  `json:"queries"`
	Splits    map[string]SplitInfo `json:"splits,omitempty"`
	CreatedAt time.Time            `json:"created_at"`
}

const datasetCols = `id, name, format, checksum, bytes, docs, queries, splits, created_at`

// CreateDataset inserts d. An empty ID gets a new "ds-" id (callers that
// write the files first generate the id themselves with NewID); a zero
// CreatedAt becomes now. It returns d as stored, ErrConflict if the id
// exists.
func (s *Store) CreateDataset(ctx context.Context, d Dataset) (Dataset, error) {
	if d.ID == "" {
		d.ID = NewID(PrefixDataset)
	}
	if err := checkID("dataset", PrefixDataset, d.ID); err != nil {
		return Dataset{}, err
	}
	if d.Format != FormatBEIR && d.Format != FormatPairs {
		return Dataset{}, fmt.Errorf("%w: dataset format %q", ErrInvalidArgument, d.Format)
	}
	if d.Bytes < 0 || d.Docs < 0 || d.Queries < 0 {
		return Dataset{}, fmt.Errorf("%w: negative dataset size (bytes %d, docs %d, queries %d)",
			ErrInvalidArgument, d.Bytes, d.Docs, d.Queries)
	}
	var splits sql.NullString
	if len(d.Splits) > 0 {
		b, err := json.Marshal(d.Splits)
		if err != nil {
			return Dataset{}, fmt.Errorf("encode splits: %w", err)
		}
		splits = sql.NullString{String: string(b), Valid: true}
	} else {
		d.Splits = nil // read back as nil: no splits is stored as NULL
	}
	var err error
	if d.CreatedAt, err = stamp(d.CreatedAt); err != nil {
		return Dataset{}, err
	}
	_, err = s.w.ExecContext(ctx, `INSERT INTO datasets (`+datasetCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.ID, d.Name, d.Format, d.Checksum, d.Bytes, d.Docs, d.Queries, splits, d.CreatedAt.UnixNano())
	if err != nil {
		return Dataset{}, fmt.Errorf("create dataset %s: %w", d.ID, constraintErr(err))
	}
	return d, nil
}

// GetDataset returns the dataset with the given id or ErrNotFound.
func (s *Store) GetDataset(ctx context.Context, id string) (Dataset, error) {
	return getOne(ctx, s, "dataset", PrefixDataset, "datasets", datasetCols, id, scanDataset)
}

// ListDatasets lists datasets newest first; hasMore reports whether
// another page follows.
func (s *Store) ListDatasets(ctx context.Context, p Page) ([]Dataset, bool, error) {
	return listPage(ctx, s, "datasets", datasetCols, PrefixDataset, p, scanDataset)
}

// DeleteDataset deletes the dataset's row. It returns ErrConflict while a
// job that has not finished (validating, queued, running) or a collection
// still indexing reads the dataset's files. Removing the files is the
// caller's job (RemoveDir), done after this succeeds so a refused delete
// loses nothing.
func (s *Store) DeleteDataset(ctx context.Context, id string) error {
	if err := checkID("dataset", PrefixDataset, id); err != nil {
		return err
	}
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		if err := mustExist(ctx, tx, "datasets", id); err != nil {
			return err
		}
		var jobID string
		err := tx.QueryRowContext(ctx, `SELECT id FROM jobs WHERE dataset_id = ? AND status IN (?, ?, ?) LIMIT 1`,
			id, JobValidating, JobQueued, JobRunning).Scan(&jobID)
		if err == nil {
			return inUse("dataset %s is used by unfinished job %s: cancel it or wait for it to end", id, jobID)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var colID string
		err = tx.QueryRowContext(ctx, `SELECT id FROM collections WHERE dataset_id = ? AND status = ? LIMIT 1`,
			id, CollectionIndexing).Scan(&colID)
		if err == nil {
			return inUse("dataset %s is used by collection %s, which is indexing it: delete the collection or wait for it to be ready", id, colID)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM datasets WHERE id = ?`, id)
		return err
	})
	return wrapUnlessInUse(err, "delete dataset %s", id)
}

func scanDataset(r rowScanner) (Dataset, error) {
	var (
		d      Dataset
		splits sql.NullString
		at     int64
	)
	if err := r.Scan(&d.ID, &d.Name, &d.Format, &d.Checksum, &d.Bytes, &d.Docs, &d.Queries, &splits, &at); err != nil {
		return Dataset{}, err
	}
	if splits.Valid {
		if err := json.Unmarshal([]byte(splits.String), &d.Splits); err != nil {
			return Dataset{}, fmt.Errorf("decode splits of %s: %w", d.ID, err)
		}
	}
	d.CreatedAt = fromNanos(at)
	return d, nil
}
