package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"
)

// openTest opens a store on a fresh directory, closed when the test ends.
func openTest(t *testing.T) *Store {
	t.Helper()
	return openAt(t, t.TempDir())
}

func openAt(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mustDataset(t *testing.T, s *Store) Dataset {
	t.Helper()
	d, err := s.CreateDataset(context.Background(), Dataset{Name: "msmarco", Format: FormatBEIR, Docs: 10})
	if err != nil {
		t.Fatalf("CreateDataset: %v", err)
	}
	return d
}

// jobPath drives a new job to each status through the transitions the
// service itself uses.
var jobPath = map[string][][2]string{
	JobValidating: nil,
	JobQueued:     {{JobValidating, JobQueued}},
	JobRunning:    {{JobValidating, JobQueued}, {JobQueued, JobRunning}},
	JobSucceeded:  {{JobValidating, JobQueued}, {JobQueued, JobRunning}, {JobRunning, JobSucceeded}},
	JobFailed:     {{JobValidating, JobQueued}, {JobQueued, JobRunning}, {JobRunning, JobFailed}},
	JobCancelled:  {{JobValidating, JobQueued}, {JobQueued, JobCancelled}},
}

// mustJob creates a job on dataset dsID and moves it to status.
func mustJob(t *testing.T, s *Store, dsID, status string) Job {
	t.Helper()
	ctx := context.Background()
	j, err := s.CreateJob(ctx, Job{DatasetID: dsID, Encoder: "glove-100d", Config: json.RawMessage(`{"epochs":3}`)})
	if err != nil {
		t.Fatalf("CreateJob: %v", err)
	}
	steps, ok := jobPath[status]
	if !ok {
		t.Fatalf("no path to status %q", status)
	}
	for _, st := range steps {
		if err := s.SetJobStatus(ctx, j.ID, []string{st[0]}, st[1], ""); err != nil {
			t.Fatalf("SetJobStatus %s->%s: %v", st[0], st[1], err)
		}
	}
	if j, err = s.GetJob(ctx, j.ID); err != nil {
		t.Fatalf("GetJob: %v", err)
	}
	if j.Status != status {
		t.Fatalf("job status = %s, want %s", j.Status, status)
	}
	return j
}

func TestOpenPragmas(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	for _, tc := range []struct {
		pragma string
		want   string
	}{
		{"journal_mode", "wal"},
		{"foreign_keys", "1"},
		{"synchronous", "1"}, // NORMAL
		{"busy_timeout", fmt.Sprint(defaultBusyTimeout.Milliseconds())},
	} {
		var got string
		if err := s.w.QueryRowContext(ctx, "PRAGMA "+tc.pragma).Scan(&got); err != nil {
			t.Fatalf("PRAGMA %s: %v", tc.pragma, err)
		}
		if got != tc.want {
			t.Errorf("PRAGMA %s = %s, want %s", tc.pragma, got, tc.want)
		}
	}
	if _, err := s.r.ExecContext(ctx, `INSERT INTO datasets (id, name, format, checksum, bytes, docs, queries, created_at)
		VALUES ('ds-aaaaaaaaaaaaaaaaaaaaaaaa', '', 'beir', '', 0, 0, 0, 0)`); err == nil {
		t.Error("a write through the reader pool succeeded; readers must be query_only")
	}
	if got, want := s.DataDir(), filepath.Clean(s.dir); got != want || !filepath.IsAbs(got) {
		t.Errorf("DataDir = %q, want absolute %q", got, want)
	}
}

// WithBusyTimeout reaches both connection pools.
func TestOpenBusyTimeout(t *testing.T) {
	s, err := Open(t.Context(), t.TempDir(), WithBusyTimeout(250*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for name, db := range map[string]*sql.DB{"writer": s.w, "reader": s.r} {
		var got int
		if err := db.QueryRowContext(t.Context(), "PRAGMA busy_timeout").Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != 250 {
			t.Errorf("%s busy_timeout = %d ms, want 250", name, got)
		}
	}
}

// TestConcurrentWriters runs writers of every kind at once; with the single
// writer connection none of them may see SQLITE_BUSY or any other error.
func TestConcurrentWriters(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	ds := mustDataset(t, s)
	job := mustJob(t, s, ds.ID, JobRunning)

	const workers, perWorker = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*perWorker)
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				d, err := s.CreateDataset(ctx, Dataset{Name: fmt.Sprintf("w%d-%d", w, i), Format: FormatPairs})
				if err != nil {
					errs <- err
					continue
				}
				j, err := s.CreateJob(ctx, Job{DatasetID: d.ID, Encoder: "e"})
				if err != nil {
					errs <- err
					continue
				}
				if err := s.SetJobStatus(ctx, j.ID, []string{JobValidating}, JobQueued, ""); err != nil {
					errs <- err
				}
				if err := s.UpdateJobProgress(ctx, job.ID, "train", float64(i)/perWorker); err != nil {
					errs <- err
				}
				if _, err := s.AppendEvent(ctx, Event{JobID: job.ID, Message: "step"}); err != nil {
					errs <- err
				}
				if _, err := s.GetJob(ctx, j.ID); err != nil { // reads interleaved with writes
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM jobs WHERE status = ?`, JobQueued).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != workers*perWorker {
		t.Errorf("queued jobs = %d, want %d", n, workers*perWorker)
	}
}

// TestReopenPersists closes the store and opens it again on the same
// directory, as a restart does, and expects every object unchanged.
func TestReopenPersists(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}

	ds, err := s.CreateDataset(ctx, Dataset{Name: "fiqa", Format: FormatBEIR, Checksum: "abc", Bytes: 123,
		Docs: 57, Queries: 6, Splits: map[string]SplitInfo{"train": {Queries: 5, Pairs: 14}, "test": {Queries: 1, Pairs: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	job := mustJob(t, s, ds.ID, JobRunning)
	if err := s.UpdateJobProgress(ctx, job.ID, "train", 0.25); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RequestCancel(ctx, job.ID, nil, nil); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := s.AppendEvent(ctx, Event{JobID: job.ID, Type: "step", Message: fmt.Sprint(i), Data: json.RawMessage(`{"loss":0.5}`)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.PutCheckpoint(ctx, Checkpoint{JobID: job.ID, Epoch: 1, Metrics: json.RawMessage(`{"ndcg@10":0.41}`)}); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkStageDone(ctx, job.ID, "embed", json.RawMessage(`{"file":"emb.f32"}`)); err != nil {
		t.Fatal(err)
	}
	head, err := s.CreateHead(ctx, Head{JobID: job.ID, Encoder: "glove-100d", EncoderChecksum: "sum", DIn: 100, DOut: 100, Apply: "query"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetJobResult(ctx, job.ID, json.RawMessage(`{"ndcg@10":0.5}`), head.ID); err != nil {
		t.Fatal(err)
	}
	col, err := s.CreateCollection(ctx, Collection{Name: "c", Encoder: "glove-100d", HeadID: head.ID, DatasetID: ds.ID})
	if err != nil {
		t.Fatal(err)
	}
	blobDir, err := s.Dir(KindHeads, head.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := WriteFileAtomic(filepath.Join(blobDir, "weights.bin"), bytesReader("weights")); err != nil {
		t.Fatal(err)
	}

	// Snapshot everything through the read methods, restart, compare.
	snapshot := func(s *Store) map[string]any {
		t.Helper()
		m := map[string]any{}
		add := func(name string, v any, err error) {
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			m[name] = v
		}
		v1, err := s.GetDataset(ctx, ds.ID)
		add("dataset", v1, err)
		v2, err := s.GetJob(ctx, job.ID)
		add("job", v2, err)
		v3, _, err := s.ListEvents(ctx, job.ID, 0, 0)
		add("events", v3, err)
		v4, _, err := s.ListCheckpoints(ctx, job.ID, -1, 0)
		add("checkpoints", v4, err)
		v5, err := s.StagesDone(ctx, job.ID)
		add("stages", v5, err)
		v6, err := s.GetHead(ctx, head.ID)
		add("head", v6, err)
		v7, err := s.GetCollection(ctx, col.ID)
		add("collection", v7, err)
		v8, err := s.UnfinishedJobs(ctx)
		add("unfinished jobs", v8, err)
		v9, err := s.UnfinishedCollections(ctx)
		add("unfinished collections", v9, err)
		return m
	}
	before := snapshot(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s2 := openAt(t, dir)
	after := snapshot(s2)
	for k := range before {
		if !reflect.DeepEqual(before[k], after[k]) {
			t.Errorf("%s changed across reopen:\nbefore %+v\nafter  %+v", k, before[k], after[k])
		}
	}
	// Spot checks that the snapshot holds what was written, so the
	// comparison above is not between two empty values.
	if j := after["job"].(Job); j.Status != JobRunning || !j.CancelRequested || j.HeadID != head.ID || j.StageProgress != 0.25 {
		t.Errorf("job after reopen = %+v", j)
	}
	if ev := after["events"].([]Event); len(ev) != 3 || ev[2].Seq != 3 {
		t.Errorf("events after reopen = %+v", ev)
	}
	if u := after["unfinished jobs"].([]Job); len(u) != 1 || u[0].ID != job.ID {
		t.Errorf("unfinished jobs after reopen = %+v", u)
	}
	// The sequence continues after a restart instead of starting over.
	e, err := s2.AppendEvent(ctx, Event{JobID: job.ID, Message: "resumed"})
	if err != nil || e.Seq != 4 {
		t.Errorf("AppendEvent after reopen = seq %d, %v; want 4", e.Seq, err)
	}
	if got := readFile(t, filepath.Join(blobDir, "weights.bin")); got != "weights" {
		t.Errorf("blob after reopen = %q", got)
	}
}

// TestTimesRoundTrip stores times with nanoseconds in a non-UTC zone and
// expects the same instants back, in UTC, from every table.
func TestTimesRoundTrip(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	zone := time.FixedZone("UTC+5:30", 5*3600+1800)
	at := time.Date(2024, 2, 29, 23, 59, 59, 123456789, zone)
	wantAt := at.UTC()

	ds, err := s.CreateDataset(ctx, Dataset{Format: FormatPairs, CreatedAt: at})
	if err != nil {
		t.Fatal(err)
	}
	job, err := s.CreateJob(ctx, Job{DatasetID: ds.ID, Encoder: "e", CreatedAt: at})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := s.AppendEvent(ctx, Event{JobID: job.ID, CreatedAt: at})
	if err != nil {
		t.Fatal(err)
	}
	cp, err := s.PutCheckpoint(ctx, Checkpoint{JobID: job.ID, CreatedAt: at})
	if err != nil {
		t.Fatal(err)
	}
	head, err := s.CreateHead(ctx, Head{Encoder: "e", DIn: 1, DOut: 1, CreatedAt: at})
	if err != nil {
		t.Fatal(err)
	}
	col, err := s.CreateCollection(ctx, Collection{Encoder: "e", CreatedAt: at})
	if err != nil {
		t.Fatal(err)
	}
	gotDS, _ := s.GetDataset(ctx, ds.ID)
	gotJob, _ := s.GetJob(ctx, job.ID)
	gotEv, _, _ := s.ListEvents(ctx, job.ID, 0, 1)
	gotCP, _, _ := s.ListCheckpoints(ctx, job.ID, -1, 0)
	gotHead, _ := s.GetHead(ctx, head.ID)
	gotCol, _ := s.GetCollection(ctx, col.ID)
	for _, tc := range []struct {
		name           string
		created, fetch time.Time
	}{
		{"dataset", ds.CreatedAt, gotDS.CreatedAt},
		{"job", job.CreatedAt, gotJob.CreatedAt},
		{"event", ev.CreatedAt, firstOr(gotEv, Event{}).CreatedAt},
		{"checkpoint", cp.CreatedAt, firstOr(gotCP, Checkpoint{}).CreatedAt},
		{"head", head.CreatedAt, gotHead.CreatedAt},
		{"collection", col.CreatedAt, gotCol.CreatedAt},
	} {
		// == rather than Equal: same instant, same location, no monotonic
		// reading, so API responses are identical before and after storage.
		if tc.created != wantAt || tc.fetch != wantAt {
			t.Errorf("%s: created %v, fetched %v, want %v", tc.name, tc.created, tc.fetch, wantAt)
		}
	}

	if _, err := s.CreateDataset(ctx, Dataset{Format: FormatPairs, CreatedAt: time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)}); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("CreatedAt in 2300: err = %v, want ErrInvalidArgument", err)
	}
}

func firstOr[T any](xs []T, zero T) T {
	if len(xs) == 0 {
		return zero
	}
	return xs[0]
}

// One process per data folder: a second Open waits for nothing and fails
// until the first store is closed.
func TestOpenLocksTheDataDir(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(context.Background(), dir); !errors.Is(err, ErrDataDirBusy) {
		t.Fatalf("second Open: %v, want ErrDataDirBusy", err)
	}
	s.Close()
	s2, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	s2.Close()
}

func TestCloseEmptiesScratch(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	tmp, err := s.TempDir("export-*")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(tmp, "model.onnx"), []byte("x"), 0o640)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("scratch folder survived Close: %v", err)
	}
}
