package negatives

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
)

// maxPromptCandidates is how many mined documents a generation prompt shows.
const maxPromptCandidates = 5

// CausalGenerator writes counterfactual negatives (CausalNeg) in two LLM
// calls per pair: an analysis of why the positive answers the query, split
// into falsifiable requirements, then one negative per selected break of a
// critical requirement.
type CausalGenerator struct{ llmGenerator }

var _ Generator = (*CausalGenerator)(nil)

// NewCausalGenerator returns a generator that asks llm.
func NewCausalGenerator(llm *LLM) *CausalGenerator {
	g := &CausalGenerator{llmGenerator{llm: llm}}
	g.gen = g.generate
	return g
}

// Name is the generator's label in Negative.Generator and reports.
func (g *CausalGenerator) Name() string { return "causal" }

// Analyze runs the first step alone: why p.Positive answers p.Query.
func (g *CausalGenerator) Analyze(ctx context.Context, p Pair) (Analysis, error) {
	if err := checkPairText(p); err != nil {
		return Analysis{}, err
	}
	sys, usr, err := causalAnalysisPrompt.render(analysisPromptData{
		Query: p.Query, Positive: p.Positive, Facets: Facets, Types: ViolationTypes,
	})
	if err != nil {
		return Analysis{}, err
	}
	var a Analysis
	if err := g.llm.JSON(ctx, sys, usr, analysisSchema, &a); err != nil {
		return Analysis{}, fmt.Errorf("causal analysis of %s/%s: %w", p.QueryID, p.PosID, err)
	}
	return a, nil
}

// generate writes at most n negatives for p (Generate), each breaking one
// critical requirement, preferably by rewriting one of the (first five)
// candidates.
func (g *CausalGenerator) generate(ctx context.Context, p Pair, candidates []string, n int) ([]Negative, []itemDrop, error) {
	if n <= 0 {
		return nil, nil, nil
	}
	a, err := g.Analyze(ctx, p)
	if err != nil {
		return nil, nil, err
	}
	slots := planBreaks(a, n)
	data := generatePromptData{Query: p.Query, Positive: p.Positive, Analysis: a, Slots: slots, Candidates: numberCandidates(candidates)}
	sys, usr, err := causalGeneratePrompt.render(data)
	if err != nil {
		return nil, nil, err
	}
	haveCandidates := len(data.Candidates) > 0
	negs, drops, err := g.askNegatives(ctx, causalGeneratePrompt.name, sys, usr, n, func(reply *negativesReply) ([]Negative, []itemDrop) {
		return causalNegatives(reply, a, p, haveCandidates)
	})
	if err != nil {
		return nil, drops, fmt.Errorf("causal generation for %s/%s: %w", p.QueryID, p.PosID, err)
	}
	return negs, drops, nil
}

// generatePromptData feeds causal_generate.*.tmpl.
type generatePromptData struct {
	Query, Positive string
	Analysis        Analysis
	Slots           []planSlot
	Candidates      []numberedText
}

type numberedText struct {
	Index int
	Text  string
}

func numberCandidates(cands []string) []numberedText {
	var out []numberedText
	for _, c := range cands {
		if c = strings.TrimSpace(c); c != "" && len(out) < maxPromptCandidates {
			out = append(out, numberedText{Index: len(out) + 1, Text: c})
		}
	}
	return out
}

func checkPairText(p Pair) error {
	if strings.TrimSpace(p.Query) == "" || strings.TrimSpace(p.Positive) == "" {
		return fmt.Errorf("pair %s/%s: query or positive text is empty", p.QueryID, p.PosID)
	}
	return nil
}

func errNoUsable(dropped []itemDrop) error {
	if len(dropped) == 0 {
		return errors.New(`"negatives" is empty: write the negatives asked for`)
	}
	msgs := make([]string, len(dropped))
	for i, d := range dropped {
		msgs[i] = d.err.Error()
	}
	return fmt.Errorf("no usable negatives: %s", strings.Join(msgs, "; "))
}

// LLMGeneratorUsage is what an LLM generator reports in Report.Usage: what
// its client spent (requests, retries, repairs, cache hits, tokens) and how
// the reply items fared before the run's filters saw them.
type LLMGeneratorUsage struct {
	LLM   LLMUsage `json:"llm"`
	Items GenStats `json:"items"`
}

// GenStats counts a generator's output; Dropped items never reach callers.
type GenStats struct {
	Pairs     int64 `json:"pairs"`     // Generate calls
	Failed    int64 `json:"failed"`    // calls that returned an error
	Negatives int64 `json:"negatives"` // negatives returned
	Dropped   int64 `json:"dropped"`   // reply items rejected (those of replies sent back for repair too): bad node or type, empty, copy of the positive, repeat
	Truncated int64 `json:"truncated"` // good items beyond twice the n asked for (the run keeps spares up to that)
}

type genCounters struct {
	pairs, failed, negatives, dropped, truncated atomic.Int64
}

func (c *genCounters) snapshot() GenStats {
	return GenStats{
		Pairs: c.pairs.Load(), Failed: c.failed.Load(), Negatives: c.negatives.Load(),
		Dropped: c.dropped.Load(), Truncated: c.truncated.Load(),
	}
}

// drop counts the reply items refused and returns them.
func (c *genCounters) drop(drops []itemDrop) []itemDrop {
	c.dropped.Add(int64(len(drops)))
	return drops
}

func (c *genCounters) truncate(negs []Negative, n int) []Negative {
	if len(negs) > n {
		c.truncated.Add(int64(len(negs) - n))
		negs = negs[:n]
	}
	return negs
}
