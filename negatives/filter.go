package negatives

import (
	"context"
	"fmt"
	"strings"
	"unicode"

	"retune/internal/vecmath"
)

// FilterConfig sets which generated negatives are kept. A generated
// negative is only useful if it is a plausible document that does not
// answer the query; these checks remove the ways generation visibly fails.
type FilterConfig struct {
	// MinWords rejects texts shorter than this many words (default 8): a
	// fragment is not a document and is trivially easy to tell apart.
	MinWords int `json:"min_words"`
	// MaxCosToPositive rejects texts whose base-encoder cosine with the
	// positive is at least this (default 0.98): such a text is, to the
	// encoder, the positive itself, and training it down would push the
	// positive down too.
	MaxCosToPositive float64 `json:"max_cos_to_positive"`
	// RejectQueryCopy rejects texts containing the whole query (default
	// true): pasting the query in is a shortcut that makes the negative look
	// relevant for the wrong reason.
	RejectQueryCopy bool `json:"reject_query_copy"`
}

// DefaultFilterConfig is the documented defaults.
func DefaultFilterConfig() FilterConfig {
	return FilterConfig{MinWords: 8, MaxCosToPositive: 0.98, RejectQueryCopy: true}
}

// withDefaults fills fields left at zero; RejectQueryCopy is taken as given
// (false cannot be told from unset), which is why configs start from
// DefaultFilterConfig.
func (c FilterConfig) withDefaults() FilterConfig {
	d := DefaultFilterConfig()
	if c.MinWords <= 0 {
		c.MinWords = d.MinWords
	}
	if c.MaxCosToPositive <= 0 {
		c.MaxCosToPositive = d.MaxCosToPositive
	}
	return c
}

// Rejection reasons.
const (
	RejectEmpty         = "empty"
	RejectTooShort      = "too_short"
	RejectDuplicate     = "duplicate"
	RejectIdentical     = "identical"
	RejectNearIdentical = "near_identical"
	RejectContainsQuery = "contains_query"
	// Reasons a generator gives for reply items it refuses (LLM
	// generators: an item the reply schema or the analysis rules out).
	RejectMalformed   = "malformed_item"    // not an object of the reply schema
	RejectUnknownNode = "unknown_node"      // names no requirement of the analysis
	RejectNonCritical = "non_critical_node" // breaks a requirement not marked critical
	RejectUnknownType = "unknown_type"      // not one of the six violation types
)

// GeneratorRejectReasons are the reasons an LLM generator gives for the
// reply items it refuses; the report lists them, with 0, for LLM runs.
var GeneratorRejectReasons = []string{RejectMalformed, RejectUnknownNode, RejectNonCritical, RejectUnknownType}

// RejectReasons lists every reason, in the order the checks run.
var RejectReasons = []string{RejectEmpty, RejectTooShort, RejectIdentical, RejectContainsQuery, RejectNearIdentical, RejectDuplicate}

// Rejection is a generated negative the filters dropped, and why.
type Rejection struct {
	Negative Negative `json:"negative"`
	Reason   string   `json:"reason"`
}

// filterKey finds a negative's pair.
type filterKey struct{ query, pos string }

// Filter drops unusable negatives of pairs, embedding the survivors of the
// text checks and the positives in one call to embed. Checks run in
// RejectReasons order and the first failing one is recorded; duplicates are
// per query, so the first copy (in negs order) is kept. With a nil embed the
// near-identical check is skipped.
func Filter(ctx context.Context, negs []Negative, pairs []Pair, cfg FilterConfig, embed EmbedFunc) (kept []Negative, rejected []Rejection, err error) {
	cfg = cfg.withDefaults()
	byKey := filterPairs(pairs)
	pass, rejected := filterText(negs, byKey, cfg)
	var vec func(string) []float32
	if embed != nil && len(pass) > 0 {
		texts := filterEmbedTexts(pass, byKey)
		vecs, err := filterEmbed(ctx, embed, texts)
		if err != nil {
			return pass, rejected, err
		}
		vec = func(s string) []float32 { return vecs[s] }
	}
	kept, more := filterVectors(pass, byKey, cfg, vec)
	return kept, append(rejected, more...), nil
}

func filterPairs(pairs []Pair) map[filterKey]Pair {
	m := make(map[filterKey]Pair, len(pairs))
	for _, p := range pairs {
		m[filterKey{p.QueryID, p.PosID}] = p
	}
	return m
}

// filterText runs the checks that need no embedding: empty, too_short,
// identical and contains_query.
func filterText(negs []Negative, pairs map[filterKey]Pair, cfg FilterConfig) (pass []Negative, rejected []Rejection) {
	type normPair struct{ query, positive string }
	normed := map[filterKey]normPair{} // each pair's texts normalised once, not per negative
	for _, n := range negs {
		key := filterKey{n.QueryID, n.PosID}
		np, ok := normed[key]
		if !ok {
			p := pairs[key]
			np = normPair{wordSeq(p.Query), cfNorm(p.Positive)}
			normed[key] = np
		}
		norm := cfNorm(n.Text)
		reason := ""
		switch {
		case norm == "":
			reason = RejectEmpty
		case len(strings.Fields(norm)) < cfg.MinWords:
			reason = RejectTooShort
		case np.positive != "" && norm == np.positive:
			reason = RejectIdentical
		case cfg.RejectQueryCopy && np.query != "" && strings.Contains(wordSeq(n.Text), np.query):
			reason = RejectContainsQuery
		}
		if reason != "" {
			rejected = append(rejected, Rejection{n, reason})
			continue
		}
		pass = append(pass, n)
	}
	return pass, rejected
}

// wordSeq is the form in which a query copied into a text is found: its
// words (runs of letters and digits) lowercased, one space between and
// around them. Punctuation does not count, so a claim pasted in without
// its full stop, or with its comma moved, is still the query; the spaces
// around keep "cat" from being found in "concatenate". A text without
// words is "".
func wordSeq(s string) string {
	words := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	if len(words) == 0 {
		return ""
	}
	return " " + strings.Join(words, " ") + " "
}

// filterVectors runs near_identical (when vec is set) and duplicate.
func filterVectors(negs []Negative, pairs map[filterKey]Pair, cfg FilterConfig, vec func(string) []float32) (kept []Negative, rejected []Rejection) {
	seen := map[string]map[string]bool{} // query id -> kept normalised texts
	for _, n := range negs {
		if vec != nil {
			p := pairs[filterKey{n.QueryID, n.PosID}]
			if pv, nv := vec(p.Positive), vec(n.Text); pv != nil && nv != nil && vecmath.Cosine(pv, nv) >= cfg.MaxCosToPositive {
				rejected = append(rejected, Rejection{n, RejectNearIdentical})
				continue
			}
		}
		norm := cfNorm(n.Text)
		if seen[n.QueryID][norm] {
			rejected = append(rejected, Rejection{n, RejectDuplicate})
			continue
		}
		if seen[n.QueryID] == nil {
			seen[n.QueryID] = map[string]bool{}
		}
		seen[n.QueryID][norm] = true
		kept = append(kept, n)
	}
	return kept, rejected
}

// filterEmbedTexts lists the distinct negatives and positives to embed.
func filterEmbedTexts(negs []Negative, pairs map[filterKey]Pair) []string {
	var texts []string
	seen := map[string]bool{}
	add := func(s string) {
		if s != "" && !seen[s] {
			seen[s] = true
			texts = append(texts, s)
		}
	}
	for _, n := range negs {
		add(pairs[filterKey{n.QueryID, n.PosID}].Positive)
		add(n.Text)
	}
	return texts
}

// filterEmbed embeds texts in one call and maps each text to its vector.
func filterEmbed(ctx context.Context, embed EmbedFunc, texts []string) (map[string][]float32, error) {
	if len(texts) == 0 {
		return map[string][]float32{}, nil
	}
	vecs, err := embed(ctx, texts)
	if err != nil {
		return nil, fmt.Errorf("negatives: embed %d texts: %w", len(texts), err)
	}
	if len(vecs) != len(texts) {
		return nil, fmt.Errorf("negatives: embed returned %d vectors for %d texts", len(vecs), len(texts))
	}
	m := make(map[string][]float32, len(texts))
	for i, t := range texts {
		m[t] = vecs[i]
	}
	return m, nil
}
