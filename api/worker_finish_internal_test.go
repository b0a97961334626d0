package api

import (
	"context"
	"database/sql"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"retune/model"
	"retune/store"
)

// lockedStore opens a store whose statements give up on a lock after a few
// milliseconds, a running job in it, and a second connection holding the
// database's write lock, as another process would. unlock releases it.
func lockedStore(t *testing.T) (st *store.Store, jobID string, unlock func()) {
	t.Helper()
	ctx := t.Context()
	dir := t.TempDir()
	st, ds := storeWithDataset(t, dir, store.WithBusyTimeout(5*time.Millisecond))
	job, err := st.CreateJob(ctx, store.Job{DatasetID: ds.ID, Encoder: "glove-100d", Status: store.JobQueued})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.TransitionJob(ctx, job.ID, store.JobTransition{From: []string{store.JobQueued}, To: store.JobRunning}); err != nil {
		t.Fatal(err)
	}
	return st, job.ID, holdWriteLock(t, dir)
}

// holdWriteLock takes the write lock of the database in dir on a second
// connection, as another process would; unlock releases it.
func holdWriteLock(t *testing.T, dir string) (unlock func()) {
	t.Helper()
	ctx := t.Context()
	other, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "retune.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	unlock = func() {
		once.Do(func() {
			if _, err := conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
				t.Error(err)
			}
			conn.Close()
		})
	}
	t.Cleanup(unlock)
	return unlock
}

// storeWithDataset opens a store in dir holding one (empty) dataset.
func storeWithDataset(t *testing.T, dir string, opts ...store.Option) (*store.Store, store.Dataset) {
	t.Helper()
	st, err := store.Open(t.Context(), dir, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ds, err := st.CreateDataset(t.Context(), store.Dataset{Format: store.FormatPairs, Splits: map[string]store.SplitInfo{}})
	if err != nil {
		t.Fatal(err)
	}
	return st, ds
}

// countingHandler counts log records whose message contains a substring.
type countingHandler struct {
	mu    sync.Mutex
	sub   string
	count int
}

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *countingHandler) WithGroup(string) slog.Handler            { return h }

func (h *countingHandler) Handle(ctx context.Context, r slog.Record) error {
	if strings.Contains(r.Message, h.sub) {
		h.mu.Lock()
		h.count++
		h.mu.Unlock()
	}
	return nil
}

func (h *countingHandler) n() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.count
}

func shortEndRetries(t *testing.T) {
	first, most := endRetryFirst, endRetryMax
	endRetryFirst, endRetryMax = 2*time.Millisecond, 10*time.Millisecond
	t.Cleanup(func() { endRetryFirst, endRetryMax = first, most })
}

// A worker's final write that the database refuses (here: another process
// holds its lock) is retried until it lands, so the job does not stay
// "running" with no worker behind it.
func TestEndJobRetriesUntilTheWriteLands(t *testing.T) {
	shortEndRetries(t)
	st, id, unlock := lockedStore(t)
	logs := &countingHandler{sub: "will retry"}
	s := &Server{store: st, log: slog.New(logs), hub: newEventHub()}

	done := make(chan struct{})
	go func() {
		s.endJob(t.Context(), id, statusData{Status: store.JobFailed, Error: "training diverged"})
		close(done)
	}()
	for deadline := time.Now().Add(10 * time.Second); logs.n() < 3 && time.Now().Before(deadline); {
		select {
		case <-done:
			t.Fatal("endJob returned while the database was locked")
		case <-time.After(5 * time.Millisecond):
		}
	}
	if n := logs.n(); n < 3 {
		t.Fatalf("%d failed tries logged while locked, want at least 3", n)
	}
	// Meanwhile the job says why it waits.
	if w := s.storageWait(id); w == nil || !strings.Contains(*w, "recording the job's end as failed waits: ") {
		t.Fatalf("storage wait while locked: %v", w)
	}
	unlock()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("endJob still retrying 10 s after the lock was released")
	}
	job, err := st.GetJob(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if job.Status != store.JobFailed || job.Error != "training diverged" {
		t.Errorf("job is %s (%q), want failed with the worker's error", job.Status, job.Error)
	}
	if w := s.storageWait(id); w != nil {
		t.Errorf("storage wait after the write landed: %s", *w)
	}
}

// A server shutting down stops the retries; the job stays running in the
// store, and the next start requeues it (requeueUnfinished).
func TestEndJobStopsRetryingAtShutdown(t *testing.T) {
	shortEndRetries(t)
	st, id, _ := lockedStore(t)
	logs := &countingHandler{sub: "will retry"}
	s := &Server{store: st, log: slog.New(logs), hub: newEventHub()}

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		s.endJob(ctx, id, statusData{Status: store.JobSucceeded})
		close(done)
	}()
	for deadline := time.Now().Add(10 * time.Second); logs.n() < 1; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no failed try logged in 10 s")
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("endJob kept retrying after its context ended")
	}
	job, err := st.GetJob(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if job.Status != store.JobRunning {
		t.Errorf("job is %s, want still running (the next start resumes it)", job.Status)
	}
}

// A job's error shows the server's folders by their roles only.
func TestHidePaths(t *testing.T) {
	st, _ := storeWithDataset(t, t.TempDir())
	data := st.DataDir()
	s := &Server{store: st, cfg: Config{CacheDir: filepath.Join(data, "cache", "embeddings"), Models: model.NewRegistry("/opt/retune/models")}}
	got := s.hidePaths("open encoder \"x\": /opt/retune/models/x/model.onnx: bad; cache " + filepath.Join(data, "cache", "embeddings", "f.bin") + " and " + filepath.Join(data, "jobs", "j1"))
	want := "open encoder \"x\": <models>/x/model.onnx: bad; cache <cache>/f.bin and <data>/jobs/j1"
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

// A finished indexing run's status write that the database refuses is
// retried until it lands: given up, the collection read "indexing" with
// nothing behind it until a restart (a probe on a full disk).
func TestRecordCollectionRetriesUntilTheWriteLands(t *testing.T) {
	shortEndRetries(t)
	dir := t.TempDir()
	st, _ := storeWithDataset(t, dir, store.WithBusyTimeout(5*time.Millisecond))
	col, err := st.CreateCollection(t.Context(), store.Collection{Encoder: "glove-100d", Docs: 3})
	if err != nil {
		t.Fatal(err)
	}
	unlock := holdWriteLock(t, dir)
	logs := &countingHandler{sub: "will retry"}
	s := &Server{store: st, log: slog.New(logs)}
	done := make(chan error, 1)
	go func() {
		done <- s.recordCollection(t.Context(), col.ID, store.CollectionFailed, 3, "the server's disk is full (while indexing)")
	}()
	for deadline := time.Now().Add(10 * time.Second); logs.n() < 3 && time.Now().Before(deadline); {
		select {
		case err := <-done:
			t.Fatalf("recordCollection returned (%v) while the database was locked", err)
		case <-time.After(5 * time.Millisecond):
		}
	}
	unlock()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("still retrying 10 s after the lock was released")
	}
	got, err := st.GetCollection(t.Context(), col.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.CollectionFailed || !strings.Contains(got.Error, "disk is full") {
		t.Errorf("collection %s (%q), want failed with the run's error", got.Status, got.Error)
	}
}

// A claim the database refuses is retried until it lands: the job has left
// the in-memory queue, and given up it stayed queued until a restart (a
// probe on a full disk). Its settings are empty here, so once claimed it
// fails at once; what matters is that it leaves queued.
func TestRunJobRetriesItsClaim(t *testing.T) {
	shortEndRetries(t)
	dir := t.TempDir()
	st, ds := storeWithDataset(t, dir, store.WithBusyTimeout(5*time.Millisecond))
	job, err := st.CreateJob(t.Context(), store.Job{DatasetID: ds.ID, Encoder: "glove-100d", Status: store.JobQueued})
	if err != nil {
		t.Fatal(err)
	}
	unlock := holdWriteLock(t, dir)
	logs := &countingHandler{sub: "claim job; will retry"}
	s := &Server{store: st, log: slog.New(logs), hub: newEventHub(), pool: newWorkerPool(1), cfg: Config{Models: model.NewRegistry(t.TempDir())}}
	done := make(chan struct{})
	go func() { s.runJob(t.Context(), job.ID); close(done) }()
	for deadline := time.Now().Add(10 * time.Second); logs.n() < 3 && time.Now().Before(deadline); {
		select {
		case <-done:
			t.Fatal("runJob returned while the database was locked")
		case <-time.After(5 * time.Millisecond):
		}
	}
	unlock()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("runJob still running 10 s after the lock was released")
	}
	got, err := st.GetJob(t.Context(), job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status == store.JobQueued || got.Attempts != 1 {
		t.Errorf("job %s after %d attempts, want it claimed once", got.Status, got.Attempts)
	}
}
