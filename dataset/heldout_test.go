package dataset

import (
	"slices"
	"strings"
	"testing"

	"retune/eval"
)

func TestCheckHeldOut(t *testing.T) {
	train := eval.Qrels{"q1": {"d1": 1}, "q2": {"d2": 0}, "q3": {"d3": 2}, "q4": {"d4": 1}}
	cases := []struct {
		name string
		test eval.Qrels
		want string // "" for no error
	}{
		{"disjoint", eval.Qrels{"q9": {"d1": 1}}, ""},
		{"only a grade-0 judgement in train", eval.Qrels{"q2": {"d2": 1}}, ""},
		{"only a grade-0 judgement in test", eval.Qrels{"q1": {"d7": 0}}, ""},
		{"one shared query", eval.Qrels{"q3": {"d9": 1}, "q9": {"d1": 1}}, `query "q3" has relevant documents in both split "train" and split "test"`},
		{"several, the first by id named", eval.Qrels{"q4": {"d4": 1}, "q1": {"d1": 1}, "q3": {"d3": 1}}, `query "q1" (and 2 more) has`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckHeldOut("train", train, "test", tc.test)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// Test queries that repeat a train query's text under another id are
// found; grade-0 judgments and other texts are not.
func TestTrainTextTestQueries(t *testing.T) {
	dir := writeBEIR(t, map[string]string{
		"corpus.jsonl": tinyCorpus,
		"queries.jsonl": `{"_id": "a", "text": "does aspirin help"}
{"_id": "b", "text": "  does aspirin help "}
{"_id": "c", "text": "does Aspirin help"}
{"_id": "d", "text": "zinc"}
{"_id": "e", "text": "zinc"}
{"_id": "f", "text": "iron"}
{"_id": "g", "text": "iron"}
`,
		// d judges nothing relevant in train; g's test judgment is grade 0.
		"qrels/train.tsv": "query-id\tcorpus-id\tscore\na\td1\t1\nd\td1\t0\nf\td2\t1\n",
		"qrels/test.tsv":  "query-id\tcorpus-id\tscore\nb\td1\t1\nc\td2\t1\ne\td3\t1\ng\td3\t0\n",
	})
	b, err := LoadBEIR(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, train, _ := b.Split("train")
	_, test, _ := b.Split("test")
	if got := b.TrainTextTestQueries(train, test); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("got %v, want [b]: same text once trimmed; case counts; grade 0 does not", got)
	}
}
