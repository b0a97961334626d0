package eval

import (
	"math"
	"slices"
	"strings"
)

// Scored is one retrieved document and its retrieval score.
type Scored struct {
	ID    string
	Score float64
}

// compareTrec orders results the way trec_eval's form_res_rels.c does before
// computing any measure: by score descending and, on equal scores, by
// document id in DESCENDING byte-wise (strcmp) order. trec_eval ignores the
// rank column of a run and pytrec_eval feeds it the same comparator
// (comp_sim_docno: `return strcmp(p2->docno, p1->docno)`), so this is the rule
// BEIR numbers are computed with, even though pytrec_eval pre-sorts ties
// ascending. NaN scores, which trec_eval never sees, are ordered last so that
// the sort is a total order and the result deterministic.
func compareTrec(a, b Scored) int {
	an, bn := math.IsNaN(a.Score), math.IsNaN(b.Score)
	switch {
	case an && !bn:
		return 1
	case bn && !an:
		return -1
	case a.Score > b.Score:
		return -1
	case a.Score < b.Score:
		return 1
	}
	return strings.Compare(b.ID, a.ID)
}

// rankTrec returns a sorted copy of list in trec_eval order. A document that
// occurs more than once keeps only its best-ranked occurrence: trec_eval
// rejects such runs outright and pytrec_eval cannot represent them (a run is
// a dict), so counting a document twice would match neither.
func rankTrec(list []Scored) []Scored {
	out := slices.Clone(list)
	slices.SortFunc(out, compareTrec)
	seen := make(map[string]struct{}, len(out))
	kept := out[:0]
	for _, s := range out {
		if _, dup := seen[s.ID]; dup {
			continue
		}
		seen[s.ID] = struct{}{}
		kept = append(kept, s)
	}
	return kept
}
