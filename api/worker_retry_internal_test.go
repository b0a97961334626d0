package api

import (
	"context"
	"testing"
	"time"
)

// retryUntil keeps trying, with pauses doubling up to the cap, until a try
// succeeds; a cancelled context stops it between tries.
func TestRetryUntil(t *testing.T) {
	var at []time.Time
	retryUntil(t.Context(), 5*time.Millisecond, 12*time.Millisecond, func() bool {
		at = append(at, time.Now())
		return len(at) == 5
	})
	if len(at) != 5 {
		t.Fatalf("%d tries, want 5 (the fifth succeeds)", len(at))
	}
	for i, want := range []time.Duration{5, 10, 12, 12} { // ms: doubled, then capped
		if gap := at[i+1].Sub(at[i]); gap < want*time.Millisecond {
			t.Errorf("pause %d was %v, want at least %vms", i+1, gap, int(want))
		}
	}

	ctx, cancel := context.WithCancel(t.Context())
	tries := 0
	done := make(chan struct{})
	go func() {
		retryUntil(ctx, time.Hour, time.Hour, func() bool { tries++; return false })
		close(done)
	}()
	time.Sleep(10 * time.Millisecond)
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("retryUntil did not stop when its context ended")
	}
	if tries != 1 {
		t.Errorf("%d tries before the cancel, want 1", tries)
	}
}
