package negatives

import (
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strings"
)

// OfflineGenerator writes CausalNeg counterfactuals without an LLM, the
// default when none is configured. It decomposes why the positive answers
// the query from surface evidence (shared terms, quantities, direction
// words, the sentence carrying the query's terms; see cfAnalyze) and writes
// each negative by violating exactly one requirement with one of the six
// violation types, editing only the words that requirement rests on.
//
// Output depends only on the pair, the candidates, n and the seed: every
// Generate call draws from its own generator seeded by the seed and a hash
// of the pair, so results do not depend on concurrency or call order.
// Types are taken round-robin from a seeded starting point, so a query's
// negatives spread over the types; a type that does not apply (no number,
// no neighbour, one sentence) is skipped.
//
// Without a neighbour source the entity, attribute and upstream/downstream
// breaks have nothing to swap in and are skipped; give one with
// OfflineCorpus (corpus statistics) or OfflineNeighbours (e.g. nearest
// neighbours in the encoder's vocabulary embeddings).
//
// Negatives derive from the positive (origin from_scratch). With
// OfflineRewriteCandidates, each break is first tried on a mined candidate
// (origin rewritten_candidate), which keeps the corpus's style and topic
// drift; intent drift also falls back to a candidate when the positive is a
// single sentence. Intent drift rewrites the positive by default because
// the positive without its answer sentence is the harder negative: a mined
// candidate without its most query-like sentence only moves further from
// the query than it already was.
type OfflineGenerator struct {
	seed       uint64
	neighbours func(word string, k int) []string
	associates func(word string, k int) []string
	weight     func(word string) float64
	rewrite    bool
	types      []ViolationType
}

// OfflineOption configures NewOfflineGenerator.
type OfflineOption func(*OfflineGenerator)

// OfflineSeed sets the seed (default 0).
func OfflineSeed(seed uint64) OfflineOption { return func(g *OfflineGenerator) { g.seed = seed } }

// OfflineNeighbours sets the source of substitute words (nearest neighbours
// of a lowercased word, best first) for entity and attribute swaps.
func OfflineNeighbours(fn func(word string, k int) []string) OfflineOption {
	return func(g *OfflineGenerator) { g.neighbours = fn }
}

// OfflineAssociates sets the source of related (co-occurring) words for the
// upstream/downstream break; without it the neighbour source is used.
func OfflineAssociates(fn func(word string, k int) []string) OfflineOption {
	return func(g *OfflineGenerator) { g.associates = fn }
}

// OfflineCorpus uses corpus statistics for neighbours, associates and term
// weights.
func OfflineCorpus(c *CorpusNeighbours) OfflineOption {
	return func(g *OfflineGenerator) {
		g.neighbours, g.associates, g.weight = c.Neighbours, c.Associates, c.IDF
	}
}

// OfflineRewriteCandidates makes every break try a mined candidate first.
func OfflineRewriteCandidates(on bool) OfflineOption {
	return func(g *OfflineGenerator) { g.rewrite = on }
}

// OfflineTypes restricts the violation types used, in the given order
// (default: all six, ViolationTypes). Unknown types are ignored.
func OfflineTypes(types ...ViolationType) OfflineOption {
	return func(g *OfflineGenerator) {
		g.types = nil
		for _, t := range types {
			if slices.Contains(ViolationTypes, t) && !slices.Contains(g.types, t) {
				g.types = append(g.types, t)
			}
		}
	}
}

// NewOfflineGenerator returns a generator configured by opts.
func NewOfflineGenerator(opts ...OfflineOption) *OfflineGenerator {
	g := &OfflineGenerator{weight: func(w string) float64 { return float64(len(w)) }, types: ViolationTypes}
	for _, o := range opts {
		o(g)
	}
	return g
}

// Name is "offline".
func (g *OfflineGenerator) Name() string { return "offline" }

// Analyze returns the requirement decomposition Generate works from.
func (g *OfflineGenerator) Analyze(p Pair) Analysis {
	return cfAnalyze(p.Query, p.Positive, g.weight).export()
}

// cfMaxRounds bounds how many times the type cycle is repeated to reach n.
const cfMaxRounds = 4

// Generate writes up to n counterfactuals of p.Positive (or of candidates,
// see OfflineRewriteCandidates), each violating one requirement.
func (g *OfflineGenerator) Generate(ctx context.Context, p Pair, candidates []string, n int) ([]Negative, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("offline: %w", err)
	}
	if strings.TrimSpace(p.Positive) == "" {
		return nil, fmt.Errorf("offline: pair %s/%s: empty positive", p.QueryID, p.PosID)
	}
	if n <= 0 || len(g.types) == 0 {
		return nil, nil
	}
	rng := rand.New(rand.NewPCG(g.seed, cfPairHash(p)))
	pos := cfAnalyze(p.Query, p.Positive, g.weight)
	var cands []*cfAnalysis // analysed lazily: most pairs never need them
	candidate := func(i int) *cfAnalysis {
		if cands == nil {
			cands = make([]*cfAnalysis, len(candidates))
		}
		if cands[i] == nil {
			cands[i] = cfAnalyze(p.Query, candidates[i], g.weight)
		}
		return cands[i]
	}
	seen := map[string]bool{cfNorm(p.Positive): true}
	var out []Negative
	start := rng.IntN(len(g.types))
	used := 0 // candidate rewrites so far, to rotate through candidates
	for round := 0; round < cfMaxRounds && len(out) < n; round++ {
		progressed := false
		for i := range g.types {
			if len(out) == n {
				break
			}
			typ := g.types[(start+i)%len(g.types)]
			var b cfBreak
			ok := false
			origin := OriginFromScratch
			useCand := len(candidates) > 0 && (g.rewrite || typ == IntentDrift && len(pos.text.sents) < 2)
			if useCand {
				b, ok = g.violate(candidate(used%len(candidates)), typ, round, rng)
				if ok {
					origin = OriginRewritten
					used++
				}
			}
			if !ok {
				b, ok = g.violate(pos, typ, round, rng)
			}
			if !ok {
				continue
			}
			norm := cfNorm(b.text)
			if norm == "" || seen[norm] {
				continue
			}
			seen[norm] = true
			progressed = true
			out = append(out, Negative{QueryID: p.QueryID, PosID: p.PosID, Text: b.text, Node: b.node,
				Strategy: b.strategy, Type: typ, Origin: origin, Explanation: b.explanation, Generator: g.Name()})
		}
		if !progressed {
			break
		}
	}
	return out, nil
}

// cfPairHash mixes the pair into the seed, so a pair's negatives do not
// depend on which other pairs were generated before it.
func cfPairHash(p Pair) uint64 {
	h := fnv.New64a()
	for _, s := range []string{p.QueryID, p.PosID, p.Query, p.Positive} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return h.Sum64()
}

// cfNorm is the comparison form of a text: lowercased, whitespace collapsed.
func cfNorm(s string) string { return strings.Join(strings.Fields(strings.ToLower(s)), " ") }
