package dataset

import (
	"reflect"
	"strings"
	"testing"

	"retune/eval"
)

func TestFromPairs(t *testing.T) {
	d := func(text string) string { return ContentID(PairsDocPrefix, text) }
	q := func(text string) string { return ContentID(PairsQueryPrefix, text) }
	train := []Pair{
		{Query: "q1", Pos: []string{"p1"}, Neg: []string{"n1", "shared"}},
		{Query: "q2", Pos: []string{"p2", "shared"}},
		{Query: "q1", Pos: []string{"p1b", "p1"}, Neg: []string{"n1"}}, // repeats q1: merges
	}
	test := []Pair{{Query: "t1", Pos: []string{"p1"}, Neg: []string{"n9"}}} // p1 is also a training positive

	b, negs, err := FromPairs(PairsSplit{"train", "train.jsonl", train}, PairsSplit{"test", "test.jsonl", test})
	if err != nil {
		t.Fatal(err)
	}
	var docs []string
	for _, doc := range b.Corpus {
		if doc.ID != d(doc.Text) || doc.Title != "" {
			t.Errorf("doc %+v: id is not the content id of its text, or has a title", doc)
		}
		docs = append(docs, doc.Text)
	}
	if want := []string{"p1", "n1", "shared", "p2", "p1b", "n9"}; !reflect.DeepEqual(docs, want) {
		t.Errorf("corpus %q, want %q (each passage once, first-seen order)", docs, want)
	}
	if want := []Query{{q("q1"), "q1"}, {q("q2"), "q2"}, {q("t1"), "t1"}}; !reflect.DeepEqual(b.Queries, want) {
		t.Errorf("queries %v, want %v", b.Queries, want)
	}
	wantQrels := map[string]eval.Qrels{
		"train": {q("q1"): {d("p1"): 1, d("p1b"): 1}, q("q2"): {d("p2"): 1, d("shared"): 1}},
		"test":  {q("t1"): {d("p1"): 1}},
	}
	if !reflect.DeepEqual(b.Qrels, wantQrels) {
		t.Errorf("qrels %v, want %v", b.Qrels, wantQrels)
	}
	wantNegs := map[string][]string{q("q1"): {d("n1"), d("shared")}, q("t1"): {d("n9")}}
	if !reflect.DeepEqual(negs, wantNegs) {
		t.Errorf("negatives %v, want %v", negs, wantNegs)
	}
	if got, ok := b.Doc(d("p1b")); !ok || got.Text != "p1b" {
		t.Errorf("Doc lookup: %+v %v", got, ok)
	}
	if queries, _, err := b.Split("test"); err != nil || len(queries) != 1 || queries[0].Text != "t1" {
		t.Errorf("Split(test) = %v, %v", queries, err)
	}
}

func TestFromPairsErrors(t *testing.T) {
	tests := []struct {
		name   string
		splits []PairsSplit
		want   string
	}{
		{"positive on one line, negative on another",
			[]PairsSplit{{"train", "train.jsonl", []Pair{{Query: "q", Pos: []string{"a"}, Line: 1}, {Query: "q", Pos: []string{"b"}, Neg: []string{"a"}, Line: 3}}}},
			`train.jsonl: line 3: the passage "a" is a negative of the query "q" here and a positive on line 1`},
		{"negative first, positive later",
			[]PairsSplit{{"train", "train.jsonl", []Pair{{Query: "q", Pos: []string{"b"}, Neg: []string{"a"}, Line: 2}, {Query: "q", Pos: []string{"a"}, Line: 5}}}},
			`train.jsonl: line 5: the passage "a" is a positive of the query "q" here and a negative on line 2`},
		{"a query in two splits",
			[]PairsSplit{{"train", "a.jsonl", []Pair{{Query: "q", Pos: []string{"a"}, Line: 4}}}, {"test", "b.jsonl", []Pair{{Query: "q", Pos: []string{"b"}, Line: 7}}}},
			`b.jsonl: line 7: the query "q" is also in a.jsonl (line 4, split train)`},
		{"an empty split",
			[]PairsSplit{{"train", "train.jsonl", []Pair{{Query: "q", Pos: []string{"a"}}}}, {"test", "test.jsonl", nil}},
			"test.jsonl: no pairs"},
		{"a repeated split name",
			[]PairsSplit{{"train", "a", []Pair{{Query: "q", Pos: []string{"a"}}}}, {"train", "b", []Pair{{Query: "r", Pos: []string{"a"}}}}},
			`split name "train" empty or repeated`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := FromPairs(tt.splits...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// ContentID is part of the stored format: datasets uploaded earlier keep
// their ids, so it must not change.
func TestContentIDStable(t *testing.T) {
	if got, want := ContentID(PairsDocPrefix, "hello"), "d-2cf24dba5fb0a30e26e83b2a"; got != want {
		t.Fatalf("ContentID = %s, want %s", got, want)
	}
}
