package store

import (
	"context"
	"database/sql"
	"fmt"
)

// A migration is one forward-only schema step. Versions are 1, 2, 3, ...
// in slice order; a released step is never edited, only followed by new
// ones, because databases in the field have already applied it.
type migration struct {
	version int
	name    string
	stmts   []string
}

// Conventions: times are INTEGER unix nanoseconds (UTC); JSON is TEXT,
// NULL when absent; tables are STRICT so a wrongly typed bind fails instead
// of being stored as whatever SQLite can coerce it to.
var migrations = []migration{
	{1, "datasets and jobs", []string{
		`CREATE TABLE datasets (
			id         TEXT PRIMARY KEY,
			name       TEXT NOT NULL,
			format     TEXT NOT NULL,
			checksum   TEXT NOT NULL,
			bytes      INTEGER NOT NULL,
			docs       INTEGER NOT NULL,
			queries    INTEGER NOT NULL,
			splits     TEXT,
			created_at INTEGER NOT NULL
		) STRICT`,
		`CREATE INDEX datasets_by_created ON datasets (created_at DESC, id DESC)`,
		// dataset_id has no foreign key: a finished job keeps naming the
		// dataset it was trained on after that dataset is deleted, as an
		// OpenAI job keeps its training_file. DeleteDataset guards the
		// active jobs itself.
		`CREATE TABLE jobs (
			id               TEXT PRIMARY KEY,
			dataset_id       TEXT NOT NULL,
			encoder          TEXT NOT NULL,
			status           TEXT NOT NULL,
			stage            TEXT NOT NULL DEFAULT '',
			stage_progress   REAL NOT NULL DEFAULT 0,
			config           TEXT,
			result           TEXT,
			error            TEXT NOT NULL DEFAULT '',
			head_id          TEXT NOT NULL DEFAULT '',
			attempts         INTEGER NOT NULL DEFAULT 0,
			cancel_requested INTEGER NOT NULL DEFAULT 0,
			created_at       INTEGER NOT NULL,
			started_at       INTEGER,
			finished_at      INTEGER
		) STRICT`,
		`CREATE INDEX jobs_by_created ON jobs (created_at DESC, id DESC)`,
		`CREATE INDEX jobs_by_status ON jobs (status, created_at)`,
		`CREATE INDEX jobs_by_dataset ON jobs (dataset_id, status)`,
	}},
	{2, "job events, checkpoints and stage markers", []string{
		`CREATE TABLE job_events (
			job_id     TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
			seq        INTEGER NOT NULL,
			created_at INTEGER NOT NULL,
			level      TEXT NOT NULL,
			type       TEXT NOT NULL,
			message    TEXT NOT NULL,
			data       TEXT,
			PRIMARY KEY (job_id, seq)
		) STRICT`,
		`CREATE TABLE checkpoints (
			job_id     TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
			epoch      INTEGER NOT NULL,
			metrics    TEXT,
			created_at INTEGER NOT NULL,
			PRIMARY KEY (job_id, epoch)
		) STRICT`,
		`CREATE TABLE job_stages (
			job_id     TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
			stage      TEXT NOT NULL,
			data       TEXT,
			created_at INTEGER NOT NULL,
			PRIMARY KEY (job_id, stage)
		) STRICT`,
	}},
	{3, "heads and collections", []string{
		`CREATE TABLE heads (
			id               TEXT PRIMARY KEY,
			job_id           TEXT NOT NULL DEFAULT '',
			encoder          TEXT NOT NULL,
			encoder_checksum TEXT NOT NULL,
			d_in             INTEGER NOT NULL,
			d_out            INTEGER NOT NULL,
			apply            TEXT NOT NULL,
			metrics          TEXT,
			created_at       INTEGER NOT NULL
		) STRICT`,
		`CREATE INDEX heads_by_created ON heads (created_at DESC, id DESC)`,
		`CREATE TABLE collections (
			id         TEXT PRIMARY KEY,
			name       TEXT NOT NULL,
			encoder    TEXT NOT NULL,
			head_id    TEXT NOT NULL DEFAULT '',
			dataset_id TEXT NOT NULL DEFAULT '',
			status     TEXT NOT NULL,
			docs       INTEGER NOT NULL DEFAULT 0,
			progress   REAL NOT NULL DEFAULT 0,
			error      TEXT NOT NULL DEFAULT '',
			created_at INTEGER NOT NULL
		) STRICT`,
		`CREATE INDEX collections_by_created ON collections (created_at DESC, id DESC)`,
		`CREATE INDEX collections_by_status ON collections (status, created_at)`,
		`CREATE INDEX collections_by_head ON collections (head_id)`,
		`CREATE INDEX collections_by_dataset ON collections (dataset_id)`,
	}},
	{4, "documents a collection left out for having no vector", []string{
		`ALTER TABLE collections ADD COLUMN unembeddable TEXT`,
	}},
	{5, "crashes a job survived, apart from its attempts", []string{
		`ALTER TABLE jobs ADD COLUMN crashes INTEGER NOT NULL DEFAULT 0`,
	}},
}

// SchemaVersion is the schema version this build migrates databases to.
func SchemaVersion() int { return migrations[len(migrations)-1].version }

// migrate applies the steps db has not yet recorded in schema_migrations,
// each in its own transaction together with its record, so a crash leaves
// the database at the last completed step and the next Open resumes there.
func migrate(ctx context.Context, db *sql.DB, steps []migration) error {
	for i, m := range steps {
		if m.version != i+1 {
			return fmt.Errorf("migration %q has version %d, want %d", m.name, m.version, i+1)
		}
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at INTEGER NOT NULL
	) STRICT`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	for _, m := range steps {
		if err := applyMigration(ctx, db, m, len(steps)); err != nil {
			return fmt.Errorf("migration %d (%s): %w", m.version, m.name, err)
		}
	}
	return nil
}

func applyMigration(ctx context.Context, db *sql.DB, m migration, latest int) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() // a no-op once Commit has succeeded

	// The version is read inside the transaction so that two processes
	// opening the same fresh database cannot both apply a step.
	current, err := schemaVersion(ctx, tx)
	if err != nil {
		return err
	}
	if current > latest {
		return fmt.Errorf("database schema version %d is newer than this build's %d", current, latest)
	}
	if current >= m.version {
		return nil
	}
	for _, stmt := range m.stmts {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
		m.version, m.name, now().UnixNano()); err != nil {
		return err
	}
	return tx.Commit()
}

// schemaVersion is the highest applied migration, 0 for a new database.
func schemaVersion(ctx context.Context, q querier) (int, error) {
	var v int
	err := q.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}
