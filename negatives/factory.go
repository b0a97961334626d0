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
// LLM model is configured and offline otherwise. offline options (e.g.
// OfflineRewriteCandidates) apply to the offline generator only.
func NewGenerator(kind string, corpus []string, seed uint64, llm LLMConfig, offline ...OfflineOption) (Generator, error) {
	kind, err := ResolveKind(kind, llm)
	if err != nil {
		return nil, err
	}
	if kind == KindOffline {
		opts := append([]OfflineOption{OfflineSeed(seed), OfflineCorpus(NewCorpusNeighbours(corpus))}, offline...)
		return NewOfflineGenerator(opts...), nil
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

// ResolveKind returns the generator kind NewGenerator would build ("" is
// causal when an LLM model is configured, else offline), or why it cannot:
// callers check it before spending time on loading data.
func ResolveKind(kind string, llm LLMConfig) (string, error) {
	model := llm.EffectiveModel()
	if kind == "" {
		kind = KindOffline
		if model != "" {
			kind = KindCausal
		}
	}
	switch kind {
	case KindOffline:
		return kind, nil
	case KindCausal, KindNaive:
		if model == "" {
			return "", errors.New("the " + kind + " generator needs an LLM: set its model (RETUNE_LLM_MODEL or --llm-model) and base URL (OPENAI_BASE_URL or --llm-base-url)")
		}
		if err := llm.Check(); err != nil {
			return "", err
		}
		return kind, nil
	}
	return "", fmt.Errorf("generator must be offline, causal or naive; got %q", kind)
}
