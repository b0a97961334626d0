package negatives

import (
	"fmt"
	"testing"
)

func TestCausalPlanBreaks(t *testing.T) {
	req := func(id string, critical bool, types ...ViolationType) Requirement {
		r := Requirement{ID: id, Text: id + " text", Critical: critical}
		for i, ty := range types {
			r.Breaks = append(r.Breaks, BreakStrategy{Strategy: fmt.Sprintf("%s-%d", id, i), Type: ty})
		}
		return r
	}
	tests := []struct {
		name string
		reqs []Requirement
		n    int
		want string // node/type of each slot
	}{
		{
			name: "spreads over types, then nodes",
			reqs: []Requirement{
				req("R1", true, EntityShift, AttributeShift),
				req("R2", true, EntityShift, RelationBreak),
			},
			n:    3,
			want: "[R1/entity_shift R2/relation_break R1/attribute_shift]",
		},
		{
			name: "repeats a type only when all types are used",
			reqs: []Requirement{
				req("R1", true, EntityShift, EntityShift),
				req("R2", true, IntentDrift),
			},
			n:    3,
			want: "[R1/entity_shift R2/intent_drift R1/entity_shift]",
		},
		{
			name: "skips non-critical requirements",
			reqs: []Requirement{
				req("R1", false, EntityShift, IntentDrift),
				req("R2", true, AttributeShift),
			},
			n:    3,
			want: "[R2/attribute_shift]",
		},
		{
			name: "n caps the plan",
			reqs: []Requirement{req("R1", true, EntityShift, IntentDrift, RelationBreak)},
			n:    1,
			want: "[R1/entity_shift]",
		},
		{
			name: "prefers an unused node among unused types",
			reqs: []Requirement{
				req("R1", true, EntityShift, IntentDrift),
				req("R2", true, RelationBreak),
				req("R3", true, UpstreamDownstream),
			},
			n:    3,
			want: "[R1/entity_shift R2/relation_break R3/upstream_downstream]",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := planBreaks(Analysis{Requirements: tt.reqs}, tt.n)
			var got []string
			for i, s := range plan {
				got = append(got, s.Node+"/"+string(s.Type))
				if s.Index != i+1 || s.Strategy == "" || s.NodeText != s.Node+" text" {
					t.Errorf("slot %d incomplete: %+v", i, s)
				}
			}
			if fmt.Sprint(got) != tt.want {
				t.Errorf("plan %v, want %s", got, tt.want)
			}
		})
	}
}
