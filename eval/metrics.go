package eval

import (
	"fmt"
	"math"
	"slices"
	"sort"
)

// Qrels maps query id -> document id -> graded relevance. A grade > 0 is
// relevant (trec_eval's default relevance_level of 1); 0 or negative grades
// are judged non-relevant and contribute no gain.
type Qrels map[string]map[string]int

// Run maps query id -> retrieved documents, in any order: Evaluate ranks them
// itself (see compareTrec), exactly as trec_eval ignores a run's rank column.
type Run map[string][]Scored

// Metrics maps a metric name to its value. Names are "ndcg@k", "recall@k",
// "precision@k", "mrr@k", "map@k" for each requested cutoff k, and "map".
type Metrics map[string]float64

// The key helpers below name the Metrics entries, so callers do not format
// keys by hand.

// NDCG is the key of nDCG at cutoff k, e.g. "ndcg@10".
func NDCG(k int) string { return fmt.Sprintf("ndcg@%d", k) }

// Recall is the key of recall at cutoff k.
func Recall(k int) string { return fmt.Sprintf("recall@%d", k) }

// Precision is the key of precision at cutoff k.
func Precision(k int) string { return fmt.Sprintf("precision@%d", k) }

// MRR is the key of reciprocal rank cut at k.
func MRR(k int) string { return fmt.Sprintf("mrr@%d", k) }

// MAPAt is the key of average precision cut at k (trec_eval map_cut_k).
func MAPAt(k int) string { return fmt.Sprintf("map@%d", k) }

// MAP is the key of mean average precision over the whole ranked list.
const MAP = "map"

// Evaluate scores run against qrels at each cutoff in ks and returns the mean
// over the evaluated queries plus the per-query values.
//
// Definitions (trec_eval 9.x measure in brackets; rank r starts at 1):
//   - ndcg@k [ndcg_cut_k]: Σ_{r≤k} rel_r / log2(r+1) over the run, divided by
//     the same sum for the ideal ranking of ALL judged relevant documents of
//     the query (grades sorted descending), also cut at k. Gains are the
//     grades themselves (linear, not 2^rel-1).
//   - recall@k [recall_k]: relevant documents in the top k / all relevant.
//   - precision@k [P_k]: relevant documents in the top k / k, even when fewer
//     than k documents were retrieved.
//   - mrr@k [recip_rank_cut_k]: 1/r of the first relevant document if r ≤ k,
//     else 0.
//   - map@k [map_cut_k]: Σ_{relevant r≤k} precision@r / all relevant.
//   - map [map]: the same over the whole list.
//
// Which queries count: a query is evaluated when it has at least one
// relevant document in qrels AND has an entry in run (an empty list scores
// 0 everywhere). This is pytrec_eval's intersection rule, which BEIR's
// EvaluateRetrieval inherits and averages over; a query missing from run is
// therefore NOT counted as 0 — use MissingQueries to detect that case.
// Queries without any relevant document are skipped (the one deviation from
// pytrec_eval, which would score them 0): no system can do well on them, so
// they only dilute the mean. The mean of an empty set is an empty Metrics.
//
// BEIR's optional ignore_identical_ids (dropping hits whose id equals the
// query id) is not applied here; callers filter the run if they need it.
//
// Every k must be positive; a non-positive k is a programming error and
// panics, as trec_eval rejects such cutoffs.
func Evaluate(qrels Qrels, run Run, ks []int) (mean Metrics, perQuery map[string]Metrics) {
	for _, k := range ks {
		if k <= 0 {
			panic(fmt.Sprintf("eval: cutoff k=%d must be positive", k))
		}
	}
	ks = slices.Compact(slices.Sorted(slices.Values(ks)))

	perQuery = make(map[string]Metrics)
	for qid, rels := range qrels {
		list, ok := run[qid]
		if !ok || numRelevant(rels) == 0 {
			continue
		}
		perQuery[qid] = evalQuery(rels, rankTrec(list), ks)
	}

	mean = make(Metrics)
	if len(perQuery) == 0 {
		return mean, perQuery
	}
	// Sum in a fixed query order so the mean is bit-for-bit reproducible
	// (map iteration order would change the float rounding between runs).
	qids := make([]string, 0, len(perQuery))
	for qid := range perQuery {
		qids = append(qids, qid)
	}
	sort.Strings(qids)
	for _, qid := range qids {
		for name, v := range perQuery[qid] {
			mean[name] += v
		}
	}
	for name := range mean {
		mean[name] /= float64(len(qids))
	}
	return mean, perQuery
}

// MissingQueries lists, sorted, the queries that have a relevant document in
// qrels but no entry in run. Evaluate leaves them out of the mean (BEIR's
// rule), so a retriever that silently skips queries would look better than it
// is; callers that want to fail loudly check this first.
func MissingQueries(qrels Qrels, run Run) []string {
	var missing []string
	for qid, rels := range qrels {
		if _, ok := run[qid]; !ok && numRelevant(rels) > 0 {
			missing = append(missing, qid)
		}
	}
	sort.Strings(missing)
	return missing
}

// Scored is how many queries Evaluate averages over given a run for each:
// those with a relevant document.
func (q Qrels) Scored() int {
	n := 0
	for _, rels := range q {
		if numRelevant(rels) > 0 {
			n++
		}
	}
	return n
}

// Pairs counts the (query, relevant document) judgements: the training
// pairs a split gives.
func (q Qrels) Pairs() int {
	n := 0
	for _, rels := range q {
		n += numRelevant(rels)
	}
	return n
}

func numRelevant(rels map[string]int) int {
	n := 0
	for _, g := range rels {
		if g > 0 {
			n++
		}
	}
	return n
}

// evalQuery computes all metrics of one query from its trec-ordered list.
func evalQuery(rels map[string]int, ranked []Scored, ks []int) Metrics {
	ideal := make([]int, 0, len(rels))
	for _, g := range rels {
		if g > 0 {
			ideal = append(ideal, g)
		}
	}
	slices.Sort(ideal)
	slices.Reverse(ideal)
	numRel := float64(len(ideal))

	// Walk the ranking once, snapshotting the running sums at each cutoff
	// (ks is sorted and positive). Cutoffs beyond the list get the final sums.
	type state struct {
		dcg, apSum float64
		relRet     int
		firstRel   int // rank of the first relevant document, 0 if none yet
	}
	var s state
	atK := make([]state, len(ks))
	ki := 0
	for i, d := range ranked {
		for ; ki < len(ks) && ks[ki] == i; ki++ {
			atK[ki] = s
		}
		if g := rels[d.ID]; g > 0 {
			// Same expression and summation order as trec_eval
			// (gain / log2(i+2) for 0-based i) so sums agree to the ulp.
			s.dcg += float64(g) / math.Log2(float64(i+2))
			s.relRet++
			s.apSum += float64(s.relRet) / float64(i+1)
			if s.firstRel == 0 {
				s.firstRel = i + 1
			}
		}
	}
	for ; ki < len(ks); ki++ {
		atK[ki] = s
	}

	m := make(Metrics, 5*len(ks)+1)
	for i, k := range ks {
		c := atK[i]
		m[NDCG(k)] = c.dcg / idealDCG(ideal, k)
		m[Recall(k)] = float64(c.relRet) / numRel
		m[Precision(k)] = float64(c.relRet) / float64(k)
		m[MAPAt(k)] = c.apSum / numRel
		if c.firstRel > 0 {
			m[MRR(k)] = 1 / float64(c.firstRel)
		} else {
			m[MRR(k)] = 0
		}
	}
	m[MAP] = s.apSum / numRel
	return m
}

// idealDCG is the DCG of the best possible ranking cut at k; grades must be
// sorted descending and hold at least one positive grade, so it is > 0.
func idealDCG(grades []int, k int) float64 {
	var sum float64
	for i, g := range grades {
		if i >= k {
			break
		}
		sum += float64(g) / math.Log2(float64(i+2))
	}
	return sum
}
