package dataset

import (
	"fmt"
	"slices"

	"retune/eval"
)

// CheckHeldOut refuses a test split that judges relevant documents for a
// query the train split trains on: its metrics would measure memory, not
// retrieval (the pairs conversion refuses the same overlap by query text).
func CheckHeldOut(trainName string, train eval.Qrels, testName string, test eval.Qrels) error {
	var shared []string
	for q, docs := range test {
		if anyRelevant(docs) && anyRelevant(train[q]) {
			shared = append(shared, q)
		}
	}
	if len(shared) == 0 {
		return nil
	}
	slices.Sort(shared)
	more := ""
	if len(shared) > 1 {
		more = fmt.Sprintf(" (and %d more)", len(shared)-1)
	}
	return fmt.Errorf("query %q%s has relevant documents in both split %q and split %q: a held-out query must not be trained on; remove it from one split, or train without a test split",
		shared[0], more, trainName, testName)
}

func anyRelevant(docs map[string]int) bool {
	for _, score := range docs {
		if score > 0 {
			return true
		}
	}
	return false
}
