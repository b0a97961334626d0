package train

import (
	"errors"
	"fmt"

	"gonum.org/v1/gonum/blas/blas64"

	"retune/dataset"
	"retune/eval"
	"retune/internal/memroom"
	"retune/objective"
)

// The run's memory beyond its loaded dataset, from live-heap measurements
// of glove-100d runs (README, "Memory"): each text's vector is held twice
// (the embeddings and the corpus index searched by mining and evaluation)
// with about 100 bytes of bookkeeping beside them, plus tens of megabytes
// whatever the size. A hard negative costs about 55 bytes of bookkeeping (the
// mined lists, the set's references, the samples' rows), a generated one
// its text and provenance besides its vectors. Each step holds five float64
// rows (inputs, outputs, gradients, unit vectors) per query and document
// of its batch; with in-batch negatives it also scores every query of the
// batch against every document row, in float64 with a gradient of the same
// shape, both copied to float32 for ONNX Runtime's products (linalg).
const (
	memFixed        = 40 << 20
	memPerText      = 100
	memVectorCopies = 2
	memPerNegative  = 55
	memPerGenerated = 1 << 10
	memRowFloats    = 5
	memScoreBytes   = 2*8 + 2*4 // scores and gradients in float64, their float32 copies
)

// MemoryShape is what the estimate reads of a run's data.
type MemoryShape struct {
	Docs, Queries int // the texts embedded
	TrainQueries  int // train-split queries with a relevant document
	TrainPairs    int // their (query, relevant document) pairs
	// NegativesPerQuery is the hard negatives a train query brings into a
	// batch; < 0 takes them from the settings (mined_per_query, within the
	// mining window). Generated ones are counted once generated, when the
	// run checks again before training: before, only an upper bound is
	// known (per_query a pair), which would refuse runs that fit.
	NegativesPerQuery float64
	Generated         int // generated negatives kept (their vectors and texts)
}

// MemoryNeed is what a run is estimated to take beyond its loaded dataset.
type MemoryNeed struct {
	Texts   int    // texts embedded, generated negatives included
	Dim     int    // the encoder's width
	Vectors uint64 // their vectors, the corpus index and bookkeeping
	// Batch is one step: its rows, and with in-batch negatives the scores
	// of its BatchQueries queries against its BatchRows document rows.
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

// EstimateMemory estimates a run over data of shape s and dim dimensions.
func EstimateMemory(s MemoryShape, dim int, cfg PipelineConfig) MemoryNeed {
	m := MemoryNeed{Texts: s.Docs + s.Queries + s.Generated, Dim: dim}
	negs := s.NegativesPerQuery
	if negs < 0 {
		negs = 0
		if cfg.Negatives != NegNone { // generated runs mine candidates too
			negs = float64(min(cfg.Mine.PerQuery, max(0, cfg.Mine.RankTo-cfg.Mine.RankFrom)))
		}
	}
	m.Vectors = uint64(m.Texts)*(memVectorCopies*4*uint64(dim)+memPerText) +
		uint64(negs*float64(s.TrainQueries))*memPerNegative + uint64(s.Generated)*memPerGenerated

	// The dev split takes whole queries (at most MaxDevQueries); a batch
	// holds up to batch_size of the pairs left, each query and document
	// once however many of its pairs it serves.
	dev := min(int(cfg.Train.DevFraction*float64(s.TrainQueries)), MaxDevQueries)
	trainQ := max(1, s.TrainQueries-dev)
	pairs := max(trainQ, int(float64(s.TrainPairs)*float64(trainQ)/float64(max(1, s.TrainQueries))))
	samples := min(cfg.Train.BatchSize, pairs)
	m.BatchQueries = min(samples, trainQ)
	m.BatchRows = min(samples+int(negs*float64(m.BatchQueries)), s.Docs+s.Generated)
	m.Batch = uint64(m.BatchQueries+m.BatchRows) * uint64(dim) * memRowFloats * 8
	if cfg.Train.InBatch {
		m.Batch += uint64(m.BatchQueries) * uint64(m.BatchRows) * memScoreBytes
	}
	return m
}

// runShape is the shape of a run over data, its train split trainQrels and
// the hard negatives a dataset provides (nil: mined).
func runShape(data *dataset.BEIR, trainQrels eval.Qrels, provided map[string][]string) MemoryShape {
	s := MemoryShape{Docs: len(data.Corpus), Queries: len(data.Queries), NegativesPerQuery: -1,
		TrainQueries: trainQrels.Scored(), TrainPairs: trainQrels.Pairs()}
	if len(provided) > 0 && s.TrainQueries > 0 {
		total := 0
		for _, ids := range provided {
			total += len(ids)
		}
		s.NegativesPerQuery = float64(total) / float64(s.TrainQueries)
	}
	return s
}

// ErrNotEnoughMemory is what a run too large for the memory left is refused
// with (as a *MemoryError).
var ErrNotEnoughMemory = errors.New("not enough memory")

// MemoryError says how much a refused run needs and how much there is.
type MemoryError struct {
	Need MemoryNeed
	Room uint64 // what the machine had left; the run needed more
	// Held is what other runs admitted before it held of the machine's
	// room (a server's jobs and collections): it may be free again soon.
	Held uint64
	// OfTotal marks a comparison with all the memory the process may ever
	// use (its cgroup limit or the RAM), not with what is free now.
	OfTotal bool
}

func (e *MemoryError) Error() string {
	have := "about %s is free"
	if e.OfTotal {
		have = "the server may use %s in all"
	}
	msg := fmt.Sprintf("this run needs about %s of memory and "+have, memroom.Size(e.Need.Total()), memroom.Size(e.Room))
	if e.Held > 0 && !e.OfTotal {
		msg += fmt.Sprintf(" beside the %s other runs under way hold (retry when they end)", memroom.Size(e.Held))
	}
	msg += fmt.Sprintf(" (%d texts × %d dimensions: %s", e.Need.Texts, e.Need.Dim, memroom.Size(e.Need.Vectors))
	if e.Need.Batch > 0 {
		msg += fmt.Sprintf("; a step over %d queries and %d documents: %s", e.Need.BatchQueries, e.Need.BatchRows, memroom.Size(e.Need.Batch))
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

// checkMemory admits the run's estimate into hold, or refuses the run when
// it exceeds the room left (see memroom.Hold.Admit: the machine's, plus
// used, what the run already took, less what other admitted runs hold);
// unknown room lets it run.
func (p *Pipeline) checkMemory(hold *memroom.Hold, need MemoryNeed, used uint64) error {
	if p.SkipMemoryCheck {
		return nil
	}
	if left, held, ok := hold.Admit(need.Total(), used); !ok {
		return &MemoryError{Need: need, Room: left, Held: held}
	}
	return nil
}

// memoryHold is the run's hold in p.Ledger, or in a ledger of its own.
func (p *Pipeline) memoryHold() *memroom.Hold {
	if p.Ledger != nil {
		return p.Ledger.Hold()
	}
	return memroom.NewLedger(nil).Hold()
}

// releaseScratch drops the buffers the training steps kept for reuse (the
// objective's workspaces, the BLAS's float32 copies when it keeps any):
// sized by the run's largest batch, they would otherwise stay with a
// server after the run.
func releaseScratch() {
	objective.ReleaseScratch()
	if r, ok := blas64.Implementation().(interface{ ReleaseScratch() }); ok {
		r.ReleaseScratch()
	}
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
