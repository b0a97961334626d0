package api

import (
	"log/slog"
	"slices"
	"testing"

	"retune/store"
	"retune/train"
)

// jobRecorder is a recorder for a new queued job in a store of its own.
func jobRecorder(t *testing.T) (*recorder, *store.Store, store.Job) {
	t.Helper()
	st, ds := storeWithDataset(t, t.TempDir())
	job, err := st.CreateJob(t.Context(), store.Job{DatasetID: ds.ID, Encoder: "glove-100d", Status: store.JobQueued})
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{store: st, log: slog.New(slog.DiscardHandler), hub: newEventHub()}
	return &recorder{s: s, ctx: t.Context(), jobID: job.ID, skip: map[string]bool{}}, st, job
}

// A large step in progress is written at once; small ones within the
// throttle window are not. A resumed embedding stage's first report, which
// counts what the cache already held, used to be dropped, leaving the job
// at 0% until the next chunk.
func TestProgressWritesJumpsAtOnce(t *testing.T) {
	ctx := t.Context()
	r, st, job := jobRecorder(t)
	shown := func() float64 {
		t.Helper()
		j, err := st.GetJob(ctx, job.ID)
		if err != nil {
			t.Fatal(err)
		}
		return j.StageProgress
	}
	ev := func(done int) train.StageEvent {
		return train.StageEvent{Stage: train.StageEmbedding, Done: done, Total: 1000}
	}
	r.progress(ev(0))
	r.progress(ev(420)) // the cache's share, within the throttle window
	if got := shown(); got != 0.42 {
		t.Errorf("after a jump to 42%%: progress %v", got)
	}
	r.progress(ev(430)) // a small step right after: throttled
	if got := shown(); got != 0.42 {
		t.Errorf("a 1%% step within the window was written: %v", got)
	}
	r.progress(ev(1000))
	if got := shown(); got != 1 {
		t.Errorf("completion: progress %v", got)
	}
}

// A stage other than training reports how far it is in "progress" events:
// the first report at once (a resumed stage's cached share), then at most
// one an interval.
func TestProgressEventsDuringEmbedding(t *testing.T) {
	ctx := t.Context()
	r, st, job := jobRecorder(t)
	emb := func(done int) train.StageEvent {
		return train.StageEvent{Stage: train.StageEmbedding, Done: done, Total: 2000}
	}
	r.observe(train.StageEvent{Stage: train.StageEmbedding, Total: 2000})
	r.observe(emb(768))                                // the first: at once
	r.observe(emb(1024))                               // within the interval: throttled
	r.lastCount = r.lastCount.Add(-progressEventEvery) // as if the interval had passed
	r.observe(emb(1280))
	r.observe(emb(1536)) // right after: throttled
	evs, _, err := st.ListEvents(ctx, job.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		if e.Type == evProgress {
			got = append(got, e.Message+" "+string(e.Data))
		}
	}
	want := []string{`embedding: 768 of 2000 (38%) {"stage":"embedding","done":768,"total":2000}`,
		`embedding: 1280 of 2000 (64%) {"stage":"embedding","done":1280,"total":2000}`}
	if !slices.Equal(got, want) {
		t.Errorf("progress events %q, want %q", got, want)
	}
}
