package train

import (
	"context"
	"sync"
)

// Claims on texts being embedded right now in this process, per cache file:
// two users of one corpus at once (a job and a collection) walk it in the
// same order, so looking in the cache before each chunk is not enough (both
// would embed the chunk neither has stored yet). The first to claim a text
// embeds it; the others wait for it and read it from the cache.
type inflight struct {
	mu     sync.Mutex
	claims map[textKey]chan struct{}
}

// claim splits keys into the ones this caller now owns (it must release
// them) and the channels of claims held by others, closed when those are
// stored or abandoned.
func (f *inflight) claim(keys []textKey) (owned []int, waits []chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.claims == nil {
		f.claims = map[textKey]chan struct{}{}
	}
	mine := make(chan struct{})
	seenWait := map[chan struct{}]bool{}
	for i, k := range keys {
		if ch, ok := f.claims[k]; ok {
			if !seenWait[ch] {
				seenWait[ch] = true
				waits = append(waits, ch)
			}
			continue
		}
		f.claims[k] = mine
		owned = append(owned, i)
	}
	return owned, waits
}

// release drops the caller's claims on keys (stored or not) and wakes the
// callers waiting for them.
func (f *inflight) release(keys []textKey) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ch chan struct{}
	for _, k := range keys {
		if c, ok := f.claims[k]; ok {
			ch = c
			delete(f.claims, k)
		}
	}
	if ch != nil {
		close(ch)
	}
}

// waitClaims blocks until every channel is closed or ctx ends.
func waitClaims(ctx context.Context, waits []chan struct{}) error {
	for _, ch := range waits {
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}
