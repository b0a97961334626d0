package model_test

import (
	"context"
	"errors"
	"testing"

	"retune/internal/testenv"
)

// TestEmbedCancelled: a cancelled embedding is an error, never a nil
// vector. The tokenising producer and the cancellation race, so one call
// may take either path; many calls take both.
func TestEmbedCancelled(t *testing.T) {
	enc := testenv.OpenEncoder(t, testenv.Glove(t))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for i := range 50 {
		vecs, _, err := enc.EmbedCount(ctx, []string{"the dog runs", "a cat sleeps"})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("call %d: err %v with %d vectors, want context.Canceled", i, err, len(vecs))
		}
	}
}
