package eval

import (
	"math"
	"slices"
	"testing"
)

const tol = 1e-12

// Expected values below are derived by hand in the comments; the numeric
// literals were evaluated once with a calculator (log2(3) = 1.584962500721156,
// log2(5) = 2.321928094887362) and must not be recomputed from the code
// under test.
func TestEvaluateHandComputed(t *testing.T) {
	tests := []struct {
		name  string
		rels  map[string]int
		list  []Scored
		ks    []int
		wants Metrics
	}{
		{
			// Ranking d1(rel) d2 d3(rel) d4; d5 is relevant but not retrieved,
			// so |relevant| = 3.
			name: "binary, relevant doc not retrieved, k beyond list",
			rels: map[string]int{"d1": 1, "d3": 1, "d5": 1},
			list: []Scored{{"d4", 0.6}, {"d2", 0.8}, {"d1", 0.9}, {"d3", 0.7}},
			ks:   []int{3, 10},
			wants: Metrics{
				// DCG@3 = 1/log2(2) + 1/log2(4) = 1.5
				// IDCG@3 = 1 + 1/log2(3) + 1/log2(4) = 2.1309297535714578
				"ndcg@3": 0.7039180890341347,
				// k=10 > 4 retrieved: DCG and IDCG (3 relevant) unchanged.
				"ndcg@10":      0.7039180890341347,
				"recall@3":     2.0 / 3,
				"recall@10":    2.0 / 3,
				"precision@3":  2.0 / 3,
				"precision@10": 2.0 / 10, // trec_eval P_k divides by k, not by |retrieved|
				"mrr@3":        1,
				"mrr@10":       1,
				// AP = (1/1 + 2/3) / 3 relevant
				"map@3":  5.0 / 9,
				"map@10": 5.0 / 9,
				"map":    5.0 / 9,
			},
		},
		{
			// Ranking c(1) z(0) a(3) b(2); z is judged non-relevant.
			name: "graded relevance",
			rels: map[string]int{"a": 3, "b": 2, "c": 1, "z": 0},
			list: []Scored{{"a", 0.7}, {"b", 0.1}, {"c", 0.9}, {"z", 0.8}},
			ks:   []int{1, 2, 4},
			wants: Metrics{
				// DCG@1 = 1; IDCG@1 = 3 (best grade first).
				"ndcg@1": 1.0 / 3,
				// DCG@2 = 1 + 0; IDCG@2 = 3 + 2/log2(3) = 4.261859507142915
				"ndcg@2": 0.23463936301137822,
				// DCG@4 = 1 + 0 + 3/log2(4) + 2/log2(5) = 3.3613531161467862
				// IDCG@4 = 3 + 2/log2(3) + 1/log2(4) = 4.7618595071429155
				"ndcg@4":      0.7058908628246313,
				"recall@1":    1.0 / 3,
				"recall@2":    1.0 / 3,
				"recall@4":    1,
				"precision@1": 1,
				"precision@2": 0.5,
				"precision@4": 0.75,
				"mrr@1":       1,
				"mrr@2":       1,
				"mrr@4":       1,
				// AP@1 = (1/1)/3; AP@2 the same; full AP = (1/1 + 2/3 + 3/4)/3
				"map@1": 1.0 / 3,
				"map@2": 1.0 / 3,
				"map@4": 0.8055555555555555,
				"map":   0.8055555555555555,
			},
		},
		{
			// All three tie at 0.5. trec_eval breaks ties by doc id
			// DESCENDING, so the order is x, m, a and the relevant x is first.
			// (Ascending order would put it third: mrr 1/3, ndcg@1 0.)
			name:  "ties: relevant doc wins by descending id",
			rels:  map[string]int{"x": 1},
			list:  []Scored{{"a", 0.5}, {"x", 0.5}, {"m", 0.5}},
			ks:    []int{1, 3},
			wants: Metrics{"ndcg@1": 1, "ndcg@3": 1, "mrr@1": 1, "mrr@3": 1, "recall@1": 1, "map": 1},
		},
		{
			// Same tie, relevant doc a is last: rank 3.
			// ndcg@3 = (1/log2(4)) / 1 = 0.5; mrr@3 = 1/3; AP = (1/3)/1.
			name:  "ties: relevant doc loses by descending id",
			rels:  map[string]int{"a": 1},
			list:  []Scored{{"a", 0.5}, {"x", 0.5}, {"m", 0.5}},
			ks:    []int{2, 3},
			wants: Metrics{"ndcg@2": 0, "ndcg@3": 0.5, "mrr@2": 0, "mrr@3": 1.0 / 3, "recall@2": 0, "recall@3": 1, "map": 1.0 / 3},
		},
		{
			// Byte-wise, not numeric: "9" > "10" because '9' > '1', so "9"
			// ranks first and the relevant "10" second.
			// ndcg@2 = (1/log2(3)) / 1 = 0.6309297535714575
			name:  "ties are compared byte-wise",
			rels:  map[string]int{"10": 1},
			list:  []Scored{{"10", 2}, {"9", 2}},
			ks:    []int{2},
			wants: Metrics{"ndcg@2": 0.6309297535714575, "mrr@2": 0.5, "map": 0.5},
		},
		{
			// d1 appears twice; only its best occurrence (rank 1) counts and
			// the list has 2 distinct docs. P@3 = 1/3; AP = 1.
			name:  "duplicate ids count once",
			rels:  map[string]int{"d1": 1},
			list:  []Scored{{"d1", 0.9}, {"d2", 0.8}, {"d1", 0.1}},
			ks:    []int{3},
			wants: Metrics{"precision@3": 1.0 / 3, "recall@3": 1, "map": 1, "ndcg@3": 1},
		},
		{
			// A NaN score ranks last: order d2, d1.
			name:  "NaN score ranks last",
			rels:  map[string]int{"d1": 1},
			list:  []Scored{{"d1", math.NaN()}, {"d2", -5}},
			ks:    []int{1, 2},
			wants: Metrics{"mrr@1": 0, "mrr@2": 0.5},
		},
		{
			name:  "empty list scores zero",
			rels:  map[string]int{"d1": 2},
			list:  []Scored{},
			ks:    []int{10},
			wants: Metrics{"ndcg@10": 0, "recall@10": 0, "precision@10": 0, "mrr@10": 0, "map@10": 0, "map": 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mean, per := Evaluate(Qrels{"q": tt.rels}, Run{"q": tt.list}, tt.ks)
			if len(per) != 1 {
				t.Fatalf("evaluated %d queries, want 1", len(per))
			}
			for name, want := range tt.wants {
				got, ok := per["q"][name]
				if !ok {
					t.Errorf("%s missing from %v", name, per["q"])
					continue
				}
				if math.Abs(got-want) > tol {
					t.Errorf("%s = %.16g, want %.16g", name, got, want)
				}
				if mean[name] != got {
					t.Errorf("mean %s = %v, want the single query's %v", name, mean[name], got)
				}
			}
		})
	}
}

func TestEvaluateKeysPerCutoff(t *testing.T) {
	_, per := Evaluate(Qrels{"q": {"d": 1}}, Run{"q": {{"d", 1}}}, []int{5, 1, 5})
	var keys []string
	for k := range per["q"] {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"map", "map@1", "map@5", "mrr@1", "mrr@5", "ndcg@1", "ndcg@5",
		"precision@1", "precision@5", "recall@1", "recall@5"}
	if !slices.Equal(keys, want) {
		t.Errorf("keys = %v, want %v", keys, want)
	}
}

// Which queries are averaged: BEIR/pytrec_eval's intersection of qrels and
// run, minus queries without a relevant document.
func TestEvaluateQuerySelection(t *testing.T) {
	qrels := Qrels{
		"perfect":  {"d1": 1},
		"emptyrun": {"d1": 1},
		"norel":    {"d1": 0, "d2": -1}, // judged, but nothing relevant: skipped
		"missing":  {"d1": 1},           // not in run: skipped, reported by MissingQueries
	}
	run := Run{
		"perfect":   {{"d1", 1}},
		"emptyrun":  {},
		"norel":     {{"d1", 1}},
		"notjudged": {{"d1", 1}}, // not in qrels: ignored
	}
	mean, per := Evaluate(qrels, run, []int{10})

	var got []string
	for q := range per {
		got = append(got, q)
	}
	slices.Sort(got)
	if want := []string{"emptyrun", "perfect"}; !slices.Equal(got, want) {
		t.Fatalf("evaluated %v, want %v", got, want)
	}
	// (1 + 0) / 2 evaluated queries
	if mean["ndcg@10"] != 0.5 || mean["map"] != 0.5 || mean["recall@10"] != 0.5 {
		t.Errorf("mean = %v, want ndcg@10, map, recall@10 = 0.5", mean)
	}
	if m := MissingQueries(qrels, run); !slices.Equal(m, []string{"missing"}) {
		t.Errorf("MissingQueries = %v, want [missing]", m)
	}
	if n := qrels.Scored(); n != 3 {
		t.Errorf("Scored = %d, want 3 (every query but norel)", n)
	}
	qrels["perfect"]["d3"] = 2
	if n := qrels.Pairs(); n != 4 {
		t.Errorf("Pairs = %d, want 4 (perfect's two relevant documents, one each for emptyrun and missing)", n)
	}
}

func TestEvaluateNothingEvaluated(t *testing.T) {
	mean, per := Evaluate(Qrels{"q": {"d": 1}}, Run{}, []int{10})
	if len(mean) != 0 || len(per) != 0 {
		t.Errorf("Evaluate with empty run = %v, %v; want empty", mean, per)
	}
}

func TestEvaluateDoesNotReorderCallerList(t *testing.T) {
	list := []Scored{{"b", 0.1}, {"a", 0.9}}
	Evaluate(Qrels{"q": {"a": 1}}, Run{"q": list}, []int{1})
	if list[0].ID != "b" {
		t.Errorf("Evaluate reordered the caller's run: %v", list)
	}
}

func TestEvaluatePanicsOnNonPositiveK(t *testing.T) {
	for _, k := range []int{0, -3} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("k=%d: no panic", k)
				}
			}()
			Evaluate(Qrels{"q": {"d": 1}}, Run{"q": nil}, []int{k})
		}()
	}
}
