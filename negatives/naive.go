package negatives

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// NaiveGenerator asks for hard negatives in a single prompt, with no
// analysis and no requirement to break: the ablation baseline for
// CausalGenerator. Its negatives carry no node, strategy or type.
type NaiveGenerator struct {
	llm   *LLM
	stats genCounters
}

var _ Generator = (*NaiveGenerator)(nil)

// NewNaiveGenerator returns a generator that asks llm.
func NewNaiveGenerator(llm *LLM) *NaiveGenerator { return &NaiveGenerator{llm: llm} }

// Name is the generator's label in Negative.Generator and reports.
func (g *NaiveGenerator) Name() string { return "naive" }

// UsageReport implements UsageReporter.
func (g *NaiveGenerator) UsageReport() any {
	return LLMGeneratorUsage{LLM: g.llm.Usage(), Items: g.Stats()}
}

// Stats returns what the generator has produced and dropped so far.
func (g *NaiveGenerator) Stats() GenStats { return g.stats.snapshot() }

// naivePromptData feeds naive.*.tmpl.
type naivePromptData struct {
	Query, Positive string
	N               int
}

// Generate writes at most n negatives for p. The candidates are ignored:
// the baseline writes from scratch.
func (g *NaiveGenerator) Generate(ctx context.Context, p Pair, cands []string, n int) ([]Negative, error) {
	negs, _, err := g.generateReporting(ctx, p, cands, n)
	return negs, err
}

// generateReporting is Generate that also returns the reply items it
// refused, with their reasons (Run records them).
func (g *NaiveGenerator) generateReporting(ctx context.Context, p Pair, _ []string, n int) ([]Negative, []Rejection, error) {
	g.stats.pairs.Add(1)
	negs, drops, err := g.generate(ctx, p, n)
	if err != nil {
		if ctx.Err() == nil { // cut short by a stop or cancel: not a failure
			g.stats.failed.Add(1)
		}
		return nil, nil, err
	}
	g.stats.negatives.Add(int64(len(negs)))
	return negs, rejections(drops), nil
}

func (g *NaiveGenerator) generate(ctx context.Context, p Pair, n int) ([]Negative, []itemDrop, error) {
	if n <= 0 {
		return nil, nil, nil
	}
	if err := checkPairText(p); err != nil {
		return nil, nil, err
	}
	sys, usr, err := naivePrompt.render(naivePromptData{Query: p.Query, Positive: p.Positive, N: n})
	if err != nil {
		return nil, nil, err
	}
	schema := Schema{
		Name:     naivePrompt.name,
		Required: []string{"negatives"},
		Check: func(out any) error {
			if negs, dropped := naiveNegatives(out.(*negativesReply), p); len(negs) == 0 {
				return errNoUsable(dropped)
			}
			return nil
		},
	}
	var reply negativesReply
	if err := g.llm.JSON(ctx, sys, usr, schema, &reply); err != nil {
		return nil, nil, fmt.Errorf("naive generation for %s/%s: %w", p.QueryID, p.PosID, err)
	}
	negs, dropped := naiveNegatives(&reply, p)
	g.stats.dropped.Add(int64(len(dropped)))
	return g.stats.truncate(negs, maxPerPairFactor*n), dropped, nil
}

func naiveNegatives(reply *negativesReply, p Pair) ([]Negative, []itemDrop) {
	filter := newTextFilter(p.Positive)
	var out []Negative
	var dropped []itemDrop
	for i, raw := range reply.Negatives {
		base := Negative{QueryID: p.QueryID, PosID: p.PosID, Origin: OriginFromScratch, Generator: "naive"}
		var it replyItem
		if err := json.Unmarshal(raw, &it); err != nil {
			base.Text = malformedText(raw)
			dropped = append(dropped, itemDrop{neg: base, reason: RejectMalformed, err: fmt.Errorf("negatives[%d]: %v", i, describeDecodeError(err))})
			continue
		}
		base.Text = strings.TrimSpace(it.Text)
		if reason, err := filter.check(it.Text); err != nil {
			dropped = append(dropped, itemDrop{neg: base, reason: reason, err: fmt.Errorf("negatives[%d]: %v", i, err)})
			continue
		}
		out = append(out, base)
	}
	return out, dropped
}
