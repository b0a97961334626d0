package negatives

import (
	"errors"
	"fmt"
)

// Generator kinds.
const (
	KindOffline = "offline"
	KindCausal  = "causal"
	KindNaive   = "naive"
)

// NewGenerator builds the generator kind names: "offline" (deterministic,
// needs only the corpus, for its related-term statistics) or "causal" /
// "naive" (need an OpenAI-compatible LLM). An empty kind means causal when an
// LLM model is configured and offline otherwise.
func NewGenerator(kind string, corpus []string, seed uint64, llm LLMConfig) (Generator, error) {
	if kind == "" {
		kind = KindOffline
		if llm.Model != "" {
			kind = KindCausal
		}
	}
	switch kind {
	case KindOffline:
		return NewOfflineGenerator(OfflineSeed(seed), OfflineCorpus(NewCorpusNeighbours(corpus))), nil
	case KindCausal, KindNaive:
		if llm.Model == "" {
			return nil, errors.New("the " + kind + " generator needs an LLM: set its model (RETUNE_LLM_MODEL or --llm-model) and base URL (OPENAI_BASE_URL or --llm-base-url)")
		}
		c, err := NewLLM(llm)
		if err != nil {
			return nil, err
		}
		if kind == KindCausal {
			return NewCausalGenerator(c), nil
		}
		return NewNaiveGenerator(c), nil
	}
	return nil, fmt.Errorf("generator must be offline, causal or naive; got %q", kind)
}
