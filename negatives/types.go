// Package negatives finds and writes hard negatives: mined from the
// encoder's own ranking, and counterfactuals of the positive (CausalNeg):
// decompose why the positive answers the query into requirements, then
// violate exactly one requirement per negative.
package negatives

import "context"

// ViolationType names how a counterfactual breaks one requirement.
type ViolationType string

// The six violation types of the CausalNeg method.
const (
	EntityShift         ViolationType = "entity_shift"
	IntentDrift         ViolationType = "intent_drift"
	ConstraintViolation ViolationType = "constraint_violation"
	AttributeShift      ViolationType = "attribute_shift"
	RelationBreak       ViolationType = "relation_break"
	UpstreamDownstream  ViolationType = "upstream_downstream"
)

// ViolationTypes lists every type, in a fixed order.
var ViolationTypes = []ViolationType{EntityShift, IntentDrift, ConstraintViolation, AttributeShift, RelationBreak, UpstreamDownstream}

// Facets of a requirement node.
var Facets = []string{"information_need", "entity", "attribute", "constraint", "relation", "reasoning", "style", "other"}

// Pair is one (query, positive) pair to write negatives for.
type Pair struct {
	QueryID  string `json:"query_id"`
	Query    string `json:"query"`
	PosID    string `json:"pos_id"`
	Positive string `json:"positive"`
}

// BreakStrategy is one way to violate a requirement.
type BreakStrategy struct {
	Strategy string        `json:"strategy"`
	Type     ViolationType `json:"type"`
}

// Requirement is one falsifiable condition the positive satisfies.
type Requirement struct {
	ID       string          `json:"id"`
	Facet    string          `json:"facet"`
	Text     string          `json:"text"`
	Critical bool            `json:"critical"`
	Breaks   []BreakStrategy `json:"breaks,omitempty"`
}

// Analysis is the first CausalNeg step: why the positive answers the query.
type Analysis struct {
	InformationNeed string        `json:"information_need"`
	HowAnswered     string        `json:"how_answered"`
	AnswerBoundary  string        `json:"answer_boundary"`
	Requirements    []Requirement `json:"requirements"`
}

// Origin says whether a negative rewrites a mined candidate or is new text.
const (
	OriginRewritten   = "rewritten_candidate"
	OriginFromScratch = "from_scratch"
)

// Negative is one generated counterfactual with its provenance.
type Negative struct {
	QueryID     string        `json:"query_id"`
	PosID       string        `json:"pos_id"`
	Text        string        `json:"text"`
	Node        string        `json:"node"`     // requirement id violated
	Strategy    string        `json:"strategy"` // how it was violated
	Type        ViolationType `json:"type"`
	Origin      string        `json:"source"` // rewritten_candidate | from_scratch
	Explanation string        `json:"break_explanation"`
	Generator   string        `json:"generator"` // causal | naive | offline
}

// Generator writes negatives for one pair, n asked for: it may return more
// (an LLM reply often does; Run takes up to 2n, filters them, then keeps the
// first n that pass). candidates are mined documents (at most 5) it may
// rewrite to keep the corpus's style.
type Generator interface {
	Name() string
	Generate(ctx context.Context, p Pair, candidates []string, n int) ([]Negative, error)
}

// EmbedFunc embeds texts with the base encoder (through the cache).
type EmbedFunc func(ctx context.Context, texts []string) ([][]float32, error)
