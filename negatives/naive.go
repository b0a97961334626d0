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
type NaiveGenerator struct{ llmGenerator }

var _ Generator = (*NaiveGenerator)(nil)

// NewNaiveGenerator returns a generator that asks llm.
func NewNaiveGenerator(llm *LLM) *NaiveGenerator {
	g := &NaiveGenerator{llmGenerator{llm: llm}}
	g.gen = func(ctx context.Context, p Pair, _ []string, n int) ([]Negative, []itemDrop, error) {
		return g.generate(ctx, p, n) // the baseline writes from scratch: no candidates
	}
	return g
}

// Name is the generator's label in Negative.Generator and reports.
func (g *NaiveGenerator) Name() string { return "naive" }

// naivePromptData feeds naive.*.tmpl.
type naivePromptData struct {
	Query, Positive string
	N               int
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
	negs, drops, err := g.askNegatives(ctx, naivePrompt.name, sys, usr, n, func(reply *negativesReply) ([]Negative, []itemDrop) {
		return naiveNegatives(reply, p)
	})
	if err != nil {
		return nil, drops, fmt.Errorf("naive generation for %s/%s: %w", p.QueryID, p.PosID, err)
	}
	return negs, drops, nil
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
