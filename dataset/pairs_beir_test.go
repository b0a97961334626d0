package dataset

import (
	"encoding/json"
	"errors"
	"fmt"
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

// recordingSink keeps what a streaming conversion hands over, in order.
type recordingSink struct {
	docs    []Doc
	queries []Query
}

func (s *recordingSink) Doc(id, text string) error {
	s.docs = append(s.docs, Doc{ID: id, Text: text})
	return nil
}

func (s *recordingSink) Query(id, text string) error {
	s.queries = append(s.queries, Query{ID: id, Text: text})
	return nil
}

// pairsJSONL writes pairs as FlagEmbedding lines.
func pairsJSONL(t *testing.T, pairs []Pair) string {
	t.Helper()
	var b strings.Builder
	for _, p := range pairs {
		line, err := json.Marshal(map[string]any{"query": p.Query, "pos": p.Pos, "neg": p.Neg})
		if err != nil {
			t.Fatal(err)
		}
		b.Write(append(line, '\n'))
	}
	return b.String()
}

// StreamPairs reading files gives what ReadPairs then FromPairs give: the
// same passages and queries in the same order, judgements and negatives.
func TestStreamPairsMatchesFromPairs(t *testing.T) {
	train := []Pair{
		{Query: "q1", Pos: []string{"p1"}, Neg: []string{"n1", "shared"}},
		{Query: "q2", Pos: []string{"p2", "shared"}},
		{Query: "q1", Pos: []string{"p1b", "p1"}, Neg: []string{"n1"}},
		{Query: "q3 café", Pos: []string{"p3 日本"}, Neg: []string{"n3", "p2"}},
	}
	test := []Pair{{Query: "t1", Pos: []string{"p1"}, Neg: []string{"n9"}}}
	files := map[string]string{"train.jsonl": pairsJSONL(t, train), "test.jsonl": pairsJSONL(t, test)}
	var splits []PairsSplit
	for _, s := range []struct{ name, file string }{{"train", "train.jsonl"}, {"test", "test.jsonl"}} {
		pairs, err := ReadPairs(strings.NewReader(files[s.file]))
		if err != nil {
			t.Fatal(err)
		}
		splits = append(splits, PairsSplit{s.name, s.file, pairs})
	}
	want, wantNegs, err := FromPairs(splits...)
	if err != nil {
		t.Fatal(err)
	}

	sink := &recordingSink{}
	got, err := StreamPairs(sink, PairsInput{"train", "train.jsonl", strings.NewReader(files["train.jsonl"])},
		PairsInput{"test", "test.jsonl", strings.NewReader(files["test.jsonl"])})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(sink.docs, want.Corpus) || !reflect.DeepEqual(sink.queries, want.Queries) {
		t.Errorf("streamed docs %v queries %v\nwant %v %v", sink.docs, sink.queries, want.Corpus, want.Queries)
	}
	var queryIDs []string
	for _, q := range want.Queries {
		queryIDs = append(queryIDs, q.ID)
	}
	if !reflect.DeepEqual(got.QueryIDs, queryIDs) || len(sink.docs) != len(want.Corpus) ||
		!reflect.DeepEqual(got.Qrels, want.Qrels) || !reflect.DeepEqual(got.Negatives, wantNegs) {
		t.Errorf("layout %+v, %d docs\nwant queries %v, %d docs, qrels %v, negatives %v", got, len(sink.docs), queryIDs, len(want.Corpus), want.Qrels, wantNegs)
	}
}

func TestStreamPairsErrors(t *testing.T) {
	line := func(q string, pos, neg []string) string { return pairsJSONL(t, []Pair{{Query: q, Pos: pos, Neg: neg}}) }
	ok := line("q", []string{"a"}, nil)
	tests := []struct {
		name        string
		train, test string
		want        []string // each error, in order
	}{
		{"invalid lines of a file, named by it", ok + "{}\n" + `{"query": "r"}` + "\n", ok,
			[]string{`train.jsonl: line 2: expected "query"`, `train.jsonl: line 3: no positives`}},
		{"the test file's invalid line", ok, "\n{oops\n", []string{`test.jsonl: line 2: invalid JSON`}},
		{"an empty file", ok, "\n\n", []string{"test.jsonl: no pairs"}},
		{"positive here, negative there", ok + line("q", []string{"b"}, []string{"a"}), "",
			[]string{`train.jsonl: line 2: the passage "a" is a negative of the query "q" here and a positive on line 1`}},
		{"a query in both splits", ok, line("q", []string{"b"}, nil),
			[]string{`test.jsonl: line 1: the query "q" is also in train.jsonl (line 1, split train)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inputs := []PairsInput{{"train", "train.jsonl", strings.NewReader(tt.train)}}
			if tt.test != "" {
				inputs = append(inputs, PairsInput{"test", "test.jsonl", strings.NewReader(tt.test)})
			}
			_, err := StreamPairs(&recordingSink{}, inputs...)
			var es Errors
			if !errors.As(err, &es) || len(es) != len(tt.want) {
				t.Fatalf("error %v, want %d line errors", err, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.Contains(es[i].Error(), w) {
					t.Errorf("error %d = %q, want %q", i, es[i].Error(), w)
				}
			}
		})
	}
}

// TestPairsConflictsStopAtMaxErrors: rule violations across lines are
// capped like parse errors, with the entry saying reading stopped, in both
// conversions.
func TestPairsConflictsStopAtMaxErrors(t *testing.T) {
	var pairs []Pair
	for i := range MaxErrors + 50 {
		q := fmt.Sprintf("query %d", i)
		pairs = append(pairs, Pair{Query: q, Pos: []string{"p" + q}, Neg: []string{"n" + q}, Line: 2*i + 1},
			Pair{Query: q, Pos: []string{"n" + q}, Line: 2*i + 2})
	}
	_, _, fromErr := FromPairs(PairsSplit{"train", "train.jsonl", pairs})
	_, streamErr := StreamPairs(&recordingSink{}, PairsInput{"train", "train.jsonl", strings.NewReader(pairsJSONL(t, pairs))})
	for name, err := range map[string]error{"FromPairs": fromErr, "StreamPairs": streamErr} {
		var es Errors
		if !errors.As(err, &es) || len(es) != MaxErrors+1 {
			t.Fatalf("%s: error %v, want %d line errors and the stop", name, err, MaxErrors)
		}
		last := es[len(es)-1]
		if !last.Stopped || last.Line != 2*MaxErrors+2 || !strings.Contains(last.Reason, "stopped reading") {
			t.Errorf("%s: last entry %+v, want the stop on line %d", name, last, 2*MaxErrors+2)
		}
	}
}
