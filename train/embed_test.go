package train

import (
	"reflect"
	"strings"
	"testing"

	"retune/eval"
)

func TestDropZeroVectors(t *testing.T) {
	tests := []struct {
		name     string
		docs     map[string][]float32 // in DocIDs order d0, d1, ...
		queries  map[string][]float32
		wantDocs []string
		want     *Unembeddable
	}{
		{"none", map[string][]float32{"d0": {1, 0}}, map[string][]float32{"q0": {0, 1}}, []string{"d0"}, nil},
		{"some", map[string][]float32{"d0": {0, 0}, "d1": {1, 0}, "d2": {0, 0}}, map[string][]float32{"q0": {0, 1}, "q1": {0, 0}},
			[]string{"d1"}, &Unembeddable{Docs: 2, Queries: 1, DocIDs: []string{"d0", "d2"}, QueryIDs: []string{"q1"}}},
		// The other kind's list is empty, not nil: the API's schema says array.
		{"queries only", map[string][]float32{"d0": {1, 0}}, map[string][]float32{"q0": {0, 0}},
			[]string{"d0"}, &Unembeddable{Queries: 1, DocIDs: []string{}, QueryIDs: []string{"q0"}}},
		{"docs only", map[string][]float32{"d0": {0, 0}, "d1": {1, 0}}, map[string][]float32{"q0": {0, 1}},
			[]string{"d1"}, &Unembeddable{Docs: 1, DocIDs: []string{"d0"}, QueryIDs: []string{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &Embedded{QueryVecs: tt.queries}
			for _, id := range sortedKeys(tt.docs) {
				e.DocIDs, e.DocVecs = append(e.DocIDs, id), append(e.DocVecs, tt.docs[id])
			}
			got := e.DropZeroVectors()
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("report %+v, want %+v", got, tt.want)
			}
			if !reflect.DeepEqual(e.DocIDs, tt.wantDocs) || len(e.DocVecs) != len(tt.wantDocs) {
				t.Fatalf("docs kept %v, want %v", e.DocIDs, tt.wantDocs)
			}
			for id, v := range e.QueryVecs {
				if isZero(v) {
					t.Fatalf("query %s kept with a zero vector", id)
				}
			}
		})
	}
}

// TestEvaluateCountsQueriesWithoutVector: a judged query with no vector
// scores 0 in the mean instead of leaving it.
func TestEvaluateCountsQueriesWithoutVector(t *testing.T) {
	corpus, err := NewCorpus([]string{"d0", "d1"}, [][]float32{{1, 0}, {0, 1}})
	if err != nil {
		t.Fatal(err)
	}
	qrels := eval.Qrels{"q0": {"d0": 1}, "q1": {"d1": 1}}
	m, err := Evaluate(nil, map[string][]float32{"q0": {1, 0}}, corpus, qrels)
	if err != nil {
		t.Fatal(err)
	}
	if got := m[eval.NDCG(10)]; got != 0.5 {
		t.Fatalf("ndcg@10 %v, want 0.5 (q0 perfect, q1 without a vector 0)", got)
	}
	if _, err := NewCorpus(nil, nil); err == nil || !strings.Contains(err.Error(), "the encoder knows no token of any") {
		t.Fatalf("a corpus left empty by unembeddable documents: %v, want the reason", err)
	}
}
