package api

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"retune/index"
	"retune/store"
)

// Limits and defaults of POST /v1/collections/{id}/search.
const (
	maxSearchQueries = 64
	defaultSearchK   = 10
	// maxRRFK bounds rrf_k: past it every 1/(rrf_k + rank) is the same to
	// float64 precision for any ranks a search returns, and near MaxInt the
	// sum overflows.
	maxRRFK = 1_000_000
)

type searchRequest struct {
	Query   *string  `json:"query"`
	Queries []string `json:"queries"`
	K       *int     `json:"k"`
	Mode    *string  `json:"mode"` // pointers: "" is an error, not the default
	Fusion  *string  `json:"fusion"`
	Alpha   *float64 `json:"alpha"`
	RRFK    *int     `json:"rrf_k"`
	Head    *string  `json:"head"`
	// IncludeText false leaves the documents' text out of the hits: a
	// client that holds the corpus needs only ids and scores, and 64
	// queries x 1,000 hits of abstracts would be about 100 MB.
	IncludeText *bool `json:"include_text"`
}

// searchParams is a validated search request with defaults filled in.
type searchParams struct {
	queries []string
	k       int
	mode    index.Mode
	fusion  index.Fusion
	alpha   float64 // 0: index.DefaultAlpha
	rrfK    int     // 0: index.DefaultRRFK
	head    string  // query-side head override; "" = the collection's
	noText  bool    // leave the hits' text out
	batch   bool    // the queries came as "queries", not "query"
}

type searchResponse struct {
	Object string         `json:"object"`
	Model  string         `json:"model"`
	Mode   string         `json:"mode"`
	Data   []searchResult `json:"data"`
}

type searchResult struct {
	Query string      `json:"query"`
	Hits  []searchHit `json:"hits"`
	// Unembeddable marks a query the encoder knows no token of: it has no
	// hits in dense mode and BM25's alone in hybrid mode.
	Unembeddable bool `json:"unembeddable,omitempty"`
}

type searchHit struct {
	ID         string   `json:"id"`
	Score      float64  `json:"score"`
	Text       string   `json:"text,omitempty"` // absent with include_text false (a document is never blank)
	DenseScore *float64 `json:"dense_score,omitempty"`
	BM25Score  *float64 `json:"bm25_score,omitempty"`
	DenseRank  int      `json:"dense_rank,omitempty"`
	BM25Rank   int      `json:"bm25_rank,omitempty"`
}

func (s *Server) searchCollection(c *gin.Context) {
	id, ok := pathID(c, "id", store.PrefixCollection, "collection")
	if !ok {
		return
	}
	var req searchRequest
	if !decodeJSON(c, &req) {
		return
	}
	p, err := req.params()
	if err != nil {
		s.writeCollectionError(c, err)
		return
	}
	res, err := s.search(c.Request.Context(), id, p)
	if err != nil {
		s.writeCollectionError(c, err)
		return
	}
	c.JSON(http.StatusOK, res)
}

// params validates the request. Values the index also checks (k, alpha,
// rrf_k) are checked here too, so that every query of a batch is known to
// be valid before the first one is embedded.
func (r searchRequest) params() (searchParams, error) {
	p := searchParams{k: defaultSearchK, mode: index.ModeDense, fusion: index.FusionRRF}
	p.noText = r.IncludeText != nil && !*r.IncludeText
	switch {
	case r.Query != nil && r.Queries != nil:
		return p, colBadParam("query", "give either \"query\" or \"queries\", not both")
	case r.Query != nil:
		p.queries = []string{*r.Query}
	case r.Queries == nil:
		return p, colBadParam("query", "field \"query\" (a string) or \"queries\" (an array of strings) is required")
	case len(r.Queries) == 0:
		return p, colBadParam("queries", "queries is empty")
	case len(r.Queries) > maxSearchQueries:
		return p, colErrorf(http.StatusRequestEntityTooLarge, codeTooLarge,
			"%d queries in one request; the limit is %d", len(r.Queries), maxSearchQueries)
	default:
		p.queries, p.batch = r.Queries, true
	}
	for i, q := range p.queries {
		if strings.TrimSpace(q) == "" {
			name := queryName(p, i)
			return p, colBadParam(name, "%s is empty", name)
		}
	}
	if r.K != nil {
		if *r.K < 1 || *r.K > index.MaxK {
			return p, colBadParam("k", "k=%d must be in [1, %d]", *r.K, index.MaxK)
		}
		p.k = *r.K
	}
	if r.Mode != nil {
		switch m := index.Mode(*r.Mode); m {
		case index.ModeDense, index.ModeBM25, index.ModeHybrid:
			p.mode = m
		default:
			return p, colBadParam("mode", "mode %q must be \"dense\", \"bm25\" or \"hybrid\" (or left out: dense)", *r.Mode)
		}
	}
	if r.Fusion != nil {
		switch f := index.Fusion(*r.Fusion); f {
		case index.FusionRRF, index.FusionScore:
			p.fusion = f
		default:
			return p, colBadParam("fusion", "fusion %q must be \"rrf\" or \"score\" (or left out: rrf)", *r.Fusion)
		}
	}
	// A fusion setting outside hybrid mode, or a parameter of the other
	// fusion, would be silently ignored, which hides a mistaken request;
	// say so instead.
	if p.mode != index.ModeHybrid && (r.Fusion != nil || r.Alpha != nil || r.RRFK != nil) {
		return p, colBadParam("mode", "fusion, alpha and rrf_k apply to \"mode\": \"hybrid\" only (mode is %q)", p.mode)
	}
	if r.Alpha != nil {
		if p.fusion != index.FusionScore {
			return p, colBadParam("alpha", "alpha applies to \"fusion\": \"score\" only")
		}
		if !(*r.Alpha > 0 && *r.Alpha <= 1) {
			return p, colBadParam("alpha", "alpha=%v must be in (0, 1]; for a purely lexical ranking use \"mode\": \"bm25\"", *r.Alpha)
		}
		p.alpha = *r.Alpha
	}
	if r.RRFK != nil {
		if p.fusion != index.FusionRRF {
			return p, colBadParam("rrf_k", "rrf_k applies to \"fusion\": \"rrf\" only")
		}
		if *r.RRFK < 1 || *r.RRFK > maxRRFK {
			return p, colBadParam("rrf_k", "rrf_k=%d must be an integer in [1, %d]", *r.RRFK, maxRRFK)
		}
		p.rrfK = *r.RRFK
	}
	if r.Head != nil {
		switch {
		case p.mode == index.ModeBM25:
			return p, colBadParam("head", "head applies to dense and hybrid search only (mode is \"bm25\")")
		case !store.ValidID(store.PrefixHead, *r.Head):
			return p, colBadParam("head", "head %q is not a head id (head-...; leave it out for the collection's own)", *r.Head)
		}
		p.head = *r.Head
	}
	return p, nil
}
