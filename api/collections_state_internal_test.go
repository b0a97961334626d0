package api

import (
	"log/slog"
	"strings"
	"testing"

	"retune/store"
)

// A run waiting for the only indexing slot reads as queued until it gets it.
func TestCollectionQueuedForASlot(t *testing.T) {
	st := newCollectionState(1)
	defer st.close()
	ctxA, doneA, err := st.startRun("a")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.acquire(ctxA, "a"); err != nil {
		t.Fatal(err)
	}
	ctxB, doneB, err := st.startRun("b")
	if err != nil {
		t.Fatal(err)
	}
	if st.queued("a") || !st.queued("b") || st.queued("c") {
		t.Fatalf("queued a=%v b=%v c=%v; want only b", st.queued("a"), st.queued("b"), st.queued("c"))
	}
	got := make(chan error)
	go func() { got <- st.acquire(ctxB, "b") }()
	st.release()
	doneA()
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if st.queued("b") {
		t.Fatal("b still queued with the slot")
	}
	st.release()
	doneB()
}

// tryAcquire takes a free slot at once, leaving the run never queued, and
// takes none when all are held or a drain has begun.
func TestCollectionTryAcquire(t *testing.T) {
	st := newCollectionState(1)
	defer st.close()
	_, doneA, _ := st.startRun("a")
	_, doneB, _ := st.startRun("b")
	if !st.tryAcquire("a") || st.queued("a") {
		t.Fatal("a free slot not taken at once")
	}
	if st.tryAcquire("b") || !st.queued("b") {
		t.Fatal("b took a slot a holds, or is not queued for it")
	}
	st.release()
	doneA()
	st.drain()
	if st.tryAcquire("b") {
		t.Fatal("a slot taken after the drain began")
	}
	doneB()
}

// A search of a collection that waits for an indexing slot says so, rather
// than "still indexing (0% done)".
func TestSearchNamesAQueuedCollection(t *testing.T) {
	ctx := t.Context()
	st, _ := storeWithDataset(t, t.TempDir())
	s := &Server{store: st, log: slog.New(slog.DiscardHandler), cols: newCollectionState(1)}
	defer s.cols.close()
	var ids []string
	for range 2 {
		c, err := st.CreateCollection(ctx, store.Collection{Name: "c", Encoder: "glove-100d"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	runCtx, done, err := s.cols.startRun(ids[0])
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	if err := s.cols.acquire(runCtx, ids[0]); err != nil {
		t.Fatal(err)
	}
	defer s.cols.release()
	_, doneB, err := s.cols.startRun(ids[1])
	if err != nil {
		t.Fatal(err)
	}
	defer doneB()
	for i, want := range []string{"is still indexing (0% done)", "waits for another collection's indexing to finish"} {
		if _, err := s.searchable(ctx, ids[i]); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("collection %d: %v, want %q", i, err, want)
		}
	}
}
