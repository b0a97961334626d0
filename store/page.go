package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Page selects one page of a newest-first listing. After is the id of the
// last object of the previous page (empty for the first page), as in the
// OpenAI API's `after` parameter; a cursor naming an object rather than an
// offset keeps pages stable while new objects are created.
type Page struct {
	Limit int
	After string
}

// Page size bounds, as in the OpenAI API.
const (
	DefaultPageLimit = 20
	MaxPageLimit     = 100
)

// limit clamps p.Limit into [1, MaxPageLimit], defaulting when unset.
func (p Page) limit() int {
	switch {
	case p.Limit <= 0:
		return DefaultPageLimit
	case p.Limit > MaxPageLimit:
		return MaxPageLimit
	}
	return p.Limit
}

// listPage lists rows of table (which must have id and created_at columns
// and an index on (created_at DESC, id DESC)) newest first, ties broken by
// id so the order is total and the cursor is exact. It fetches one row more
// than the page to learn whether there is another page.
//
// table and cols are constants from this package, never user input.
func listPage[T any](ctx context.Context, s *Store, table, cols, prefix string, p Page,
	scan func(rowScanner) (T, error)) ([]T, bool, error) {
	limit := p.limit()
	var (
		rows *sql.Rows
		err  error
	)
	if p.After == "" {
		rows, err = s.r.QueryContext(ctx, `SELECT `+cols+` FROM `+table+`
			ORDER BY created_at DESC, id DESC LIMIT ?`, limit+1)
	} else {
		if err := checkID("cursor", prefix, p.After); err != nil {
			return nil, false, err
		}
		var at int64
		if err := s.r.QueryRowContext(ctx, `SELECT created_at FROM `+table+` WHERE id = ?`, p.After).Scan(&at); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return nil, false, fmt.Errorf("cursor %s: %w", p.After, ErrNotFound)
			}
			return nil, false, fmt.Errorf("read cursor %s: %w", p.After, err)
		}
		rows, err = s.r.QueryContext(ctx, `SELECT `+cols+` FROM `+table+`
			WHERE created_at < ? OR (created_at = ? AND id < ?)
			ORDER BY created_at DESC, id DESC LIMIT ?`, at, at, p.After, limit+1)
	}
	if err != nil {
		return nil, false, fmt.Errorf("list %s: %w", table, err)
	}
	out, err := collect(rows, scan)
	if err != nil {
		return nil, false, fmt.Errorf("list %s: %w", table, err)
	}
	if len(out) > limit {
		return out[:limit], true, nil
	}
	return out, false, nil
}

// collect scans every row and closes rows.
func collect[T any](rows *sql.Rows, scan func(rowScanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// getOne reads the row with the given id, validating the id first and
// mapping a missing row to ErrNotFound.
func getOne[T any](ctx context.Context, s *Store, what, prefix, table, cols, id string,
	scan func(rowScanner) (T, error)) (T, error) {
	var zero T
	if err := checkID(what, prefix, id); err != nil {
		return zero, err
	}
	v, err := scan(s.r.QueryRowContext(ctx, `SELECT `+cols+` FROM `+table+` WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return zero, fmt.Errorf("%s %s: %w", what, id, ErrNotFound)
	}
	if err != nil {
		return zero, fmt.Errorf("get %s %s: %w", what, id, err)
	}
	return v, nil
}
