package index

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"retune/eval"
	"retune/internal/testvec"
)

func coalesceIndex(t *testing.T, n, dim int) (*eval.Index, [][]float32) {
	t.Helper()
	ids, vecs := testvec.Gaussian(rand.New(rand.NewPCG(21, 22)), n, dim)
	ix, err := eval.NewIndex(ids, vecs)
	if err != nil {
		t.Fatal(err)
	}
	return ix, vecs
}

// TestCoalescerMatchesSearch holds the first batch until every other
// caller has queued, so the next batch must serve them together, then fires
// concurrent searches with different k; every answer must be Search's.
func TestCoalescerMatchesSearch(t *testing.T) {
	ix, vecs := coalesceIndex(t, 3000, 16)
	gate := make(chan struct{})
	var held atomic.Int64 // queries in batches waiting at the gate
	c := &coalescer{ix: ix, testHookRun: func(n int) {
		held.Add(int64(n))
		<-gate
	}}
	const callers = 16
	var wg sync.WaitGroup
	errs := make(chan string, 2*callers)
	check := func(q []float32, k int) {
		if got, want := c.searchAll([][]float32{q}, []int{k})[0], ix.Search(q, k); !slices.Equal(got, want) {
			errs <- fmt.Sprintf("k=%d: coalesced %v, Search %v", k, got, want)
		}
	}
	for g := range callers {
		wg.Go(func() { check(vecs[g], 1+g%7) })
	}
	waitFor(t, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return int(held.Load())+len(c.queue) == callers
	})
	close(gate)
	wg.Wait()
	for g := range callers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for range 30 {
				check(vecs[r.IntN(len(vecs))], 1+r.IntN(50))
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.batches == 0 {
		t.Error("no batch held more than one query")
	}
	if c.leading || len(c.queue) != 0 {
		t.Errorf("idle coalescer still leading=%v with %d queued", c.leading, len(c.queue))
	}
}

// TestCoalescerDirectBelowThreshold: a matrix under coalesceMinFloats is
// searched directly, one at least that large is coalesced.
func TestCoalescerDirectBelowThreshold(t *testing.T) {
	for _, tc := range []struct {
		n, dim int
		direct bool
	}{
		{coalesceMinFloats/64 - 1, 64, true},
		{coalesceMinFloats / 64, 64, false},
	} {
		ix, _ := coalesceIndex(t, tc.n, tc.dim)
		if got := newCoalescer(ix).direct; got != tc.direct {
			t.Errorf("%d × %d: direct = %v, want %v", tc.n, tc.dim, got, tc.direct)
		}
	}
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting")
		}
	}
}

// TestCoalescerPanicReachesCaller: a query of the wrong dimension panics in
// the caller's goroutine (where the HTTP server's recovery turns it into a
// 500) and leaves the coalescer usable.
func TestCoalescerPanicReachesCaller(t *testing.T) {
	ix, vecs := coalesceIndex(t, 50, 4)
	c := &coalescer{ix: ix}
	func() {
		defer func() {
			if p := recover(); p == nil || !strings.Contains(p.(string), "dim") {
				t.Errorf("recovered %v, want the dimension panic", p)
			}
		}()
		c.searchAll([][]float32{{1, 2}}, []int{3})
	}()
	if got, want := c.searchAll([][]float32{vecs[0]}, []int{3})[0], ix.Search(vecs[0], 3); !slices.Equal(got, want) {
		t.Errorf("after the panic: %v, want %v", got, want)
	}
}

// wordCollection is n documents of three words from a 60-word vocabulary
// (so BM25 and hybrid have something to match) with Gaussian vectors.
func wordCollection(t *testing.T, n, dim int) (*Collection, [][]float32) {
	t.Helper()
	ids, vecs := testvec.Gaussian(rand.New(rand.NewPCG(31, 32)), n, dim)
	texts := make([]string, n)
	for i := range texts {
		texts[i] = fmt.Sprintf("w%d w%d w%d", i%60, (i/60)%60, (i*7)%60)
	}
	c, err := NewCollection(ids, texts, vecs)
	if err != nil {
		t.Fatal(err)
	}
	return c, vecs
}

// TestCollectionSearchBatchMatchesSearch: a batch of every mode and many k
// returns what Search returns for each query, on a collection searched
// directly and on one large enough to coalesce.
func TestCollectionSearchBatchMatchesSearch(t *testing.T) {
	for _, n := range []int{500, coalesceMinFloats/32 + 1} {
		c, vecs := wordCollection(t, n, 32)
		if got, want := c.near.direct, n == 500; got != want {
			t.Fatalf("n=%d: direct = %v, want %v", n, got, want)
		}
		r := rand.New(rand.NewPCG(uint64(n), 2))
		var qs []Query
		for i := range 40 {
			q := Query{Text: fmt.Sprintf("w%d w%d", r.IntN(60), r.IntN(60)), Vec: vecs[r.IntN(n)], K: 1 + r.IntN(150)}
			q.Mode = []Mode{ModeDense, ModeBM25, ModeHybrid}[i%3]
			if i%4 == 3 {
				q.Fusion = FusionScore
			}
			qs = append(qs, q)
		}
		got, err := c.SearchBatch(qs)
		if err != nil {
			t.Fatal(err)
		}
		for i, q := range qs {
			want, err := c.Search(q)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got[i], want) {
				t.Fatalf("n=%d query %d (%s, k=%d): batch and Search differ", n, i, q.Mode, q.K)
			}
		}
	}
}

func TestCollectionSearchBatchNamesTheBadQuery(t *testing.T) {
	c, vecs := wordCollection(t, 100, 8)
	qs := []Query{
		{Vec: vecs[0], K: 5, Mode: ModeDense},
		{Text: "w1", K: 5, Mode: ModeBM25},
		{Text: "  ", Vec: vecs[1], K: 5, Mode: ModeHybrid},
	}
	_, err := c.SearchBatch(qs)
	var qe *QueryError
	if !errors.As(err, &qe) || qe.Index != 2 || !errors.Is(err, ErrInvalidQuery) || !strings.Contains(err.Error(), "text is empty") {
		t.Fatalf("err = %v, want a QueryError for query 2 wrapping ErrInvalidQuery", err)
	}
	if got, err := c.SearchBatch(nil); err != nil || len(got) != 0 {
		t.Errorf("empty batch: %v, %v", got, err)
	}
}
