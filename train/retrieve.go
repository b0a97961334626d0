package train

import (
	"fmt"
	"runtime"

	"retune/eval"
	"retune/model"
)

// Retrieve ranks the corpus for each query by cosine similarity, through
// the head when one is given (documents too when the head is shared), and
// returns the top k per query as an eval.Run.
func Retrieve(head *model.Head, qids []string, qvecs [][]float32, corpus *Corpus, k int) (eval.Run, error) {
	if len(qids) != len(qvecs) {
		return nil, fmt.Errorf("retrieve: %d query ids, %d vectors", len(qids), len(qvecs))
	}
	if head != nil {
		qvecs = head.ProjectBatch(qvecs)
	}
	ix, err := corpus.Index(head)
	if err != nil {
		return nil, fmt.Errorf("retrieve: %w", err)
	}
	hits := ix.SearchBatch(qvecs, k, runtime.NumCPU())
	run := make(eval.Run, len(qids))
	for i, q := range qids {
		run[q] = hits[i]
	}
	return run, nil
}

// EvalKs are the cut-offs every evaluation reports.
var EvalKs = []int{1, 3, 5, 10, 100}

// Evaluate retrieves for the judged queries present in qvecs and scores the
// run. A judged query without a vector (see Unembeddable) retrieves nothing
// and scores 0, rather than dropping out of the mean.
func Evaluate(head *model.Head, qvecs map[string][]float32, corpus *Corpus, qrels eval.Qrels) (eval.Metrics, error) {
	var qids []string
	var vs [][]float32
	for q := range qrels {
		if v, ok := qvecs[q]; ok {
			qids = append(qids, q)
			vs = append(vs, v)
		}
	}
	if len(qids) == 0 {
		return nil, fmt.Errorf("evaluate: none of the %d judged queries has an embedding", len(qrels))
	}
	run, err := Retrieve(head, qids, vs, corpus, 100)
	if err != nil {
		return nil, err
	}
	for q := range qrels {
		if _, ok := run[q]; !ok {
			run[q] = nil
		}
	}
	mean, _ := eval.Evaluate(qrels, run, EvalKs)
	return mean, nil
}
