package objective

import (
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// maskBatch: example A (query 0) excludes its positive and "x"; example B
// (query 1) has one mined negative plus whatever extra the case adds.
func maskBatch(extraID string, withExtra bool) *Batch {
	rng := rand.New(rand.NewPCG(5, 5))
	vec := func() []float64 { return []float64{rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()} }
	b := &Batch{
		Queries: rows(vec(), vec()),
		Docs:    rows(vec(), vec(), vec(), vec(), vec()),
		DocIDs:  []string{"pA", "mA", "pB", "mB", extraID},
		Examples: []Example{
			{Query: 0, Positive: 0, Negatives: []Negative{{1, Mined}}, Exclude: []string{"pA", "x"}},
			{Query: 1, Positive: 2, Negatives: []Negative{{3, Mined}}, Exclude: []string{"pB"}},
		},
	}
	if withExtra {
		b.Examples[1].Negatives = append(b.Examples[1].Negatives, Negative{4, Mined})
	}
	return b
}

// TestInBatchMasking: a doc that reaches example A only through example B
// must leave A's loss unchanged when its ID is excluded by A, equals A's
// positive, or repeats an ID A already has; a fresh ID must change it (the
// control that shows the comparison can fail).
func TestInBatchMasking(t *testing.T) {
	cases := []struct {
		name     string
		id       string
		unchange bool
	}{
		{"in Exclude", "x", true},
		{"equals positive", "pA", true},
		{"duplicates explicit negative", "mA", true},
		{"duplicates in-batch doc", "mB", true},
		{"fresh id (control)", "fresh", false},
	}
	cfg := Config{Temperature: 0.05, InBatch: true}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			with, without := make([]float64, 2), make([]float64, 2)
			mustCompute(t, maskBatch(tc.id, true), cfg, termAll, with)
			mustCompute(t, maskBatch(tc.id, false), cfg, termAll, without)
			same := near(with[0], without[0], 1e-12)
			if same != tc.unchange {
				t.Errorf("example A loss %.17g with the doc, %.17g without; want unchanged=%v", with[0], without[0], tc.unchange)
			}
		})
	}
}

// appendCopy returns a copy of b with one more doc row duplicating the values
// of row src under the ID id, listed as an extra mined negative of example e.
func appendCopy(b *Batch, src int, id string, e int) *Batch {
	nd, d := b.Docs.Dims()
	docs := mat.NewDense(nd+1, d, nil)
	docs.Slice(0, nd, 0, d).(*mat.Dense).Copy(b.Docs)
	docs.SetRow(nd, b.Docs.RawRowView(src))
	exs := append([]Example(nil), b.Examples...)
	exs[e].Negatives = append(append([]Negative(nil), exs[e].Negatives...), Negative{nd, Mined})
	return &Batch{Queries: b.Queries, Docs: docs, DocIDs: append(append([]string(nil), b.DocIDs...), id), Examples: exs}
}

// TestDuplicateRowsCountOnce: a second row carrying a doc the example already
// has (same ID, same vector) changes nothing; a doc that an example would see
// in-batch contributes the same once when it is also listed explicitly. The
// control gives the copy a new ID, which makes it a new negative.
func TestDuplicateRowsCountOnce(t *testing.T) {
	base := genBatch(rand.New(rand.NewPCG(6, 0)), genOpts{examples: 3, mined: 2, generated: 1, d: 4})
	own := base.Examples[2].Negatives[0].Doc   // example 2's own mined row
	other := base.Examples[1].Negatives[0].Doc // example 1's mined row
	noEnt := Config{Temperature: 0.05, InBatch: true}
	cases := []struct {
		name string
		cfg  Config
		src  int
	}{
		{"own negative twice, explicit only", Config{Temperature: 0.05, EntropyWeight: 0.05, EntropyTemperature: 0.1}, own},
		{"own negative twice, in-batch", DefaultConfig(), own},
		{"in-batch doc also listed explicitly", noEnt, other},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rb := mustCompute(t, base, tc.cfg, termAll, nil)
			dup := appendCopy(base, tc.src, base.DocIDs[tc.src], 2)
			rd := mustCompute(t, dup, tc.cfg, termAll, nil)
			rr := mustCompute(t, appendCopy(base, tc.src, "a different doc", 2), tc.cfg, termAll, nil)
			if !near(rb.Loss, rd.Loss, 1e-12) {
				t.Errorf("duplicate changed loss %.17g -> %.17g", rb.Loss, rd.Loss)
			}
			if near(rb.Loss, rr.Loss, 1e-6) {
				t.Errorf("control: a renamed copy should add a negative, loss stayed %.17g", rb.Loss)
			}
			if tc.src == own {
				if n := mat.Norm(rd.GradDocs.RowView(len(dup.DocIDs)-1), 2); n != 0 {
					t.Errorf("masked duplicate row got gradient %g", n)
				}
			}
		})
	}
}

// TestExcludedExplicitNegative: an explicit negative whose ID is a judged
// positive of the query is dropped, as if it were not listed.
func TestExcludedExplicitNegative(t *testing.T) {
	mk := func(negs []Negative, exclude []string) *Batch {
		return &Batch{
			Queries:  rows([]float64{1, 0.2}),
			Docs:     rows([]float64{1, 0}, []float64{0.3, 1}, []float64{0.9, 0.1}),
			DocIDs:   []string{"pos", "neg", "other-positive"},
			Examples: []Example{{Query: 0, Positive: 0, Negatives: negs, Exclude: exclude}},
		}
	}
	cfg := Config{Temperature: 0.1}
	listed := []Negative{{1, Mined}, {2, Mined}}
	r1, _ := Compute(mk(listed, []string{"pos", "other-positive"}), cfg)
	r2, _ := Compute(mk(listed[:1], []string{"pos", "other-positive"}), cfg)
	r3, _ := Compute(mk(listed, []string{"pos"}), cfg)
	if !near(r1.Loss, r2.Loss, 1e-15) {
		t.Errorf("excluded negative changed loss: %.17g vs %.17g", r1.Loss, r2.Loss)
	}
	if near(r1.Loss, r3.Loss, 1e-6) {
		t.Errorf("control: without the exclusion the negative should count (loss %.17g both)", r1.Loss)
	}
}
