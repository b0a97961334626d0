package dataset

import (
	"strings"
	"testing"

	"retune/eval"
)

func TestSplitWithoutRelevantJudgement(t *testing.T) {
	b := &BEIR{Queries: []Query{{ID: "q1", Text: "a"}}, Qrels: map[string]eval.Qrels{
		"train": {"q1": {"d1": 0}},
		"test":  {"q1": {"d1": 0, "d2": 1}},
	}}
	if _, _, err := b.Split("train"); err == nil || !strings.Contains(err.Error(), `split "train" has no relevant judgement`) {
		t.Fatalf("error %v, want a split without relevant judgement refused", err)
	}
	if _, q, err := b.Split("test"); err != nil || len(q) != 1 {
		t.Fatalf("split with one relevant judgement: %v %v", q, err)
	}
}
