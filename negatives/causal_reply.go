package negatives

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// negativesReply is the reply shape of both generation prompts. Items stay
// raw so that one malformed item is dropped instead of failing the batch.
type negativesReply struct {
	Negatives []json.RawMessage `json:"negatives"`
}

// replyItem is one generated negative as the causal prompt asks for it;
// the naive prompt fills only Text.
type replyItem struct {
	Node        string `json:"node"`
	Strategy    string `json:"strategy"`
	Type        string `json:"type"`
	Source      string `json:"source"`
	Text        string `json:"text"`
	Explanation string `json:"break_explanation"`
}

// textFilter rejects items that cannot serve as negatives whatever the
// method: empty, a copy of the positive (which answers the query), or a
// repeat within the batch.
type textFilter struct {
	positive string
	seen     map[string]bool
}

func newTextFilter(positive string) *textFilter {
	return &textFilter{positive: sameTextKey(positive), seen: map[string]bool{}}
}

func (f *textFilter) check(text string) error {
	k := sameTextKey(text)
	switch {
	case k == "":
		return fmt.Errorf("text is empty")
	case k == f.positive:
		return fmt.Errorf("text copies the true answer")
	case f.seen[k]:
		return fmt.Errorf("text repeats an earlier negative")
	}
	f.seen[k] = true
	return nil
}

// sameTextKey compares texts ignoring case and spacing.
func sameTextKey(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), " ")) }

// causalNegatives turns reply items into negatives, returning the reasons
// for every item it drops.
func causalNegatives(reply *negativesReply, a Analysis, p Pair, haveCandidates bool) ([]Negative, []string) {
	reqs := map[string]Requirement{}
	for _, r := range a.Requirements {
		reqs[r.ID] = r
	}
	filter := newTextFilter(p.Positive)
	var out []Negative
	var dropped []string
	for i, raw := range reply.Negatives {
		var it replyItem
		if err := json.Unmarshal(raw, &it); err != nil {
			dropped = append(dropped, fmt.Sprintf("negatives[%d]: %v", i, describeDecodeError(err)))
			continue
		}
		node := strings.TrimSpace(it.Node)
		typ := ViolationType(normalizeLabel(it.Type))
		r, known := reqs[node]
		var err error
		switch {
		case !known:
			err = fmt.Errorf("node %q is not a requirement id", it.Node)
		case !r.Critical:
			// Breaking a non-critical requirement can leave a passage that
			// still answers the query: a false negative.
			err = fmt.Errorf("node %s is not a critical requirement", node)
		case !slices.Contains(ViolationTypes, typ):
			err = fmt.Errorf("type %q is not one of %s", it.Type, violationTypeList())
		default:
			err = filter.check(it.Text)
		}
		if err != nil {
			dropped = append(dropped, fmt.Sprintf("negatives[%d]: %v", i, err))
			continue
		}
		out = append(out, Negative{
			QueryID:     p.QueryID,
			PosID:       p.PosID,
			Text:        strings.TrimSpace(it.Text),
			Node:        node,
			Strategy:    strategyFor(r, typ, it.Strategy),
			Type:        typ,
			Origin:      normalizeOrigin(it.Source, haveCandidates),
			Explanation: strings.TrimSpace(it.Explanation),
			Generator:   "causal",
		})
	}
	return out, dropped
}

// strategyFor keeps the model's own description, or falls back to the
// analysis's strategy of that type when the model left it out.
func strategyFor(r Requirement, typ ViolationType, given string) string {
	if s := strings.TrimSpace(given); s != "" {
		return s
	}
	for _, b := range r.Breaks {
		if b.Type == typ {
			return b.Strategy
		}
	}
	return ""
}

// normalizeOrigin maps the model's "source" onto the two Origin values; a
// claimed rewrite with no candidates to rewrite is from scratch.
func normalizeOrigin(source string, haveCandidates bool) string {
	if haveCandidates && strings.HasPrefix(normalizeLabel(source), "rewrit") {
		return OriginRewritten
	}
	return OriginFromScratch
}
