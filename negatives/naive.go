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
func (g *NaiveGenerator) Generate(ctx context.Context, p Pair, _ []string, n int) ([]Negative, error) {
	g.stats.pairs.Add(1)
	negs, err := g.generate(ctx, p, n)
	if err != nil {
		g.stats.failed.Add(1)
		return nil, err
	}
	g.stats.negatives.Add(int64(len(negs)))
	return negs, nil
}

func (g *NaiveGenerator) generate(ctx context.Context, p Pair, n int) ([]Negative, error) {
	if n <= 0 {
		return nil, nil
	}
	if err := checkPairText(p); err != nil {
		return nil, err
	}
	sys, usr, err := naivePrompt.render(naivePromptData{Query: p.Query, Positive: p.Positive, N: n})
	if err != nil {
		return nil, err
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
		return nil, fmt.Errorf("naive generation for %s/%s: %w", p.QueryID, p.PosID, err)
	}
	negs, dropped := naiveNegatives(&reply, p)
	g.stats.dropped.Add(int64(len(dropped)))
	return g.stats.truncate(negs, maxPerPairFactor*n), nil
}

func naiveNegatives(reply *negativesReply, p Pair) ([]Negative, []string) {
	filter := newTextFilter(p.Positive)
	var out []Negative
	var dropped []string
	for i, raw := range reply.Negatives {
		var it replyItem
		err := json.Unmarshal(raw, &it)
		if err != nil {
			err = describeDecodeError(err)
		} else {
			err = filter.check(it.Text)
		}
		if err != nil {
			dropped = append(dropped, fmt.Sprintf("negatives[%d]: %v", i, err))
			continue
		}
		out = append(out, Negative{
			QueryID:   p.QueryID,
			PosID:     p.PosID,
			Text:      strings.TrimSpace(it.Text),
			Origin:    OriginFromScratch,
			Generator: "naive",
		})
	}
	return out, dropped
}
