package memroom

import (
	"runtime"
	"testing"
	"time"
)

// The watch sees a live allocation made while it runs, and Used sees what
// is still held.
func TestWatchSeesGrowth(t *testing.T) {
	for range 3 { // objects with finalizers take two cycles to go
		runtime.GC()
	}
	w := StartWatch()
	keep := make([]byte, 64<<20)
	for i := range keep {
		keep[i] = byte(i)
	}
	if used := w.Used(); used < 60<<20 || used > 200<<20 {
		t.Errorf("used %d MiB while holding 64 MiB", used>>20)
	}
	time.Sleep(3 * WatchEvery)
	got := w.Growth()
	runtime.KeepAlive(keep)
	if got < 60<<20 || got > 200<<20 {
		t.Fatalf("growth %d MiB while holding 64 MiB", got>>20)
	}
}
