package api

import "testing"

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
