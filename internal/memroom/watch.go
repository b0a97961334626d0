package memroom

import (
	"runtime"
	"sync"
	"time"
)

// Watch samples the live heap until stopped, keeping its peak: what a run
// (a training job, a collection's indexing) took, to set beside its
// estimate.
type Watch struct {
	start uint64
	mu    sync.Mutex
	peak  uint64
	stop  chan struct{}
	done  chan struct{}
}

// WatchEvery is how often a Watch samples the live heap.
const WatchEvery = 20 * time.Millisecond

// StartWatch collects first, so that the start is the live heap now, not
// at the last collection (a server idle between runs may not have run one
// since the last run's garbage), and a room check right after it counts
// that garbage's memory as free.
func StartWatch() *Watch {
	w := &Watch{stop: make(chan struct{}), done: make(chan struct{})}
	runtime.GC()
	w.start = LiveHeap()
	w.peak = w.start
	go func() {
		defer close(w.done)
		t := time.NewTicker(WatchEvery)
		defer t.Stop()
		for {
			select {
			case <-w.stop:
				return
			case <-t.C:
				w.see(LiveHeap())
			}
		}
	}()
	return w
}

func (w *Watch) see(v uint64) {
	w.mu.Lock()
	w.peak = max(w.peak, v)
	w.mu.Unlock()
}

// Used is the live heap's growth over the start now (after a collection).
func (w *Watch) Used() uint64 {
	runtime.GC()
	v := LiveHeap()
	w.see(v)
	return v - min(v, w.start)
}

// Growth stops the watch and returns the peak's growth over the start.
func (w *Watch) Growth() uint64 {
	close(w.stop)
	<-w.done
	w.see(LiveHeap())
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.peak - w.start
}
