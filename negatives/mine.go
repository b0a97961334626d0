package negatives

import (
	"context"
	"fmt"
	"math"
	"runtime"

	"retune/eval"
)

// MineConfig selects hard negatives from the encoder's own ranking.
type MineConfig struct {
	RankFrom int     `json:"rank_from"` // rank window [from, to), 0-based (default 10–100)
	RankTo   int     `json:"rank_to"`
	Margin   float64 `json:"margin"`    // skip docs scoring above Margin × positive score (default 0.95)
	PerQuery int     `json:"per_query"` // negatives per query (default 15)
	// Exact ranks every query against the whole corpus even where an IVF
	// would be used (see UseIVF).
	Exact bool `json:"exact,omitempty"`
}

// Searcher ranks queries against a corpus: an exact *eval.Index or an
// approximate *eval.IVF.
type Searcher interface {
	SearchBatch(qs [][]float32, k, workers int) [][]eval.Scored
}

// IVF settings for mining: an IVF pays for itself when many queries rank a
// large corpus (its build costs about as much as ranking a few thousand
// queries exactly); below these sizes mining is exact.
const (
	ivfMinDocs    = 100_000
	ivfMinQueries = 20_000
)

// UseIVF reports whether mining queries queries over docs documents should
// search an IVF, and with how many lists and probes: about 2·√docs lists,
// one in sixteen probed, so a query scans about a sixteenth of the corpus.
func (c MineConfig) UseIVF(docs, queries int) (lists, probe int, ok bool) {
	if c.Exact || docs < ivfMinDocs || queries < ivfMinQueries {
		return 0, 0, false
	}
	lists = min(8192, max(256, int(2*math.Sqrt(float64(docs)))))
	return lists, max(8, lists/16), true
}

// IVFReport says that mining searched an IVF, not the exact corpus.
type IVFReport struct {
	Lists  int     `json:"lists"`
	Probe  int     `json:"probe"`
	BuildS float64 `json:"build_s"`
}

// DefaultMineConfig is the default window, margin and count.
func DefaultMineConfig() MineConfig {
	return MineConfig{RankFrom: 10, RankTo: 100, Margin: 0.95, PerQuery: 15}
}

// MineReport says how mining went; the fallback counts matter with weak
// encoders, whose positives often rank low enough that the margin rejects
// most of the window.
type MineReport struct {
	Queries          int `json:"queries"`
	Negatives        int `json:"negatives"`
	FallbackQueries  int `json:"fallback_queries"`   // queries topped up past the margin filter
	FallbackNegs     int `json:"fallback_negatives"` // negatives taken that way
	MarginRejected   int `json:"margin_rejected"`
	PositivesSkipped int `json:"positives_skipped"`
	// ShallowQueries ranked fewer documents than the window spans (a small
	// corpus), too few to fill PerQuery from it: their window started
	// higher, as far up as PerQuery needed (from rank 0 in a corpus of
	// PerQuery documents or fewer).
	ShallowQueries int  `json:"shallow_queries,omitempty"`
	Provided       bool `json:"provided,omitempty"` // the dataset's own negatives were used instead of mining
	// With Provided: the training queries the dataset gave no negative,
	// mined instead, and the negatives mined for them (both included in
	// Queries and Negatives).
	MinedQueries   int `json:"mined_queries,omitempty"`
	MinedNegatives int `json:"mined_negatives,omitempty"`
	// IVF is set when mining searched an approximate index (UseIVF).
	IVF *IVFReport `json:"ivf,omitempty"`
}

// mineChunk is how many queries Mine ranks at a time: it checks for a
// cancel and reports progress between chunks, and holds the top-RankTo
// lists of one chunk only (a million queries' lists would take gigabytes).
const mineChunk = 8192

// Mine returns up to PerQuery negative doc ids per query: the candidates
// kept, best-scoring first. A candidate scoring above Margin × (the query's
// best positive score) may be an unjudged relevant document, so it is
// skipped; when that leaves fewer than PerQuery, the rest are filled with
// the margin-rejected window candidates of lowest score (those least likely
// to be relevant), lowest first, after the kept ones; the report counts it.
// Ranking costs queries × corpus: ctx stops it between chunks of queries, and
// progress (when not nil) is called with the number of queries done.
func Mine(ctx context.Context, ix Searcher, docVec func(id string) []float32, queryIDs []string, queryVecs [][]float32,
	positives map[string]map[string]int, cfg MineConfig, progress func(done int)) (map[string][]string, MineReport, error) {
	if cfg.RankTo <= cfg.RankFrom || cfg.RankFrom < 0 || cfg.PerQuery <= 0 {
		return nil, MineReport{}, fmt.Errorf("mine: bad window [%d,%d) or count %d", cfg.RankFrom, cfg.RankTo, cfg.PerQuery)
	}
	if len(queryIDs) != len(queryVecs) {
		return nil, MineReport{}, fmt.Errorf("mine: %d query ids, %d vectors", len(queryIDs), len(queryVecs))
	}
	out := make(map[string][]string, len(queryIDs))
	var rep MineReport
	for lo := 0; lo < len(queryIDs); lo += mineChunk {
		if err := ctx.Err(); err != nil {
			return nil, rep, err
		}
		hi := min(lo+mineChunk, len(queryIDs))
		hits := ix.SearchBatch(queryVecs[lo:hi], cfg.RankTo, runtime.NumCPU())
		for i, qh := range hits {
			qi := lo + i
			out[queryIDs[qi]] = mineOne(qh, queryVecs[qi], positives[queryIDs[qi]], docVec, cfg, &rep)
		}
		if progress != nil {
			progress(hi)
		}
	}
	return out, rep, nil
}

// mineOne picks one query's negatives from its ranked hits.
func mineOne(hits []eval.Scored, qv []float32, judged map[string]int, docVec func(id string) []float32, cfg MineConfig, rep *MineReport) []string {
	// The index scores against unit-length documents, so the positive is
	// scored the same way: an encoder without normalisation would otherwise
	// scale the margin by the positive's length.
	posScore := -1.0
	for id, rel := range judged {
		if d := docVec(id); d != nil && rel > 0 {
			if n := math.Sqrt(dot32(d, d)); n > 0 {
				posScore = max(posScore, dot32(qv, d)/n)
			}
		}
	}
	// Skipping the top ranks guards against unjudged relevant documents, but
	// in a corpus of a few dozen documents it would leave nothing to mine:
	// when the ranking ends before the window does, the window starts as
	// high as PerQuery needs.
	from := cfg.RankFrom
	if len(hits) < cfg.RankTo && len(hits)-from < cfg.PerQuery {
		from = max(0, len(hits)-cfg.PerQuery)
	}
	if from < cfg.RankFrom {
		rep.ShallowQueries++
	}
	var picked, spare []string
	for r := from; r < len(hits); r++ {
		h := hits[r]
		if judged[h.ID] > 0 {
			rep.PositivesSkipped++
			continue
		}
		if posScore > 0 && h.Score > cfg.Margin*posScore {
			rep.MarginRejected++
			spare = append(spare, h.ID)
			continue
		}
		if len(picked) < cfg.PerQuery {
			picked = append(picked, h.ID)
		}
	}
	if len(picked) < cfg.PerQuery && len(spare) > 0 {
		// spare is in rank order: take from its end, the lowest scores.
		n := min(cfg.PerQuery-len(picked), len(spare))
		for i := 0; i < n; i++ {
			picked = append(picked, spare[len(spare)-1-i])
		}
		rep.FallbackQueries++
		rep.FallbackNegs += n
	}
	rep.Queries++
	rep.Negatives += len(picked)
	return picked
}

func dot32(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}
