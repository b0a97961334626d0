package api

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"retune/store"
)

// A cancel that lands between a job's creation and its queueing ends the
// job: the client is shown it cancelled, and its LLM key, written after
// the cancel removed the job's folder, does not stay on disk.
func TestSubmitJobCancelledBeforeQueueing(t *testing.T) {
	ctx := t.Context()
	st, ds := storeWithDataset(t, t.TempDir())
	s := &Server{store: st, log: slog.New(slog.DiscardHandler), hub: newEventHub()}
	jobCreated = func(id string) {
		if _, err := st.RequestCancel(ctx, id, &store.Event{Type: evStatus, Message: "cancelled"}, nil); err != nil {
			t.Errorf("cancel: %v", err)
		}
		s.dropJobFiles(id)
	}
	t.Cleanup(func() { jobCreated = func(string) {} })

	job, err := s.submitJob(ctx, jobRequest{Dataset: ds.ID, Model: "glove-100d"}, jobSpec{}, jobSecrets{APIKey: "sk-not-to-keep"})
	if err != nil {
		t.Fatalf("submit: %v, want the cancelled job", err)
	}
	if job.Status != store.JobCancelled {
		t.Errorf("job is %q, want cancelled", job.Status)
	}
	jobDir, err := st.Dir(store.KindJobs, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(jobDir, jobKeyFile)
	if _, err := os.Stat(key); !os.IsNotExist(err) {
		t.Errorf("the job's API key is still on disk (%s: %v)", key, err)
	}
}
