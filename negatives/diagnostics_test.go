package negatives

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// TestDiagnoseHandComputed checks every number against values worked out
// by hand on 2-d vectors whose cosines are exact:
//
//	q1 = (1,0): mined (3,4) 0.6, (4,3) 0.8, (0,1) 0;  generated (4,3) 0.8, (-1,0) -1
//	q2 = (0,2): mined (0,1) 1;                         generated none
//	q3 = (1,1): nothing (not counted)
//
// mined {0.6, 0.8, 0, 1}: mean 0.6, deviations 0, .2, -.6, .4 → var .56/4 →
// std √0.14; sorted 0, .6, .8, 1 → p10 = 0+.3·.6 = .18, p50 = .7, p90 = .8+.7·.2 = .94.
// generated {0.8, -1}: mean -0.1, std 0.9, p10 = -1+.1·1.8 = -0.82, p50 -0.1, p90 0.62.
// bins floor((x+1)·10), clamped to 19: mined 16, 18, 10, 19; generated 18, 0.
// overlap: only bin 18 is shared, min(1/4, 1/2) = 0.25.
// generated–mined (q1): .96 + 1 + .6 − .6 − .8 + 0 = 1.16 over 6 pairs.
// generated–generated (q1): (4,3)·(-1,0)/5 = -0.8, one pair.
func TestDiagnoseHandComputed(t *testing.T) {
	d := Diagnose([]QueryVectors{
		{Query: []float32{1, 0}, Mined: [][]float32{{3, 4}, {4, 3}, {0, 1}}, Generated: [][]float32{{4, 3}, {-1, 0}}},
		{Query: []float32{0, 2}, Mined: [][]float32{{0, 1}}},
		{Query: []float32{1, 1}},
	})
	checks := []struct {
		name      string
		got, want float64
	}{
		{"mean q-mined", d.MeanCosQueryMined, 0.6},
		{"mean q-generated", d.MeanCosQueryGenerated, -0.1},
		{"mean generated-mined", d.MeanCosGeneratedMined, 1.16 / 6},
		{"mean generated-generated", d.MeanCosGeneratedGenerated, -0.8},
		{"mined std", d.Mined.Std, math.Sqrt(0.14)},
		{"mined p10", d.Mined.P10, 0.18},
		{"mined p50", d.Mined.P50, 0.7},
		{"mined p90", d.Mined.P90, 0.94},
		{"generated mean", d.Generated.Mean, -0.1},
		{"generated std", d.Generated.Std, 0.9},
		{"generated p10", d.Generated.P10, -0.82},
		{"generated p50", d.Generated.P50, -0.1},
		{"generated p90", d.Generated.P90, 0.62},
		{"overlap", d.Overlap, 0.25},
	}
	for _, c := range checks {
		if math.Abs(c.got-c.want) > 1e-9 {
			t.Errorf("%s = %.12f, want %.12f", c.name, c.got, c.want)
		}
	}
	counts := []struct {
		name      string
		got, want int
	}{
		{"queries", d.Queries, 2},
		{"mined n", d.Mined.N, 4},
		{"generated n", d.Generated.N, 2},
		{"generated-mined pairs", d.GeneratedMinedPairs, 6},
		{"generated-generated pairs", d.GeneratedGeneratedPairs, 1},
		{"bins", d.Bins, 20},
	}
	for _, c := range counts {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	wantMined, wantGen := make([]int, 20), make([]int, 20)
	wantMined[10], wantMined[16], wantMined[18], wantMined[19] = 1, 1, 1, 1
	wantGen[0], wantGen[18] = 1, 1
	for i := range 20 {
		if d.Mined.Hist[i] != wantMined[i] || d.Generated.Hist[i] != wantGen[i] {
			t.Fatalf("histograms\nmined     %v want %v\ngenerated %v want %v", d.Mined.Hist, wantMined, d.Generated.Hist, wantGen)
		}
	}
}

func TestDiagnoseEmptyAndEdges(t *testing.T) {
	d := Diagnose(nil)
	if d.Queries != 0 || d.Overlap != 0 || d.Mined.N != 0 || len(d.Mined.Hist) != DiagBins || d.MeanCosGeneratedMined != 0 {
		t.Errorf("empty: %+v", d)
	}
	// Identical distributions overlap fully; disjoint ones not at all.
	same := Diagnose([]QueryVectors{{Query: []float32{1, 0}, Mined: [][]float32{{1, 1}}, Generated: [][]float32{{2, 2}}}})
	if math.Abs(same.Overlap-1) > 1e-12 {
		t.Errorf("same-bin overlap = %v, want 1", same.Overlap)
	}
	// Zero vectors have cosine 0 rather than NaN.
	zero := Diagnose([]QueryVectors{{Query: []float32{0, 0}, Mined: [][]float32{{1, 0}}}})
	if zero.Mined.Mean != 0 {
		t.Errorf("zero query: mean %v, want 0", zero.Mined.Mean)
	}
	bins := []struct {
		x    float64
		want int
	}{{-1, 0}, {-1.5, 0}, {-0.95, 0}, {-0.9, 1}, {0, 10}, {0.05, 10}, {0.99, 19}, {1, 19}, {2, 19}}
	for _, b := range bins {
		if got := diagBin(b.x); got != b.want {
			t.Errorf("diagBin(%v) = %d, want %d", b.x, got, b.want)
		}
	}
}

func TestDiagnosticsJSON(t *testing.T) {
	b, err := json.Marshal(Diagnose([]QueryVectors{{Query: []float32{1, 0}, Mined: [][]float32{{1, 0}}}}))
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"mean_cos_query_mined":1`, `"mean_cos_generated_generated":0`, `"overlap":0`, `"p90":1`, `"hist":[`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("JSON %s lacks %s", b, key)
		}
	}
}
