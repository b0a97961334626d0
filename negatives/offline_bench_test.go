package negatives

import (
	"context"
	"runtime"
	"sort"
	"testing"
	"time"

	"retune/internal/testenv"
)

// offlineSciFact is SciFact's corpus texts and training pairs, loaded once.
type offlineSciFact struct {
	docs  []string
	pairs []Pair
}

// loadOfflineSciFact returns SciFact's corpus texts and training pairs, or
// skips when the shared data folder is absent.
func loadOfflineSciFact(tb testing.TB) *offlineSciFact {
	tb.Helper()
	data := testenv.SciFact(tb, "train")
	_, qrels, err := data.Split("train")
	if err != nil {
		tb.Fatalf("load SciFact: %v", err)
	}
	s := &offlineSciFact{}
	for _, d := range data.Corpus {
		s.docs = append(s.docs, d.Content())
	}
	qids := make([]string, 0, len(qrels))
	for q := range qrels {
		qids = append(qids, q)
	}
	sort.Strings(qids)
	for _, q := range qids {
		query, _ := data.Query(q)
		dids := make([]string, 0, len(qrels[q]))
		for d, rel := range qrels[q] {
			if rel > 0 {
				dids = append(dids, d)
			}
		}
		sort.Strings(dids)
		for _, d := range dids {
			doc, _ := data.Doc(d)
			s.pairs = append(s.pairs, Pair{QueryID: q, Query: query.Text, PosID: d, Positive: doc.Content()})
		}
	}
	return s
}

// BenchmarkOfflineSciFact times the whole offline path the trainer runs with
// no LLM: corpus neighbours from all 5,183 abstracts, then 3 counterfactuals
// for each of the ≈920 training pairs through Run (cheap filters only, no
// encoder), on 2 workers. The bar is ≤ 10 s per iteration on 2 cores.
func BenchmarkOfflineSciFact(b *testing.B) {
	s := loadOfflineSciFact(b)
	ctx := context.Background()
	cfg := DefaultRunConfig()
	cfg.Concurrency = 2
	var res *Result
	var build, gen time.Duration
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		cn := NewCorpusNeighbours(s.docs, CorpusWorkers(2))
		t1 := time.Now()
		g := NewOfflineGenerator(OfflineSeed(1), OfflineCorpus(cn))
		var err error
		res, err = Run(ctx, g, Request{Pairs: s.pairs}, cfg, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		build += t1.Sub(t0)
		gen += time.Since(t1)
	}
	n := float64(b.N)
	b.ReportMetric(build.Seconds()/n, "neighbours_s/op")
	b.ReportMetric(gen.Seconds()/n, "generate_s/op")
	b.ReportMetric(float64(len(s.pairs)), "pairs")
	b.ReportMetric(float64(res.Report.Generated), "generated")
	b.ReportMetric(float64(res.Report.Kept), "kept")
	b.Logf("GOMAXPROCS=%d pairs=%d generated=%d kept=%d rejected=%v kept_by_type=%v empty_pairs=%d",
		runtime.GOMAXPROCS(0), len(s.pairs), res.Report.Generated, res.Report.Kept,
		res.Report.RejectedByReason, res.Report.KeptByType, res.Report.EmptyPairs)
}
