package train

import (
	"context"
	"strings"
	"testing"

	"retune/negatives"
)

func TestGenerationWarning(t *testing.T) {
	tests := []struct {
		r    negatives.Report
		want []string // "" = no warning
	}{
		{negatives.Report{Pairs: 5, Generated: 15, Kept: 12}, nil},
		{negatives.Report{Pairs: 5, Generated: 15, Kept: 0, RejectedByReason: map[string]int{"too_short": 10, "near_identical": 5, "empty": 0}},
			[]string{"no generated negative was kept (15 generated; rejected: ", "too_short 10", "near_identical 5", "training goes on without any"}},
		{negatives.Report{Pairs: 5, Generated: 12, Kept: 12, Failures: 1, FailureSamples: []string{"q2/d2: 500"}},
			[]string{"1 of 5 pairs failed (first: q2/d2: 500)"}},
		{negatives.Report{Pairs: 919, Generated: 2752, Kept: 4, RejectedByReason: map[string]int{"near_identical": 2748}},
			[]string{"only 4 of 2752 generated negatives were kept (rejected: near_identical 2748)"}},
		{negatives.Report{Pairs: 919, Generated: 2752, Kept: 383, RejectedByReason: map[string]int{"near_identical": 2369}}, nil},
		// Nothing came back to filter: no empty list of reasons.
		{negatives.Report{Pairs: 2, Failures: 2, FailureSamples: []string{"q1/d1: 500"}, RejectedByReason: map[string]int{"empty": 0}},
			[]string{"no generated negative was kept (0 generated); training goes on without any", "2 of 2 pairs failed"}},
	}
	for _, tt := range tests {
		got := generationWarning(&tt.r)
		if tt.want == nil && got != "" {
			t.Errorf("%+v: warning %q, want none", tt.r, got)
		}
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("%+v: warning %q lacks %q", tt.r, got, w)
			}
		}
		if strings.Contains(got, "empty 0") || strings.Contains(got, "rejected: )") {
			t.Errorf("warning lists a reason with no rejection: %q", got)
		}
	}
}

// usageGen is a generator whose usage report says how its cache fared.
type usageGen struct{ usage negatives.LLMGeneratorUsage }

func (usageGen) Name() string { return "fake" }
func (usageGen) Generate(context.Context, negatives.Pair, []string, int) ([]negatives.Negative, error) {
	return nil, nil
}
func (g usageGen) UsageReport() any { return g.usage }

func TestCacheWarning(t *testing.T) {
	if got := cacheWarning(usageGen{}); got != "" {
		t.Errorf("no cache error: %q", got)
	}
	if got := cacheWarning(usageGen{negatives.LLMGeneratorUsage{LLM: negatives.LLMUsage{CacheErrors: 2}}}); !strings.Contains(got, "2 LLM replies could not be written to the reply cache") {
		t.Errorf("two cache errors: %q", got)
	}
	if got := cacheWarning(nil); got != "" {
		t.Errorf("no generator: %q", got)
	}
}
