package train

import (
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
		if strings.Contains(got, "empty 0") {
			t.Errorf("warning lists a reason with no rejection: %q", got)
		}
	}
}
