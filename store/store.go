// Package store is retune's persistence: metadata (datasets, fine-tuning
// jobs and their events, checkpoints, heads, collections) lives in SQLite;
// large blobs (uploaded corpora, embedding caches, head weights) live as
// files under the data directory and are written atomically.
//
// Every method validates the ids it is given (see ValidID) before touching
// the database or the file system, so an id taken from a URL can never name
// a path outside the data directory.
package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/gofrs/flock"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// dbFile is the metadata database's name inside the data directory.
const dbFile = "retune.db"

// defaultBusyTimeout bounds how long SQLite waits for a lock held by
// another connection (a reader during WAL recovery, or another process)
// before reporting SQLITE_BUSY.
const defaultBusyTimeout = 10 * time.Second

// Option configures Open.
type Option func(*options)

type options struct {
	busyTimeout time.Duration
}

// WithBusyTimeout sets how long a statement waits for a lock another
// process holds on the database before failing with SQLITE_BUSY (default
// 10 s). Tests shorten it to exercise what callers do with such failures.
func WithBusyTimeout(d time.Duration) Option {
	return func(o *options) { o.busyTimeout = d }
}

// Store is the service's persistence. It is safe for concurrent use.
type Store struct {
	dir string
	// w is the only connection that writes. SQLite admits one writer at a
	// time; queueing writers in database/sql's pool instead of in SQLite's
	// lock means our own goroutines never see SQLITE_BUSY, and a
	// read-then-write transaction can never deadlock against another one.
	w *sql.DB
	// r serves reads. Under WAL, readers neither block the writer nor are
	// blocked by it, so reads don't queue behind a long write.
	r *sql.DB
	// lock is the data directory's lock, held until Close.
	lock *flock.Flock
}

// Open creates dataDir if needed, opens (creating if needed) the metadata
// database dataDir/retune.db and brings its schema up to date.
func Open(ctx context.Context, dataDir string, opts ...Option) (*Store, error) {
	o := options{busyTimeout: defaultBusyTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	busyMS := max(o.busyTimeout.Milliseconds(), 1)
	dir, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, fmt.Errorf("store: data dir %q: %w", dataDir, err)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("store: create data dir: %w", err)
	}
	lock, err := lockDataDir(dir)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	dbPath := filepath.Join(dir, dbFile)

	w, err := openDB(ctx, dbPath, writerParams(busyMS))
	if err != nil {
		lock.Close()
		if p := StorageProblem(err); p != "" {
			return nil, fmt.Errorf("store: open writer (%s): %w", p, err)
		}
		return nil, fmt.Errorf("store: open writer: %w", err)
	}
	// One connection, kept forever: see Store.w.
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)

	// journal_mode=WAL silently stays at the old mode on file systems that
	// cannot share memory between processes; the concurrency design above
	// depends on WAL, so refuse to run without it.
	var mode string
	if err := w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		w.Close()
		lock.Close()
		return nil, fmt.Errorf("store: read journal mode: %w", err)
	}
	if mode != "wal" {
		w.Close()
		lock.Close()
		return nil, fmt.Errorf("store: journal mode is %q, want wal", mode)
	}
	if err := migrate(ctx, w, migrations); err != nil {
		w.Close()
		lock.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	if err := checkWritable(ctx, w); err != nil {
		w.Close()
		lock.Close()
		return nil, fmt.Errorf("store: %w", err)
	}

	r, err := openDB(ctx, dbPath, readerParams(busyMS))
	if err != nil {
		w.Close()
		lock.Close()
		return nil, fmt.Errorf("store: open reader: %w", err)
	}
	r.SetMaxOpenConns(max(4, runtime.GOMAXPROCS(0)))

	s := &Store{dir: dir, w: w, r: r, lock: lock}
	if err := s.sweep(); err != nil {
		s.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	return s, nil
}

// checkWritable makes one real write (user_version, which nothing else
// uses, rewritten with its own value), so that a database SQLite opened
// read-only, or a full disk, stops the server at start with the reason
// rather than failing every later write with a 500.
func checkWritable(ctx context.Context, w *sql.DB) error {
	var v int
	if err := w.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("read user_version: %w", err)
	}
	if _, err := w.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", v)); err != nil {
		if p := StorageProblem(err); p != "" {
			return fmt.Errorf("cannot write the database (%s): %w", p, err)
		}
		return fmt.Errorf("cannot write the database: %w", err)
	}
	return nil
}

// Close closes the database, empties the scratch area (TempDir) and
// releases the data directory. Blob files need no closing.
func (s *Store) Close() error {
	// The scratch area goes too: a request cut off at shutdown may not get
	// to remove its folder before the process exits.
	scratch := os.RemoveAll(filepath.Join(s.dir, scratchDir))
	return errors.Join(s.r.Close(), s.w.Close(), scratch, s.lock.Close()) // closing releases the lock
}

// DataDir is the absolute data directory the store was opened on.
func (s *Store) DataDir() string { return s.dir }

// writerParams are applied by the driver to every new connection.
// foreign_keys is per connection in SQLite, hence here and not in a
// migration; synchronous=NORMAL is durable across process crashes under WAL
// and only risks the last transactions on power loss, which is acceptable
// for metadata that jobs can recompute. _txlock=immediate takes the write
// lock at BEGIN, so a transaction that reads then writes cannot fail halfway
// with SQLITE_BUSY if another process holds the database.
func writerParams(busyMS int64) url.Values {
	return url.Values{
		"_pragma": {
			fmt.Sprintf("busy_timeout(%d)", busyMS),
			"journal_mode(WAL)",
			"foreign_keys(ON)",
			"synchronous(NORMAL)",
		},
		"_txlock": {"immediate"},
	}
}

// readerParams make reader connections unable to write, so a write
// accidentally sent to the reader pool fails loudly instead of racing the
// single writer.
func readerParams(busyMS int64) url.Values {
	return url.Values{
		"_pragma": {
			fmt.Sprintf("busy_timeout(%d)", busyMS),
			"foreign_keys(ON)",
			"query_only(ON)",
		},
	}
}

// openDB opens path as an SQLite URI, so a data directory whose name holds
// '?' or '#' is escaped instead of being parsed as parameters.
func openDB(ctx context.Context, path string, params url.Values) (*sql.DB, error) {
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path), RawQuery: params.Encode()}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return nil, err
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// withTx runs fn in a write transaction on the single writer connection and
// commits if fn succeeds. fn must use tx only: asking s.w for another
// connection inside fn would wait forever for the one that tx holds.
func (s *Store) withTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback() // fn's error is the one worth reporting
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// querier is what both *sql.DB and *sql.Tx offer, so a getter can read
// through the reader pool or inside a write transaction.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// rowScanner is what both *sql.Row and *sql.Rows offer.
type rowScanner interface {
	Scan(dest ...any) error
}

// Times are stored as INTEGER unix nanoseconds (UTC by definition), which
// round-trip exactly and sort correctly; the representable range is the
// years 1678 to 2262.
var (
	minTime = time.Unix(0, -1<<63).UTC()
	maxTime = time.Unix(0, 1<<63-1).UTC()
)

// now is the store's clock. UTC() also drops the monotonic reading, so a
// value returned by a Create method compares == to the one read back later.
func now() time.Time { return time.Now().UTC() }

// stamp returns t normalised to what the database will give back, using the
// current time when t is zero.
func stamp(t time.Time) (time.Time, error) {
	if t.IsZero() {
		return time.Unix(0, now().UnixNano()).UTC(), nil
	}
	if t.Before(minTime) || t.After(maxTime) {
		return time.Time{}, fmt.Errorf("%w: time %s out of range", ErrInvalidArgument, t)
	}
	return time.Unix(0, t.UnixNano()).UTC(), nil
}

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

func nullTime(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromNanos(n.Int64)
	return &t
}

// execOne runs a single-row UPDATE or DELETE on the writer and reports
// ErrNotFound when no row has the id.
func (s *Store) execOne(ctx context.Context, what, id, query string, args ...any) error {
	res, err := s.w.ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, id, constraintErr(err))
	}
	if err := affectedOne(res); err != nil {
		return fmt.Errorf("%s %s: %w", what, id, err)
	}
	return nil
}

// JSON columns are TEXT, NULL when the value is absent, so an absent value
// reads back as nil rather than as an empty or "null" message.
func nullJSON(raw json.RawMessage) sql.NullString {
	if len(raw) == 0 {
		return sql.NullString{}
	}
	return sql.NullString{String: string(raw), Valid: true}
}

func rawJSON(ns sql.NullString) json.RawMessage {
	if !ns.Valid {
		return nil
	}
	return json.RawMessage(ns.String)
}

func emptyToNil(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return nil
	}
	return raw
}

// mustExist returns nil if table has a row with the id, else ErrNotFound
// naming the id. It checks references this package does not enforce with
// foreign keys (see migrate.go for why).
//
// table is a constant from this package, never user input.
func mustExist(ctx context.Context, q querier, table, id string) error {
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM `+table+` WHERE id = ?`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", id, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("look up %s: %w", id, err)
	}
	return nil
}

// affectedOne turns an UPDATE or DELETE that matched no row into
// ErrNotFound.
func affectedOne(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}
