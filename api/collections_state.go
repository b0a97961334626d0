package api

import (
	"context"
	"errors"
	"sync"

	"retune/index"
)

// collectionState is what the collection routes keep in memory: the
// indexing runs in flight and the collections loaded for search. What is
// on disk stays authoritative; this is a cache plus the handles needed to
// cancel background work. Loaded collections stay in memory until deleted:
// the working set is expected to fit (SciFact's 5,183 abstracts with
// 100-d vectors take about 4 MB of vectors); an LRU bound belongs here if
// collections outgrow memory. Start loads every ready collection in the
// background unless Config.LazyCollections is set.
type collectionState struct {
	// ctx lives as long as the server: indexing runs and lazy loads run
	// under it rather than under the request that triggered them, so one
	// client hanging up does not fail the load other requests wait on.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	slots  chan struct{} // bounds concurrent indexing runs (each embeds a corpus)
	// draining is closed when the server starts shutting down: a run
	// waiting for a slot then gives up (its collection stays "indexing",
	// for the next start), rather than start only to be interrupted.
	draining  chan struct{}
	drainOnce sync.Once

	mu      sync.Mutex
	loaded  map[string]*loadedCollection
	running map[string]*indexRun
}

// loadedCollection is one collection in memory; ready is closed once ix
// and meta, or err, are set.
type loadedCollection struct {
	ready chan struct{}
	ix    *index.Collection
	meta  collectionMeta
	err   error
}

type indexRun struct {
	cancel  context.CancelFunc
	done    chan struct{}
	started bool // it holds an indexing slot (guarded by collectionState.mu)
}

func newCollectionState(indexers int) *collectionState {
	ctx, cancel := context.WithCancel(context.Background())
	return &collectionState{
		ctx:      ctx,
		cancel:   cancel,
		slots:    make(chan struct{}, max(indexers, 1)),
		draining: make(chan struct{}),
		loaded:   map[string]*loadedCollection{},
		running:  map[string]*indexRun{},
	}
}

// close cancels indexing and waits for it. Cancelled runs leave their
// collections "indexing" in the store, so the next start-up resumes them.
func (st *collectionState) close() {
	// Cancelling under mu orders it before or after every wg.Add below
	// (each is made under mu after checking ctx), so none races Wait.
	st.mu.Lock()
	st.cancel()
	st.mu.Unlock()
	st.wg.Wait()
}

func (st *collectionState) loadedCount() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	n := 0
	for _, lc := range st.loaded {
		select {
		case <-lc.ready:
			if lc.err == nil {
				n++
			}
		default:
		}
	}
	return n
}

func (st *collectionState) indexingCount() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.running)
}

// get returns collection id, calling load the first time. Concurrent
// callers share one load; a failed load is not cached, so the next search
// retries (the files may have been restored).
func (st *collectionState) get(ctx context.Context, id string,
	load func(ctx context.Context) (*index.Collection, collectionMeta, error)) (*loadedCollection, error) {
	st.mu.Lock()
	lc, ok := st.loaded[id]
	if !ok {
		if err := st.ctx.Err(); err != nil {
			st.mu.Unlock()
			return nil, errServerClosing
		}
		lc = &loadedCollection{ready: make(chan struct{})}
		st.loaded[id] = lc
		st.wg.Add(1)
		go func() {
			defer st.wg.Done()
			lc.ix, lc.meta, lc.err = load(st.ctx)
			if lc.err != nil {
				st.mu.Lock()
				if st.loaded[id] == lc {
					delete(st.loaded, id)
				}
				st.mu.Unlock()
			}
			close(lc.ready)
		}()
	}
	st.mu.Unlock()
	select {
	case <-lc.ready:
		if lc.err != nil && st.ctx.Err() != nil {
			return nil, errServerClosing // the load was cut short by Close
		}
		return lc, lc.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// background runs fn(st.ctx) on a goroutine that close waits for, unless
// the server is closing (then it reports false and runs nothing).
func (st *collectionState) background(fn func(ctx context.Context)) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.ctx.Err() != nil {
		return false
	}
	st.wg.Add(1)
	go func() {
		defer st.wg.Done()
		fn(st.ctx)
	}()
	return true
}

// ready returns collection id if it is loaded and its load succeeded.
// Search uses it to skip the database read for collections already in
// memory: a loaded collection is fully indexed, and delete forgets it
// before answering, so a later search falls through to the store's 404.
func (st *collectionState) ready(id string) (*loadedCollection, bool) {
	st.mu.Lock()
	lc, ok := st.loaded[id]
	st.mu.Unlock()
	if !ok {
		return nil, false
	}
	select {
	case <-lc.ready:
		return lc, lc.err == nil
	default:
		return nil, false
	}
}

// put makes a freshly indexed collection searchable without a reload.
func (st *collectionState) put(id string, ix *index.Collection, meta collectionMeta) {
	lc := &loadedCollection{ready: make(chan struct{}), ix: ix, meta: meta}
	close(lc.ready)
	st.mu.Lock()
	st.loaded[id] = lc
	st.mu.Unlock()
}

// forget drops a deleted collection from memory. Searches already holding
// it finish normally: a loaded collection is immutable.
func (st *collectionState) forget(id string) {
	st.mu.Lock()
	delete(st.loaded, id)
	st.mu.Unlock()
}

// errServerClosing is returned once close has begun.
var errServerClosing = errors.New("server is shutting down")

// errIndexingRunning is returned by startRun when id is already being
// indexed by this process.
var errIndexingRunning = errors.New("collection is already being indexed")

// startRun registers an indexing run for id and returns its context and a
// function to call when the run ends.
func (st *collectionState) startRun(id string) (context.Context, func(), error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.ctx.Err() != nil {
		return nil, nil, errServerClosing
	}
	if _, ok := st.running[id]; ok {
		return nil, nil, errIndexingRunning
	}
	ctx, cancel := context.WithCancel(st.ctx)
	run := &indexRun{cancel: cancel, done: make(chan struct{})}
	st.running[id] = run
	st.wg.Add(1)
	return ctx, func() {
		cancel()
		st.mu.Lock()
		delete(st.running, id)
		st.mu.Unlock()
		close(run.done)
		st.wg.Done()
	}, nil
}

// stopRun cancels id's indexing run, if any, and waits until it has
// returned, so that its files can be removed without it writing them again.
func (st *collectionState) stopRun(id string) {
	st.mu.Lock()
	run, ok := st.running[id]
	st.mu.Unlock()
	if ok {
		run.cancel()
		<-run.done
	}
}

// acquire waits for an indexing slot for id's run; release must follow a
// nil error.
func (st *collectionState) acquire(ctx context.Context, id string) error {
	select {
	case st.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	case <-st.draining:
		return errShutdown
	}
	// The slot may have been chosen over a drain already begun (select
	// picks at random among ready cases).
	if !st.start(id) {
		return errShutdown
	}
	return nil
}

// tryAcquire takes an indexing slot for id's run if one is free and no
// drain has begun, without waiting; release must follow a true result. A
// run started this way is never seen queued.
func (st *collectionState) tryAcquire(id string) bool {
	select {
	case <-st.draining:
		return false
	default:
	}
	select {
	case st.slots <- struct{}{}:
	default:
		return false
	}
	return st.start(id) // a drain may have begun meanwhile
}

// start marks id's run started once it holds a slot, unless a drain has
// begun: then it gives the slot back and reports false.
func (st *collectionState) start(id string) bool {
	select {
	case <-st.draining:
		<-st.slots
		return false
	default:
	}
	st.mu.Lock()
	if run, ok := st.running[id]; ok {
		run.started = true
	}
	st.mu.Unlock()
	return true
}

// queued reports whether id's indexing run waits for a slot: other
// collections hold them all.
func (st *collectionState) queued(id string) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	run, ok := st.running[id]
	return ok && !run.started
}

func (st *collectionState) release() { <-st.slots }

// drain stops indexing runs from starting; those running go on until close.
func (st *collectionState) drain() { st.drainOnce.Do(func() { close(st.draining) }) }
