package memroom

import (
	"runtime"
	"sync"
	"time"
)

// Ledger admits memory-hungry runs (jobs, collections being indexed or
// loaded) one check at a time against the room the machine has left, less
// what runs admitted earlier hold: without it, runs checked close together
// (a server resuming an indexing run while it preloads its collections)
// each see the same free memory and together take more than there is. A
// run's hold lasts until it ends, while its allocations also lower the
// room: the double count is temporary and errs on the side of refusing.
type Ledger struct {
	room func() (uint64, bool)

	mu     sync.Mutex
	held   uint64
	lastGC time.Time
}

// gcEvery bounds the garbage collections a refused check runs to learn
// whether garbage was in the way: a client retrying a refused search in a
// loop must not make the server collect a large heap at every request.
const gcEvery = time.Second

// NewLedger returns a ledger over room (Room when nil).
func NewLedger(room func() (uint64, bool)) *Ledger {
	if room == nil {
		room = Room
	}
	return &Ledger{room: room}
}

// Hold is the memory one run holds in a Ledger: none until admitted.
type Hold struct {
	l *Ledger
	n uint64
}

// Hold returns an empty hold for a run.
func (l *Ledger) Hold() *Hold { return &Hold{l: l} }

// Admit sets the run's hold to need bytes when the machine's room, plus
// used (what the run has already taken since it started, which the room no
// longer shows), less what other runs hold, covers it. Otherwise the hold
// stays as it was and Admit returns what was left for the run and what the
// other runs held, with ok false. Where the machine does not tell its
// room, every run is admitted. Before refusing, Admit collects garbage (at
// most once a second) and looks again: freed heap counts as room.
func (h *Hold) Admit(need, used uint64) (left, others uint64, ok bool) {
	l := h.l
	l.mu.Lock()
	defer l.mu.Unlock()
	others = l.held - h.n // h.n ≤ l.held: it is part of it
	left, known := l.leftFor(others, used)
	if known && need > left && time.Since(l.lastGC) >= gcEvery {
		runtime.GC()
		l.lastGC = time.Now()
		left, known = l.leftFor(others, used)
	}
	if known && need > left {
		return left, others, false
	}
	l.held = others + need
	h.n = need
	return left, others, true
}

// leftFor is the room for a run: the machine's, plus used, less what the
// other runs hold. The caller holds l.mu.
func (l *Ledger) leftFor(others, used uint64) (uint64, bool) {
	room, ok := l.room()
	if !ok {
		return 0, false
	}
	room += used
	return room - min(room, others), true
}

// Release drops the hold; the run has ended (what it keeps, e.g. a loaded
// collection, now shows in the machine's room). Idempotent.
func (h *Hold) Release() {
	h.l.mu.Lock()
	defer h.l.mu.Unlock()
	h.l.held -= h.n
	h.n = 0
}
