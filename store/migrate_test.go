package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
)

// rawDB opens the database file the way Open does but without migrating.
func rawDB(t *testing.T, dir string) *sql.DB {
	t.Helper()
	db, err := openDB(context.Background(), filepath.Join(dir, dbFile), writerParams(defaultBusyTimeout.Milliseconds()))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

func appliedVersions(t *testing.T, q querier) []int {
	t.Helper()
	rows, err := q.QueryContext(context.Background(), `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := collect(rows, func(r rowScanner) (int, error) {
		var v int
		return v, r.Scan(&v)
	})
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

func wantAllVersions(t *testing.T, q querier) {
	t.Helper()
	vs := appliedVersions(t, q)
	if len(vs) != len(migrations) {
		t.Fatalf("applied versions %v, want 1..%d", vs, len(migrations))
	}
	for i, v := range vs {
		if v != i+1 {
			t.Fatalf("applied versions %v, want 1..%d", vs, len(migrations))
		}
	}
}

func TestMigrationsIdempotent(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	var dsID string
	for i := range 3 {
		s, err := Open(ctx, dir)
		if err != nil {
			t.Fatalf("Open #%d: %v", i+1, err)
		}
		wantAllVersions(t, s.r)
		if i == 0 {
			dsID = mustDataset(t, s).ID
		} else if _, err := s.GetDataset(ctx, dsID); err != nil {
			t.Errorf("Open #%d lost data: %v", i+1, err)
		}
		// Running the migrations again on the open database changes nothing.
		if err := migrate(ctx, s.w, migrations); err != nil {
			t.Errorf("migrate on an up-to-date database: %v", err)
		}
		wantAllVersions(t, s.r)
		s.Close()
	}
}

// TestMigrateFromEachVersion leaves a database at every earlier version,
// with data in it where the schema allows, and expects Open to bring it to
// the latest version without losing the data.
func TestMigrateFromEachVersion(t *testing.T) {
	ctx := context.Background()
	for n := 0; n < len(migrations); n++ {
		dir := t.TempDir()
		db := rawDB(t, dir)
		if err := migrate(ctx, db, migrations[:n]); err != nil {
			t.Fatalf("migrate to %d: %v", n, err)
		}
		if v, err := schemaVersion(ctx, db); err != nil || v != n {
			t.Fatalf("version = %d, %v; want %d", v, err, n)
		}
		dsID := NewID(PrefixDataset)
		if n >= 1 {
			if _, err := db.ExecContext(ctx, `INSERT INTO datasets
				(id, name, format, checksum, bytes, docs, queries, created_at)
				VALUES (?, 'old', 'beir', '', 1, 2, 3, 42)`, dsID); err != nil {
				t.Fatal(err)
			}
		}
		db.Close()

		s := openAt(t, dir)
		wantAllVersions(t, s.r)
		if n >= 1 {
			d, err := s.GetDataset(ctx, dsID)
			if err != nil || d.Name != "old" || d.Docs != 2 {
				t.Errorf("from version %d: dataset = %+v, %v", n, d, err)
			}
		}
		// Every table of the latest schema is usable.
		ds := mustDataset(t, s)
		job := mustJob(t, s, ds.ID, JobRunning)
		if _, err := s.AppendEvent(ctx, Event{JobID: job.ID}); err != nil {
			t.Errorf("from version %d: AppendEvent: %v", n, err)
		}
		if _, err := s.CreateCollection(ctx, Collection{Encoder: "e"}); err != nil {
			t.Errorf("from version %d: CreateCollection: %v", n, err)
		}
	}
}

// TestMigrationIsAtomic: a step that fails halfway leaves neither its
// tables nor its version behind, so it can be fixed and re-run.
func TestMigrationIsAtomic(t *testing.T) {
	ctx := context.Background()
	db := rawDB(t, t.TempDir())
	steps := []migration{
		migrations[0],
		{2, "broken", []string{`CREATE TABLE half (x INTEGER) STRICT`, `THIS IS NOT SQL`}},
	}
	if err := migrate(ctx, db, steps); err == nil {
		t.Fatal("broken migration succeeded")
	}
	if v, err := schemaVersion(ctx, db); err != nil || v != 1 {
		t.Errorf("version = %d, %v; want 1", v, err)
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_schema WHERE name = 'half'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("table of the failed step exists (%d, %v)", n, err)
	}
}

func TestMigrateRejectsMisnumberedSteps(t *testing.T) {
	db := rawDB(t, t.TempDir())
	err := migrate(context.Background(), db, []migration{migrations[0], {3, "skips 2", nil}})
	if err == nil || !strings.Contains(err.Error(), "version 3, want 2") {
		t.Errorf("err = %v, want a numbering error", err)
	}
}

// TestOpenRefusesNewerSchema: a database migrated by a newer build must not
// be used (and certainly not written) by an older one.
func TestOpenRefusesNewerSchema(t *testing.T) {
	dir := t.TempDir()
	s := openAt(t, dir)
	if _, err := s.w.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'future', 0)`,
		SchemaVersion()+1); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s2, err := Open(context.Background(), dir); err == nil || !strings.Contains(err.Error(), "newer") {
		if s2 != nil {
			s2.Close()
		}
		t.Errorf("Open = %v, want a newer-schema error", err)
	}
}
