package index

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode"

	"retune/eval"
)

// Mode selects the retriever.
type Mode string

const (
	// ModeDense ranks by cosine similarity of Query.Vec with the document
	// vectors (exact brute force, eval.Index).
	ModeDense Mode = "dense"
	// ModeBM25 ranks by BM25 over Query.Text; only documents sharing at
	// least one term with the query are returned.
	ModeBM25 Mode = "bm25"
	// ModeHybrid retrieves max(K, HybridDepth) candidates from each of the
	// two and fuses the union with Query.Fusion.
	ModeHybrid Mode = "hybrid"
)

// Fusion selects how hybrid search combines the dense and BM25 lists.
type Fusion string

const (
	// FusionRRF is reciprocal rank fusion:
	//	score(d) = Σ_{lists L containing d} 1 / (rrf_k + rank_L(d)),
	// rank 1-based, rrf_k = Query.RRFK (default 60).
	FusionRRF Fusion = "rrf"
	// FusionScore is min-max normalised score fusion:
	//	score(d) = alpha · norm_dense(d) + (1 − alpha) · norm_bm25(d),
	//	norm_L(d) = (s_L(d) − min_L) / (max_L − min_L),
	// with min_L, max_L over list L's candidates, norm_L(d) = 0 when d is
	// not in L, and norm_L = 1 for every candidate when max_L = min_L.
	// alpha = Query.Alpha (default 0.5).
	FusionScore Fusion = "score"
)

// Limits and defaults of Query.
const (
	MaxK         = 1000
	DefaultRRFK  = 60  // Cormack et al.'s constant
	DefaultAlpha = 0.5 // equal weight on dense and BM25
	// HybridDepth is the minimum number of candidates hybrid search takes
	// from each list: fusing only the top K of each would drop documents
	// ranked just below K by one retriever but high by the other, which is
	// where fusion helps most.
	HybridDepth = 100
)

// ErrInvalidQuery is wrapped by every error Search returns for a malformed
// query (the API maps it to 400).
var ErrInvalidQuery = errors.New("invalid query")

// Query is one search request.
type Query struct {
	Text string    // required for bm25 and hybrid; ignored for dense
	Vec  []float32 // required for dense and hybrid (len Dim()); ignored for bm25
	K    int       // number of hits, 1..MaxK
	Mode Mode      // required
	// Fusion, Alpha and RRFK apply to hybrid only (they are still
	// validated otherwise). Zero values mean the defaults: FusionRRF,
	// DefaultAlpha, DefaultRRFK. Alpha must be in (0, 1]: 0 cannot be asked
	// for, because it means "default"; use ModeBM25 for a lexical ranking.
	Fusion Fusion
	Alpha  float64
	RRFK   int
}

// Hit is one search result. Score is the ranking score of the mode: cosine
// similarity (dense), BM25 (bm25) or the fused score (hybrid).
type Hit struct {
	ID    string
	Score float64
	Text  string
	// DenseScore and BM25Score are set when the document was in that
	// retriever's candidate list (dense: cosine; bm25: BM25), with its
	// 1-based rank there; nil and 0 when it was not or the retriever did
	// not run.
	DenseScore, BM25Score *float64
	DenseRank, BM25Rank   int
}

// Search runs q. It validates K (1..MaxK), Mode, Fusion, Alpha, RRFK, that
// Text is not blank where it is used and that Vec has dimension Dim() and a
// finite non-zero norm where it is used; a violation returns an error
// wrapping ErrInvalidQuery. A query with no indexed term is not an error: a
// bm25 search then returns no hits and a hybrid one the dense candidates.
// Likewise a query whose Vec is all zeros (an encoder that knows none of its
// tokens) has no dense candidates: a dense search returns no hits and a
// hybrid one the BM25 candidates alone.
// The result is never nil. Hits are best first, ties broken by id ascending.
func (c *Collection) Search(q Query) ([]Hit, error) {
	q, err := c.validate(q)
	if err != nil {
		return nil, fmt.Errorf("index: search: %w", err)
	}
	return c.run([]Query{q})[0], nil
}

// A QueryError is a malformed query of SearchBatch: Index is its position
// and Err wraps ErrInvalidQuery.
type QueryError struct {
	Index int
	Err   error
}

func (e *QueryError) Error() string {
	return fmt.Sprintf("index: search: query %d: %v", e.Index, e.Err)
}
func (e *QueryError) Unwrap() error { return e.Err }

// SearchBatch runs every query of qs as Search does, with the same results,
// after validating them all (the first malformed one is a *QueryError and
// nothing runs). The dense parts run together: one pass over the document
// matrix for all of them, where Search would make one each.
func (c *Collection) SearchBatch(qs []Query) ([][]Hit, error) {
	valid := make([]Query, len(qs))
	for i, q := range qs {
		v, err := c.validate(q)
		if err != nil {
			return nil, &QueryError{Index: i, Err: err}
		}
		valid[i] = v
	}
	return c.run(valid), nil
}

// run answers validated queries.
func (c *Collection) run(qs []Query) [][]Hit {
	var vecs [][]float32
	var depths, owner []int
	for i, q := range qs {
		if q.Mode != ModeBM25 && q.Vec != nil {
			vecs = append(vecs, q.Vec)
			depths = append(depths, c.denseDepth(q))
			owner = append(owner, i)
		}
	}
	dense := make([][]scoredDoc, len(qs))
	for j, list := range c.near.searchAll(vecs, depths) {
		dense[owner[j]] = c.scoredDocs(list)
	}
	out := make([][]Hit, len(qs))
	for i, q := range qs {
		switch q.Mode {
		case ModeDense:
			out[i] = c.hitsDense(dense[i]) // none (not nil) for a zero vector
		case ModeBM25:
			out[i] = c.hitsBM25(c.bm25.search(q.Text, q.K))
		default:
			out[i] = c.hybrid(q, dense[i])
		}
	}
	return out
}

// denseDepth is how many dense candidates q needs: K, or for hybrid the
// fusion depth.
func (c *Collection) denseDepth(q Query) int {
	if q.Mode == ModeDense {
		return q.K
	}
	return min(max(q.K, HybridDepth), c.Len())
}

// hybrid fuses q's dense candidates with as many BM25 candidates.
func (c *Collection) hybrid(q Query, dense []scoredDoc) []Hit {
	lexical := c.bm25.search(q.Text, c.denseDepth(q))
	var fused []fusedHit
	if q.Fusion == FusionRRF {
		fused = fuseRRF(dense, lexical, q.RRFK)
	} else {
		fused = fuseScores(dense, lexical, q.Alpha)
	}
	sortFused(fused, c.bm25.idOrder)
	fused = fused[:min(q.K, len(fused))]
	hits := make([]Hit, len(fused))
	for i, f := range fused {
		hits[i] = Hit{ID: c.ids[f.doc], Score: f.score, Text: c.texts[f.doc], DenseRank: f.denseRank, BM25Rank: f.bm25Rank}
		if f.denseRank > 0 {
			hits[i].DenseScore = ptr(f.dense)
		}
		if f.bm25Rank > 0 {
			hits[i].BM25Score = ptr(f.bm25)
		}
	}
	return hits
}

// validate checks q and returns it with defaults filled in and Vec replaced
// by a unit-length copy (so dense scores are cosines).
func (c *Collection) validate(q Query) (Query, error) {
	if q.K < 1 || q.K > MaxK {
		return q, fmt.Errorf("%w: k=%d must be in [1, %d]", ErrInvalidQuery, q.K, MaxK)
	}
	switch q.Mode {
	case ModeDense, ModeBM25, ModeHybrid:
	default:
		return q, fmt.Errorf("%w: mode %q must be one of %q, %q, %q", ErrInvalidQuery, q.Mode, ModeDense, ModeBM25, ModeHybrid)
	}
	switch q.Fusion {
	case "":
		q.Fusion = FusionRRF
	case FusionRRF, FusionScore:
	default:
		return q, fmt.Errorf("%w: fusion %q must be %q or %q", ErrInvalidQuery, q.Fusion, FusionRRF, FusionScore)
	}
	switch {
	case q.Alpha == 0:
		q.Alpha = DefaultAlpha
	case !(q.Alpha > 0 && q.Alpha <= 1): // also rejects NaN
		return q, fmt.Errorf("%w: alpha=%v must be in (0, 1]", ErrInvalidQuery, q.Alpha)
	}
	switch {
	case q.RRFK == 0:
		q.RRFK = DefaultRRFK
	case q.RRFK < 0:
		return q, fmt.Errorf("%w: rrf_k=%d must be positive", ErrInvalidQuery, q.RRFK)
	}
	if q.Mode != ModeDense && strings.TrimFunc(q.Text, unicode.IsSpace) == "" {
		return q, fmt.Errorf("%w: text is empty (required for mode %q)", ErrInvalidQuery, q.Mode)
	}
	if q.Mode != ModeBM25 {
		v, err := c.unitQuery(q.Vec)
		switch {
		case errors.Is(err, errZeroNorm):
			v = nil // no direction to rank by: no dense candidates
		case err != nil:
			return q, fmt.Errorf("%w: %w (required for mode %q)", ErrInvalidQuery, err, q.Mode)
		}
		q.Vec = v
	}
	return q, nil
}

var errZeroNorm = errors.New("vector has zero norm")

// unitQuery checks a query vector and returns a normalised copy.
func (c *Collection) unitQuery(v []float32) ([]float32, error) {
	if len(v) != c.dim {
		return nil, fmt.Errorf("vector has dim %d, collection has %d", len(v), c.dim)
	}
	var ss float64
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return nil, fmt.Errorf("vector has non-finite value at %d", i)
		}
		ss += float64(x) * float64(x)
	}
	if ss == 0 {
		return nil, errZeroNorm
	}
	inv := 1 / math.Sqrt(ss)
	u := make([]float32, len(v))
	for i, x := range v {
		u[i] = float32(float64(x) * inv)
	}
	return u, nil
}

// scoredDocs turns eval's dense results into positions, best first (eval's
// order: score descending, id ascending).
func (c *Collection) scoredDocs(res []eval.Scored) []scoredDoc {
	out := make([]scoredDoc, len(res))
	for i, r := range res {
		out[i] = scoredDoc{Score: r.Score, Doc: c.pos[r.ID]}
	}
	return out
}

func (c *Collection) hitsDense(list []scoredDoc) []Hit {
	hits := make([]Hit, len(list))
	for i, h := range list {
		hits[i] = Hit{ID: c.ids[h.Doc], Score: h.Score, Text: c.texts[h.Doc], DenseScore: ptr(h.Score), DenseRank: i + 1}
	}
	return hits
}

func (c *Collection) hitsBM25(list []scoredDoc) []Hit {
	hits := make([]Hit, len(list))
	for i, h := range list {
		hits[i] = Hit{ID: c.ids[h.Doc], Score: h.Score, Text: c.texts[h.Doc], BM25Score: ptr(h.Score), BM25Rank: i + 1}
	}
	return hits
}

func ptr(x float64) *float64 { return &x }
