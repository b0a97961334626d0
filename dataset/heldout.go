package dataset

import (
	"fmt"
	"slices"
	"strings"

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

// TrainTextTestQueries lists, sorted, the test queries with a relevant
// judgment whose text (trimmed) is also that of a train query with one,
// under another id: CheckHeldOut, which goes by id, lets them through.
// Standard BEIR evaluation keeps them (SciFact's test split has two), and
// so does a run; it reports them, as their figures measure memory too.
func (b *BEIR) TrainTextTestQueries(train, test eval.Qrels) []string {
	trainTexts := make(map[string]bool, len(train))
	for q, docs := range train {
		if query, ok := b.Query(q); ok && anyRelevant(docs) {
			trainTexts[strings.TrimSpace(query.Text)] = true
		}
	}
	var dup []string
	for q, docs := range test {
		if query, ok := b.Query(q); ok && anyRelevant(docs) && trainTexts[strings.TrimSpace(query.Text)] {
			dup = append(dup, q)
		}
	}
	slices.Sort(dup)
	return dup
}
