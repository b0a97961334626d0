package freelist

import (
	"runtime"
	"testing"
)

func TestListReusesAcrossGCAndBoundsIdle(t *testing.T) {
	made := 0
	l := &List[[]byte]{New: func() *[]byte { made++; b := make([]byte, 1<<20); return &b }, Max: 2}
	a, b, c := l.Get(), l.Get(), l.Get()
	if made != 3 {
		t.Fatalf("made %d objects for 3 Gets on an empty list", made)
	}
	l.Put(a)
	l.Put(b)
	l.Put(c) // beyond Max: dropped
	runtime.GC()
	got := map[*[]byte]bool{l.Get(): true, l.Get(): true}
	if made != 3 || !got[a] || !got[b] {
		t.Fatalf("after a GC, Gets did not return the two kept objects (made %d)", made)
	}
	l.Get()
	if made != 4 {
		t.Fatalf("third Get should make a new object, made %d", made)
	}
}

func TestDrainDropsTheIdle(t *testing.T) {
	made := 0
	l := List[int]{New: func() *int { made++; return new(int) }, Max: 2}
	a, b := l.Get(), l.Get()
	l.Put(a)
	l.Put(b)
	l.Drain()
	if l.Get(); made != 3 {
		t.Fatalf("after Drain, Get made %d objects in all, want a new one (3)", made)
	}
}
