package train

import (
	"errors"
	"fmt"
	"runtime/metrics"
	"time"

	"retune/eval"
	"retune/internal/memroom"
)

// The run's memory beyond its loaded dataset, from live-heap measurements
// of glove-100d runs (README, "Memory"): each text's vector is held twice
// (the embeddings and the corpus index searched by mining and evaluation)
// with about 100 bytes of bookkeeping beside them, plus tens of megabytes
// whatever the size; the estimate was within 25% of the measured live
// heap from 50,000 to 320,000 texts. With in-batch negatives each step
// also scores every query of its batch against every document row of it,
// in float64 with a gradient of the same shape, the product itself made in
// float32 by ONNX Runtime (linalg): 20 bytes a score, measured within 5%
// at batch_size 4096.
const (
	memFixed        = 40 << 20
	memPerText      = 100
	memVectorCopies = 2
	memBatchBytes   = 2*8 + 4 // scores and their gradients in float64, the product's float32 output
)

// MemoryNeed is what a run is estimated to take beyond its loaded dataset.
type MemoryNeed struct {
	Texts   int    // corpus documents and queries embedded
	Dim     int    // the encoder's width
	Vectors uint64 // their vectors, the corpus index and bookkeeping
	// Batch is one step's in-batch score matrices (0 without in-batch
	// negatives), for a batch of BatchQueries queries and BatchRows
	// document rows.
	Batch                   uint64
	BatchQueries, BatchRows int
}

// Total is the whole estimate.
func (m MemoryNeed) Total() uint64 { return memFixed + m.Vectors + m.Batch }

// The parts of a MemoryNeed, for Largest.
const (
	MemoryFixed = "fixed"
	MemoryTexts = "texts"
	MemoryBatch = "batch"
)

// Largest names the largest part of the estimate: what to change first.
func (m MemoryNeed) Largest() string {
	switch {
	case m.Batch >= m.Vectors && m.Batch >= memFixed:
		return MemoryBatch
	case m.Vectors >= memFixed:
		return MemoryTexts
	}
	return MemoryFixed
}

// EstimateMemory estimates a run over docs documents and queries queries of
// dim dimensions whose train split has trainPairs (query, positive) pairs.
func EstimateMemory(docs, queries, dim, trainPairs int, cfg PipelineConfig) MemoryNeed {
	m := MemoryNeed{Texts: docs + queries, Dim: dim}
	m.Vectors = uint64(m.Texts) * (memVectorCopies*4*uint64(dim) + memPerText)
	if cfg.Train.InBatch {
		// A batch holds at most the pairs the dev split leaves, and a
		// document once however many of its queries it serves.
		q := min(cfg.Train.BatchSize, max(1, int(float64(trainPairs)*(1-cfg.Train.DevFraction))))
		negs := 0
		if cfg.Negatives == NegMined || cfg.Negatives == NegBoth {
			negs += cfg.Mine.PerQuery
		}
		if cfg.Negatives == NegGenerated || cfg.Negatives == NegBoth {
			negs += cfg.Generation.PerQuery
		}
		m.BatchQueries, m.BatchRows = q, min(q*(1+negs), docs)
		m.Batch = uint64(m.BatchQueries) * uint64(m.BatchRows) * memBatchBytes
	}
	return m
}

// positivePairs counts the (query, relevant document) pairs of q: the
// training samples a batch draws from.
func positivePairs(q eval.Qrels) int {
	n := 0
	for _, rels := range q {
		for _, g := range rels {
			if g > 0 {
				n++
			}
		}
	}
	return n
}

// ErrNotEnoughMemory is what a run too large for the memory left is refused
// with (as a *MemoryError).
var ErrNotEnoughMemory = errors.New("not enough memory")

// MemoryError says how much a refused run needs and how much there is.
type MemoryError struct {
	Need MemoryNeed
	Room uint64 // what the machine had left; the run needed more
	// OfTotal marks a comparison with all the memory the process may ever
	// use (its cgroup limit or the RAM), not with what is free now.
	OfTotal bool
}

func (e *MemoryError) Error() string {
	have := "about %s is free"
	if e.OfTotal {
		have = "this machine has %s in all"
	}
	msg := fmt.Sprintf("this run needs about %s of memory and "+have, gib(e.Need.Total()), gib(e.Room))
	msg += fmt.Sprintf(" (%d texts × %d dimensions: %s", e.Need.Texts, e.Need.Dim, gib(e.Need.Vectors))
	if e.Need.Batch > 0 {
		msg += fmt.Sprintf("; in-batch scores of %d queries × %d documents a step: %s", e.Need.BatchQueries, e.Need.BatchRows, gib(e.Need.Batch))
	}
	msg += ")"
	switch e.Need.Largest() {
	case MemoryBatch:
		msg += "; lower the batch size or turn in-batch negatives off"
	case MemoryTexts:
		msg += "; train on fewer pairs or a smaller corpus, or use a machine with more memory"
	default:
		msg += "; use a machine with more memory"
	}
	return msg
}

func (e *MemoryError) Unwrap() error { return ErrNotEnoughMemory }

func gib(n uint64) string {
	switch {
	case n < 10<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n < 1<<30:
		return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
}

// checkMemory refuses the run when its estimate exceeds the room left
// (p.Room, else memroom.Room); unknown room lets it run.
func (p *Pipeline) checkMemory(need MemoryNeed) error {
	if p.SkipMemoryCheck {
		return nil
	}
	roomFn := p.Room
	if roomFn == nil {
		roomFn = memroom.Room
	}
	if room, ok := roomFn(); ok && need.Total() > room {
		return &MemoryError{Need: need, Room: room}
	}
	return nil
}

// MemoryReport compares a run's estimate with what it took.
type MemoryReport struct {
	EstimateBytes uint64 `json:"estimate_bytes"`
	// PeakHeapGrowthBytes is the largest live Go heap (as of a garbage
	// collection) seen during the run, less the live heap when it started:
	// the measure the estimate is calibrated against. It is the process's,
	// so other work running beside the run (a server's searches) counts.
	PeakHeapGrowthBytes uint64 `json:"peak_heap_growth_bytes"`
}

// heapWatch samples the live heap until stopped, keeping its peak.
type heapWatch struct {
	start, peak uint64
	stop, done  chan struct{}
}

const heapWatchEvery = 20 * time.Millisecond

func watchHeap() *heapWatch {
	w := &heapWatch{stop: make(chan struct{}), done: make(chan struct{})}
	w.start = liveHeap()
	w.peak = w.start
	go func() {
		defer close(w.done)
		t := time.NewTicker(heapWatchEvery)
		defer t.Stop()
		for {
			select {
			case <-w.stop:
				return
			case <-t.C:
				w.peak = max(w.peak, liveHeap())
			}
		}
	}()
	return w
}

// growth stops the watch and returns the peak's growth over the start.
func (w *heapWatch) growth() uint64 {
	close(w.stop)
	<-w.done
	w.peak = max(w.peak, liveHeap())
	return w.peak - w.start
}

// liveHeap is the heap the last garbage collection found live.
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}
