package dataset

import (
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
