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

func (f *textFilter) check(text string) (reason string, err error) {
	k := sameTextKey(text)
	switch {
	case k == "":
		return RejectEmpty, fmt.Errorf("text is empty")
	case k == f.positive:
		return RejectIdentical, fmt.Errorf("text copies the true answer")
	case f.seen[k]:
		return RejectDuplicate, fmt.Errorf("text repeats an earlier negative")
	}
	f.seen[k] = true
	return "", nil
}

// itemDrop is a reply item a generator refused, with the reason code the
// run's report counts it under and the detail for a repair prompt.
type itemDrop struct {
	neg    Negative // what the item said, as far as it could be read
	reason string
	err    error
}

// malformedText keeps what a reply item that is not an object said (its
// JSON, cut to 500 bytes), so its rejection shows it.
func malformedText(raw json.RawMessage) string {
	s := strings.TrimSpace(string(raw))
	if len(s) > 500 {
		s = s[:500] + "…"
	}
	return s
}

// rejections turns drops into the run's Rejection records.
func rejections(drops []itemDrop) []Rejection {
	out := make([]Rejection, len(drops))
	for i, d := range drops {
		out[i] = Rejection{Negative: d.neg, Reason: d.reason}
	}
	return out
}

// sameTextKey compares texts ignoring case and spacing.
func sameTextKey(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), " ")) }

// causalNegatives turns reply items into negatives, returning every item
// it drops with its reason.
func causalNegatives(reply *negativesReply, a Analysis, p Pair, haveCandidates bool) ([]Negative, []itemDrop) {
	reqs := map[string]Requirement{}
	for _, r := range a.Requirements {
		reqs[r.ID] = r
	}
	filter := newTextFilter(p.Positive)
	var out []Negative
	var dropped []itemDrop
	for i, raw := range reply.Negatives {
		base := Negative{QueryID: p.QueryID, PosID: p.PosID, Generator: "causal"}
		var it replyItem
		if err := json.Unmarshal(raw, &it); err != nil {
			base.Text = malformedText(raw)
			dropped = append(dropped, itemDrop{neg: base, reason: RejectMalformed, err: fmt.Errorf("negatives[%d]: %v", i, describeDecodeError(err))})
			continue
		}
		node := strings.TrimSpace(it.Node)
		typ := ViolationType(normalizeLabel(it.Type))
		// As the model wrote them: the rejection shows what was refused.
		base.Text, base.Node, base.Type, base.Explanation = strings.TrimSpace(it.Text), node, ViolationType(strings.TrimSpace(it.Type)), strings.TrimSpace(it.Explanation)
		base.Strategy, base.Origin = strings.TrimSpace(it.Strategy), strings.TrimSpace(it.Source)
		r, known := reqs[node]
		var reason string
		var err error
		switch {
		case !known:
			reason, err = RejectUnknownNode, fmt.Errorf("node %q is not a requirement id", it.Node)
		case !r.Critical:
			// Breaking a non-critical requirement can leave a passage that
			// still answers the query: a false negative.
			reason, err = RejectNonCritical, fmt.Errorf("node %s is not a critical requirement", node)
		case !slices.Contains(ViolationTypes, typ):
			reason, err = RejectUnknownType, fmt.Errorf("type %q is not one of %s", it.Type, violationTypeList())
		default:
			reason, err = filter.check(it.Text)
		}
		if err != nil {
			dropped = append(dropped, itemDrop{neg: base, reason: reason, err: fmt.Errorf("negatives[%d]: %v", i, err)})
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
