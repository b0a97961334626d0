package memroom

import (
	"testing"
	"time"
)

// Runs admitted into one ledger see each other's holds; a run's second
// check counts its own hold and what it already took as its room; a
// release frees the room; an unknown room admits everything.
func TestLedger(t *testing.T) {
	rooms := 0
	l := NewLedger(func() (uint64, bool) { rooms++; return 100, true })
	a, b := l.Hold(), l.Hold()
	if _, _, ok := a.Admit(60, 0); !ok {
		t.Fatal("a: 60 of 100 refused")
	}
	if left, others, ok := b.Admit(60, 0); ok || left != 40 || others != 60 {
		t.Fatalf("b: 60 with 60 of 100 held: left %d, others %d, ok %t; want 40, 60, refused", left, others, ok)
	}
	if _, _, ok := a.Admit(80, 10); !ok { // its own 60 and the 10 it took count as its room
		t.Fatal("a's second check: 80 refused with 100 free, 10 used and nothing held by others")
	}
	if left, _, ok := b.Admit(30, 0); ok || left != 20 {
		t.Fatalf("b: 30 with 80 held: left %d, ok %t; want 20, refused", left, ok)
	}
	a.Release()
	a.Release() // idempotent
	if _, _, ok := b.Admit(30, 0); !ok {
		t.Fatal("b: 30 refused after a's release")
	}
	b.Release()
	if l.held != 0 {
		t.Fatalf("held %d after every release", l.held)
	}

	// A refusal collects garbage and looks again, at most once a second.
	l.lastGC = time.Time{} // as if the refusals above were long ago
	before := rooms
	c := l.Hold()
	c.Admit(1000, 0)
	c.Admit(1000, 0)
	if got := rooms - before; got != 3 {
		t.Errorf("two refusals within a second read the room %d times, want 3 (one look again)", got)
	}

	unknown := NewLedger(func() (uint64, bool) { return 0, false }).Hold()
	if _, _, ok := unknown.Admit(1<<60, 0); !ok {
		t.Error("an unknown room refused a run")
	}
}
