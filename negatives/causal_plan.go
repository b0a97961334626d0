package negatives

// planSlot is one negative the generation step is asked to write: which
// critical requirement to break, and how.
type planSlot struct {
	Index    int // 1-based, as the prompt numbers it
	Node     string
	NodeText string
	Strategy string
	Type     ViolationType
}

// planBreaks picks up to n break strategies of the analysis's critical
// requirements. Each pick is the unused strategy whose violation type, then
// whose requirement, has been picked least so far (earlier ones win ties),
// so a small n still covers several types and requirements. The choice is
// deterministic, which keeps the generation prompt, and so its cache key,
// stable across runs.
func planBreaks(a Analysis, n int) []planSlot {
	var opts []planSlot
	for _, r := range a.Requirements {
		if !r.Critical {
			continue
		}
		for _, b := range r.Breaks {
			opts = append(opts, planSlot{Node: r.ID, NodeText: r.Text, Strategy: b.Strategy, Type: b.Type})
		}
	}
	used := make([]bool, len(opts))
	typeUses := map[ViolationType]int{}
	nodeUses := map[string]int{}
	var plan []planSlot
	for len(plan) < n {
		best := -1
		for i, o := range opts {
			if used[i] {
				continue
			}
			if best < 0 {
				best = i
				continue
			}
			b := opts[best]
			if typeUses[o.Type] < typeUses[b.Type] ||
				typeUses[o.Type] == typeUses[b.Type] && nodeUses[o.Node] < nodeUses[b.Node] {
				best = i
			}
		}
		if best < 0 {
			break
		}
		used[best] = true
		s := opts[best]
		typeUses[s.Type]++
		nodeUses[s.Node]++
		s.Index = len(plan) + 1
		plan = append(plan, s)
	}
	return plan
}
