// Package freelist keeps a few idle scratch objects for reuse.
//
// sync.Pool drops its contents at every garbage collection, and a training
// loop that allocates a little per step collects often enough that its large
// scratch buffers (similarity blocks, float32 copies for ONNX Runtime) were
// being reallocated about every epoch. A List keeps up to Max objects until
// they are taken again.
package freelist

import "sync"

// List is a bounded stack of idle objects; the zero value is not usable,
// set New and Max. It is safe for concurrent use.
type List[T any] struct {
	New func() *T // makes an object when none is idle
	Max int       // idle objects kept; more are left to the garbage collector

	mu   sync.Mutex
	idle []*T
}

// Get returns an idle object or a new one.
func (l *List[T]) Get() *T {
	l.mu.Lock()
	if n := len(l.idle); n > 0 {
		x := l.idle[n-1]
		l.idle[n-1] = nil
		l.idle = l.idle[:n-1]
		l.mu.Unlock()
		return x
	}
	l.mu.Unlock()
	return l.New()
}

// Put makes x available to a later Get. The caller must not use x afterwards.
func (l *List[T]) Put(x *T) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.idle) < l.Max {
		l.idle = append(l.idle, x)
	}
}

// Drain drops the idle objects, for the garbage collector to free: a
// long-running process calls it when a burst of work that grew them ends.
func (l *List[T]) Drain() {
	l.mu.Lock()
	defer l.mu.Unlock()
	clear(l.idle)
	l.idle = l.idle[:0]
}
