package index

import (
	"slices"
	"sync"

	"retune/eval"
)

// coalescer merges concurrent dense searches of one collection into one
// eval.SearchBatch: while a batch runs, arriving queries queue, and the next
// batch takes all of them. A lone query runs alone through eval.Search (no
// waiting, no matrix product), so a quiet server answers as before; under
// load one pass over the document matrix serves every queued query instead
// of one, and memory bandwidth is what a large collection's search spends.
// SearchBatch returns exactly what Search returns, and the top K cut at
// k ≤ K is the top k, so coalescing never changes a result.
//
// Measured with `retune bench search` on 2 cores (README): on 50,000 and
// 300,000 documents × 100 dims, coalescing doubles to triples throughput
// at 50 concurrent requests and cuts p99 by 3x or more; letting one batch per core
// run at once lost most of that gain (batches stayed small). On SciFact's
// 5,183 documents, which fit in cache, it cost 5–15% of throughput, so
// collections under coalesceMinFloats are searched directly.
type coalescer struct {
	ix     *eval.Index
	direct bool // too small to gain: every query runs alone

	mu      sync.Mutex
	queue   []*denseRequest
	leading bool // someone will run the queue: a caller or a drain goroutine
	batches int  // batches run with more than one query (for tests)

	testHookRun func(n int) // called with its size before each batch runs, when set (tests)
}

// coalesceMinFloats is the smallest document matrix (documents × dims)
// searched through the coalescer: 8 MiB of float32.
const coalesceMinFloats = 1 << 21

func newCoalescer(ix *eval.Index) *coalescer {
	return &coalescer{ix: ix, direct: ix.Len()*ix.Dim() < coalesceMinFloats}
}

type denseRequest struct {
	vec    []float32
	k      int
	res    []eval.Scored
	panicV any // a panic of the batch, re-raised in the caller's goroutine
	done   chan struct{}
}

// searchAll returns ix.Search(vecs[i], ks[i]) for every i. The queries
// join the queue together, so they share a batch. The caller that finds no
// batch running leads: it runs the queue (its own queries included) and,
// if more queries arrived meanwhile, hands them to a goroutine instead of
// serving them itself, so leading never delays its own answer.
func (c *coalescer) searchAll(vecs [][]float32, ks []int) [][]eval.Scored {
	out := make([][]eval.Scored, len(vecs))
	if len(vecs) == 0 {
		return out
	}
	if c.direct {
		// Too small for concurrent callers to gain, but one caller's many
		// queries still share passes.
		if len(vecs) == 1 {
			out[0] = c.ix.Search(vecs[0], ks[0])
			return out
		}
		res := c.ix.SearchBatch(vecs, slices.Max(ks), 0)
		for i, r := range res {
			out[i] = r[:min(ks[i], len(r))]
		}
		return out
	}
	reqs := make([]*denseRequest, len(vecs))
	for i := range reqs {
		reqs[i] = &denseRequest{vec: vecs[i], k: ks[i], done: make(chan struct{})}
	}
	c.mu.Lock()
	c.queue = append(c.queue, reqs...)
	lead := !c.leading
	c.leading = true
	c.mu.Unlock()
	if lead && !c.runQueued() {
		go c.drain()
	}
	for i, r := range reqs {
		<-r.done
		if r.panicV != nil {
			panic(r.panicV)
		}
		out[i] = r.res
	}
	return out
}

// drain runs batches until the queue is empty.
func (c *coalescer) drain() {
	for !c.runQueued() {
	}
}

// runQueued runs everything queued as one batch and reports whether the
// queue was empty afterwards, in which case leadership ends.
func (c *coalescer) runQueued() (empty bool) {
	c.mu.Lock()
	batch := c.queue
	c.queue = nil
	if len(batch) > 1 {
		c.batches++
	}
	c.mu.Unlock()
	c.run(batch)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.queue) == 0 {
		c.leading = false
		return true
	}
	return false
}

// run answers every request of batch, or hands each the panic if one
// occurred (a bad query dimension; Collection validates before this).
func (c *coalescer) run(batch []*denseRequest) {
	if c.testHookRun != nil {
		c.testHookRun(len(batch))
	}
	defer func() {
		p := recover()
		for _, r := range batch {
			if p != nil {
				r.panicV = p
			}
			close(r.done)
		}
	}()
	if len(batch) == 1 {
		batch[0].res = c.ix.Search(batch[0].vec, batch[0].k)
		return
	}
	k := 0
	vecs := make([][]float32, len(batch))
	for i, r := range batch {
		k = max(k, r.k)
		vecs[i] = r.vec
	}
	res := c.ix.SearchBatch(vecs, k, 0)
	for i, r := range batch {
		r.res = res[i][:min(r.k, len(res[i]))]
	}
}
