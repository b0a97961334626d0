package api

import (
	"context"
	"errors"
	"sync"
)

// Causes of a job context's cancellation. A job cancelled by Close keeps
// its running status so the next Start resumes it; one cancelled by a user
// ends as cancelled.
var (
	errShutdown     = errors.New("server shutting down")
	errUserCancel   = errors.New("job cancelled by request")
	errPoolStarted  = errors.New("worker pool already started")
	errPoolShutdown = errors.New("worker pool shut down")
)

// workerPool is a FIFO of job ids served by a fixed number of goroutines.
// The queue is unbounded so that creating a job never blocks a request, and
// it lives in memory only: the store is the durable record, and Start
// rebuilds the queue from it.
type workerPool struct {
	size int

	mu      sync.Mutex
	queue   []string
	running map[string]context.CancelCauseFunc
	stop    context.CancelCauseFunc // nil until begin
	closed  bool
	// draining: the server is shutting down; jobs running may finish,
	// none starts (a job started now would only be interrupted).
	draining bool

	wake chan struct{} // one pending wake-up is enough: a woken worker re-signals while work remains
	wg   sync.WaitGroup
}

func newWorkerPool(size int) *workerPool {
	return &workerPool{size: size, running: map[string]context.CancelCauseFunc{}, wake: make(chan struct{}, 1)}
}

// begin returns the context the workers run under.
func (p *workerPool) begin(ctx context.Context) (context.Context, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.closed:
		return nil, errPoolShutdown
	case p.stop != nil:
		return nil, errPoolStarted
	}
	poolCtx, stop := context.WithCancelCause(ctx)
	p.stop = stop
	return poolCtx, nil
}

func (p *workerPool) spawn(fn func()) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		fn()
	}()
}

// enqueue adds a job; it never blocks.
func (p *workerPool) enqueue(id string) {
	p.mu.Lock()
	p.queue = append(p.queue, id)
	p.mu.Unlock()
	p.signal()
}

func (p *workerPool) signal() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// next blocks until a job id is queued or ctx ends.
func (p *workerPool) next(ctx context.Context) (string, bool) {
	for {
		p.mu.Lock()
		if len(p.queue) > 0 && !p.draining {
			id := p.queue[0]
			p.queue = p.queue[1:]
			more := len(p.queue) > 0
			p.mu.Unlock()
			if more {
				p.signal()
			}
			return id, true
		}
		p.mu.Unlock()
		select {
		case <-p.wake:
		case <-ctx.Done():
			return "", false
		}
	}
}

// track registers a running job's cancel function; false once the pool
// drains or is shut down, when no new job may start (the job stays queued
// in the store, for the next start).
func (p *workerPool) track(id string, cancel context.CancelCauseFunc) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.draining {
		return false
	}
	p.running[id] = cancel
	return true
}

func (p *workerPool) untrack(id string) {
	p.mu.Lock()
	delete(p.running, id)
	p.mu.Unlock()
}

// cancel stops a running job on behalf of a user.
func (p *workerPool) cancel(id string) {
	p.mu.Lock()
	cancel := p.running[id]
	p.mu.Unlock()
	if cancel != nil {
		cancel(errUserCancel)
	}
}

// drain stops jobs from starting; those running go on until shutdown.
func (p *workerPool) drain() {
	p.mu.Lock()
	p.draining = true
	p.mu.Unlock()
}

// shutdown cancels every job with errShutdown and waits for the workers.
func (p *workerPool) shutdown() {
	p.mu.Lock()
	p.closed = true
	stop := p.stop
	p.mu.Unlock()
	if stop != nil {
		stop(errShutdown)
	}
	p.wg.Wait()
}
