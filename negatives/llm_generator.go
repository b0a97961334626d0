package negatives

import "context"

// llmGenerator is what the causal and naive generators share: their LLM
// client, the counters of their reply items, and everything a run asks of
// an LLM generator. gen is the generator's own step for one pair.
type llmGenerator struct {
	llm   *LLM
	stats genCounters
	gen   func(ctx context.Context, p Pair, cands []string, n int) ([]Negative, []itemDrop, error)
}

// Generate writes at most n negatives for p (see the generator's gen).
func (g *llmGenerator) Generate(ctx context.Context, p Pair, cands []string, n int) ([]Negative, error) {
	negs, _, err := g.generateReporting(ctx, p, cands, n)
	return negs, err
}

// generateReporting is Generate that also returns the reply items it
// refused, with their reasons (Run records them), also with an error.
func (g *llmGenerator) generateReporting(ctx context.Context, p Pair, cands []string, n int) ([]Negative, []Rejection, error) {
	g.stats.pairs.Add(1)
	negs, drops, err := g.gen(ctx, p, cands, n)
	if err != nil {
		if ctx.Err() == nil { // cut short by a stop or cancel: not a failure
			g.stats.failed.Add(1)
		}
		// The items of replies sent back for repair are refused even
		// when the pair fails.
		return nil, rejections(drops), err
	}
	g.stats.negatives.Add(int64(len(negs)))
	return negs, rejections(drops), nil
}

// askNegatives sends one generation request and parses its reply with
// parse. A reply with no usable item is sent back for repair (single bad
// items are dropped, not worth a round); the items of such replies are
// recorded among the drops, also when the pair then fails. The accepted
// reply is parsed once, by the check that accepted it. At most
// maxPerPairFactor × n items are kept for the filters.
func (g *llmGenerator) askNegatives(ctx context.Context, name, sys, usr string, n int, parse func(*negativesReply) ([]Negative, []itemDrop)) ([]Negative, []itemDrop, error) {
	var refused, dropped []itemDrop
	var negs []Negative
	schema := Schema{
		Name:     name,
		Required: []string{"negatives"},
		Check: func(out any) error {
			negs, dropped = parse(out.(*negativesReply))
			if len(negs) == 0 {
				refused = append(refused, dropped...)
				return errNoUsable(dropped)
			}
			return nil
		},
	}
	var reply negativesReply
	if err := g.llm.JSON(ctx, sys, usr, schema, &reply); err != nil {
		return nil, g.stats.drop(refused), err
	}
	return g.stats.truncate(negs, maxPerPairFactor*n), g.stats.drop(append(refused, dropped...)), nil
}

// Stats returns what the generator has produced and dropped so far.
func (g *llmGenerator) Stats() GenStats { return g.stats.snapshot() }

// UsageReport implements UsageReporter.
func (g *llmGenerator) UsageReport() any {
	return LLMGeneratorUsage{LLM: g.llm.Usage(), Items: g.Stats()}
}

// LLMUsage implements LLMSpender.
func (g *llmGenerator) LLMUsage() LLMUsage { return g.llm.Usage() }

// pairConcurrency: each pair's calls run one after another, so as many
// pairs as the LLM may have requests in flight keep its limit in use.
func (g *llmGenerator) pairConcurrency() int { return g.llm.cfg.Concurrency }
