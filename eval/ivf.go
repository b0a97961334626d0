package eval

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// IVF is an inverted-file index over an Index's rows, for approximate
// search where exact search costs too much: hard-negative mining of a
// million training queries over a million documents is a million full
// scans (29 minutes here), while mining only needs good candidates, not
// the exact top 100. Spherical k-means splits the documents into lists
// around unit centroids; a query is scored against the centroids and then
// only against the documents of its nprobe nearest lists. Evaluation never
// uses it: metrics stay exact.
type IVF struct {
	ix        *Index
	nprobe    int
	centroids []float32 // nlist × dim, unit rows
	nlist     int
	docs      []int32 // the Index positions of the documents, grouped by list
	offsets   []int   // list l holds docs[offsets[l]:offsets[l+1]]
}

// ivfSample caps the documents k-means trains on, per list: enough for
// stable centroids, while training stays a small part of a build.
const ivfSample = 40

// ivfIters is the number of k-means rounds.
const ivfIters = 8

// NewIVF builds an IVF over ix's documents with nlist lists (at most the
// number of documents) that searches the nprobe lists nearest each query.
// seed makes the build reproducible.
func NewIVF(ix *Index, nlist, nprobe int, seed uint64) *IVF {
	n, dim := len(ix.ids), ix.dim
	nlist = max(1, min(nlist, n))
	v := &IVF{ix: ix, nlist: nlist, nprobe: max(1, min(nprobe, nlist))}
	rng := rand.New(rand.NewPCG(seed, 0x1f5))
	sample := rng.Perm(n)[:min(n, nlist*ivfSample)]
	slices.Sort(sample) // rows read in memory order
	rows := make([]float32, len(sample)*dim)
	for i, d := range sample {
		copy(rows[i*dim:], ix.data[d*dim:(d+1)*dim])
	}
	v.centroids = make([]float32, nlist*dim)
	for l, i := range rng.Perm(len(sample))[:nlist] {
		copy(v.centroids[l*dim:], rows[i*dim:(i+1)*dim])
	}
	assign := make([]int32, len(sample))
	for range ivfIters {
		nearestCentroids(rows, dim, v.centroids, nlist, 1, assign)
		v.recenter(rows, assign, rng)
	}
	all := make([]int32, n)
	nearestCentroids(ix.data, dim, v.centroids, nlist, 1, all)
	v.group(all)
	return v
}

// recenter moves each centroid to the normalised mean of its rows; a list
// left empty takes a random row, so no list is wasted.
func (v *IVF) recenter(rows []float32, assign []int32, rng *rand.Rand) {
	dim := v.ix.dim
	sum := make([]float64, v.nlist*dim)
	count := make([]int, v.nlist)
	for i, l := range assign {
		count[l]++
		for j, x := range rows[i*dim : (i+1)*dim] {
			sum[int(l)*dim+j] += float64(x)
		}
	}
	for l := range v.nlist {
		c := v.centroids[l*dim : (l+1)*dim]
		if count[l] == 0 {
			i := rng.IntN(len(assign))
			copy(c, rows[i*dim:(i+1)*dim])
			continue
		}
		var ss float64
		for _, x := range sum[l*dim : (l+1)*dim] {
			ss += x * x
		}
		if ss == 0 {
			continue // opposite rows cancelled out: keep the old centroid
		}
		inv := 1 / math.Sqrt(ss)
		for j := range c {
			c[j] = float32(sum[l*dim+j] * inv)
		}
	}
}

// group orders the documents by list. Their rows are not copied (a
// million 100-d rows are 400 MB): a search gathers a list's rows when it
// scans the list, a small cost next to the product.
func (v *IVF) group(assign []int32) {
	v.offsets = make([]int, v.nlist+1)
	for _, l := range assign {
		v.offsets[l+1]++
	}
	for l := range v.nlist {
		v.offsets[l+1] += v.offsets[l]
	}
	next := slices.Clone(v.offsets[:v.nlist])
	v.docs = make([]int32, len(assign))
	for d, l := range assign {
		v.docs[next[l]] = int32(d)
		next[l]++
	}
}

// nearestCentroids writes, for each row of rows, its k nearest centroids
// (largest dot products, in no particular order) into out[row*k:(row+1)*k],
// scoring blocks of rows with one product each.
func nearestCentroids(rows []float32, dim int, centroids []float32, nlist, k int, out []int32) {
	const block = 512
	n := len(rows) / dim
	blocks := (n + block - 1) / block
	scratch := make([][]float32, runtime.GOMAXPROCS(0))
	parallelFor(blocks, 0, func(w, b int) {
		if scratch[w] == nil {
			scratch[w] = make([]float32, block*nlist)
		}
		lo, hi := b*block, min((b+1)*block, n)
		s := scratch[w][:(hi-lo)*nlist]
		blas32.Gemm(blas.NoTrans, blas.Trans, 1,
			blas32.General{Rows: hi - lo, Cols: dim, Stride: dim, Data: rows[lo*dim : hi*dim]},
			blas32.General{Rows: nlist, Cols: dim, Stride: dim, Data: centroids},
			0, blas32.General{Rows: hi - lo, Cols: nlist, Stride: nlist, Data: s})
		for i := range hi - lo {
			nearest(s[i*nlist:(i+1)*nlist], out[(lo+i)*k:(lo+i+1)*k])
		}
	})
}

// parallelFor calls fn(w, i) for every i in [0, n) on up to workers
// goroutines (≤ 0: GOMAXPROCS, never more); w < workers tells the
// goroutines apart, so fn can keep per-worker state indexed by it.
func parallelFor(n, workers int, fn func(w, i int)) {
	if workers <= 0 || workers > runtime.GOMAXPROCS(0) {
		workers = runtime.GOMAXPROCS(0)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range min(workers, n) {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				fn(w, i)
			}
		})
	}
	wg.Wait()
}

// Lists is the number of lists, Probe how many a query searches.
func (v *IVF) Lists() int { return v.nlist }
func (v *IVF) Probe() int { return v.nprobe }

// SearchBatch returns, for every query, the best k documents among those in
// its nprobe nearest lists, best first, ties by id as Search breaks them.
// Scores are float32 products, so they may differ from Search's in the last
// bits. workers ≤ 0 means GOMAXPROCS.
func (v *IVF) SearchBatch(qs [][]float32, k, workers int) [][]Scored {
	for i, q := range qs {
		v.ix.checkDim(q, i)
	}
	out := make([][]Scored, len(qs))
	k = min(k, len(v.ix.ids))
	if k <= 0 || len(qs) == 0 {
		return out
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	dim := v.ix.dim
	q := make([]float32, len(qs)*dim)
	for i, x := range qs {
		copy(q[i*dim:], x)
	}
	probes := v.probeLists(q, len(qs))
	// Each worker takes whole lists and keeps its own top k per query; the
	// workers' lists are merged at the end.
	workers = min(workers, runtime.GOMAXPROCS(0), v.nlist)
	tops := make([][]TopK, workers)
	for w := range tops {
		tops[w] = make([]TopK, len(qs))
		for i := range tops[w] {
			tops[w][i] = NewTopK(k, len(v.ix.ids), v.ix.idOrder)
		}
	}
	qbuf, rows, scores := make([][]float32, workers), make([][]float32, workers), make([][]float32, workers)
	parallelFor(v.nlist, workers, func(w, l int) {
		who := probes[l]
		lo, hi := v.offsets[l], v.offsets[l+1]
		if len(who) == 0 || hi == lo {
			return
		}
		m, nb := len(who), hi-lo
		qbuf[w] = slices.Grow(qbuf[w][:0], m*dim)[:m*dim]
		for r, qi := range who {
			copy(qbuf[w][r*dim:], q[int(qi)*dim:(int(qi)+1)*dim])
		}
		rows[w] = slices.Grow(rows[w][:0], nb*dim)[:nb*dim]
		for j, d := range v.docs[lo:hi] {
			copy(rows[w][j*dim:], v.ix.data[int(d)*dim:(int(d)+1)*dim])
		}
		scores[w] = slices.Grow(scores[w][:0], m*nb)[:m*nb]
		blas32.Gemm(blas.NoTrans, blas.Trans, 1,
			blas32.General{Rows: m, Cols: dim, Stride: dim, Data: qbuf[w]},
			blas32.General{Rows: nb, Cols: dim, Stride: dim, Data: rows[w]},
			0, blas32.General{Rows: m, Cols: nb, Stride: nb, Data: scores[w]})
		for r, qi := range who {
			top := &tops[w][qi]
			for j, s := range scores[w][r*nb : (r+1)*nb] {
				top.Offer(float64(s), v.docs[lo+j])
			}
		}
	})
	for i := range qs {
		merged := tops[0][i]
		for w := 1; w < workers; w++ {
			for _, c := range tops[w][i].entries {
				merged.Offer(c.Score, c.Doc)
			}
		}
		hits := merged.Sorted()
		res := make([]Scored, len(hits))
		for j, c := range hits {
			res[j] = Scored{ID: v.ix.ids[c.Doc], Score: c.Score}
		}
		out[i] = res
	}
	return out
}

// probeLists returns, for each list, the queries (rows of q) whose nprobe
// nearest centroids include it.
func (v *IVF) probeLists(q []float32, nq int) [][]int32 {
	near := make([]int32, nq*v.nprobe)
	nearestCentroids(q[:nq*v.ix.dim], v.ix.dim, v.centroids, v.nlist, v.nprobe, near)
	lists := make([][]int32, v.nlist)
	for qi := range nq {
		for _, l := range near[qi*v.nprobe : (qi+1)*v.nprobe] {
			lists[l] = append(lists[l], int32(qi))
		}
	}
	return lists
}

// nearest fills out with the positions of the len(out) largest scores, in
// no particular order (ties to the lower position): a min-heap of the best
// seen so far, whose root a new score must beat.
func nearest(scores []float32, out []int32) {
	k := len(out)
	worse := func(a, b int32) bool { // a ranks below b
		if scores[a] != scores[b] {
			return scores[a] < scores[b]
		}
		return a > b
	}
	down := func(i int) {
		for {
			l := 2*i + 1
			if l >= k {
				return
			}
			w := l
			if r := l + 1; r < k && worse(out[r], out[l]) {
				w = r
			}
			if !worse(out[w], out[i]) {
				return
			}
			out[i], out[w] = out[w], out[i]
			i = w
		}
	}
	for i := range k {
		out[i] = int32(i)
	}
	for i := k/2 - 1; i >= 0; i-- {
		down(i)
	}
	for j := k; j < len(scores); j++ {
		if worse(out[0], int32(j)) {
			out[0] = int32(j)
			down(0)
		}
	}
}
