package negatives

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
)

// cfBreak is one counterfactual: the rewritten text and which requirement
// it violates, how, and why that breaks the answer.
type cfBreak struct {
	text, node, strategy, explanation string
}

// cfPickN is how many of a word source's top candidates a swap chooses among
// (seeded): the best one every time would make negatives repetitive across
// pairs, a wider pool lets weak neighbours in.
const cfPickN = 3

// violate applies one violation of type typ to a. round (0, 1, …) walks
// through the nodes and variants of that type so repeated rounds yield
// different negatives. ok is false when the type does not apply.
func (g *OfflineGenerator) violate(a *cfAnalysis, typ ViolationType, round int, rng *rand.Rand) (cfBreak, bool) {
	switch typ {
	case EntityShift:
		return g.entityShift(a, round, rng)
	case AttributeShift:
		return g.attributeShift(a, round, rng)
	case ConstraintViolation:
		return cfConstraintViolation(a, round, rng)
	case RelationBreak:
		return cfRelationBreak(a, round)
	case IntentDrift:
		return cfIntentDrift(a, round)
	case UpstreamDownstream:
		return g.upstreamDownstream(a, rng)
	}
	return cfBreak{}, false
}

// pick chooses a replacement for word from a word source: lowercased,
// single words only, not a form of word, not a query word, not already in
// the text (a swap to a word the document already uses would merge two of
// its concepts). prefer, when set, moves matching candidates first.
func (g *OfflineGenerator) pick(src func(string, int) []string, word string, a *cfAnalysis, prefer func(string) bool, rng *rand.Rand) string {
	if src == nil {
		return ""
	}
	inText := map[string]bool{}
	for _, t := range a.text.toks {
		inText[t.lower] = true
	}
	// A substitute must read like the word it replaces — plural for plural
	// ("carriers" never becomes "brca"), -ing for -ing — or the edit is
	// visible from grammar alone.
	shape := cfShape(word)
	var ok []string
	for _, c := range src(word, 12) {
		c = strings.ToLower(strings.TrimSpace(c))
		if !cfWordish(c) || cfRelatedForm(c, word) || a.queryWords[c] || a.queryStems[cfStem(c)] ||
			inText[c] || slices.Contains(ok, c) || cfShape(c) != shape || cfGenericWords[c] {
			continue
		}
		ok = append(ok, c)
	}
	// Adjective-likeness is only a preference: the suffix test misses plain
	// adjectives ("chronic" → "acute" must stay possible).
	ok = cfPrefer(ok, func(c string) bool { return cfAdjectiveLike(c) == cfAdjectiveLike(word) })
	if prefer != nil {
		ok = cfPrefer(ok, prefer)
	}
	if len(ok) == 0 {
		return ""
	}
	return ok[rng.IntN(min(cfPickN, len(ok)))]
}

// cfPrefer keeps the candidates matching want, when there are any.
func cfPrefer(cands []string, want func(string) bool) []string {
	var keep []string
	for _, c := range cands {
		if want(c) {
			keep = append(keep, c)
		}
	}
	if len(keep) == 0 {
		return cands
	}
	return keep
}

// cfShape classes a lowercased word by its ending: "ing", "plural" or
// "other".
func cfShape(w string) string {
	switch {
	case strings.HasSuffix(w, "ing"):
		return "ing"
	case cfAdjectiveLike(w):
		return "other" // "-ous", "-ess" and the like are not plurals
	case strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") && !strings.HasSuffix(w, "us") && !strings.HasSuffix(w, "is"):
		return "plural"
	}
	return "other"
}

// cfSwapTokens replaces tokens by repl (the plural form of form gets a plural
// of repl), keeping each occurrence's casing.
func cfSwapTokens(t *cfText, toks []int, form, repl string) string {
	edits := make([]cfEdit, 0, len(toks))
	for _, ti := range toks {
		tok := t.toks[ti]
		r := repl
		if tok.lower != form {
			r = cfPlural(repl)
		}
		edits = append(edits, cfEdit{tok.start, tok.end, cfMatchCase(t.src[tok.start:tok.end], r)})
	}
	return cfApply(t.src, edits)
}

// entityShift swaps a query term the document repeats for a neighbour, in
// every place it occurs, so the document is consistently about something
// else of the same kind.
func (g *OfflineGenerator) entityShift(a *cfAnalysis, round int, rng *rand.Rand) (cfBreak, bool) {
	for j := range a.entities {
		e := a.entities[(round+j)%len(a.entities)]
		nb := g.pick(g.neighbours, e.form, a, nil, rng)
		if nb == "" {
			continue
		}
		return cfBreak{cfSwapTokens(a.text, e.toks, e.form, nb), e.id, "swap_entity",
			fmt.Sprintf("%q, which the query asks about, became the related term %q in all %d mentions", e.form, nb, len(e.toks))}, true
	}
	return cfBreak{}, false
}

// attributeShift swaps the modifier of a key term ("chronic inflammation" →
// "acute inflammation") where it modifies that term, preferring an
// adjective-like neighbour for an adjective-like modifier.
func (g *OfflineGenerator) attributeShift(a *cfAnalysis, round int, rng *rand.Rand) (cfBreak, bool) {
	for j := range a.attrs {
		at := a.attrs[(round+j)%len(a.attrs)]
		var prefer func(string) bool
		if cfAdjectiveLike(at.mod) {
			prefer = cfAdjectiveLike
		}
		nb := g.pick(g.neighbours, at.mod, a, prefer, rng)
		if nb == "" {
			continue
		}
		return cfBreak{cfSwapTokens(a.text, at.toks, at.mod, nb), at.id, "swap_modifier",
			fmt.Sprintf("the qualifier %q of %q became %q", at.mod, at.key, nb)}, true
	}
	return cfBreak{}, false
}

// cfConstraintViolation changes one quantity: its value, unit or bound.
func cfConstraintViolation(a *cfAnalysis, round int, rng *rand.Rand) (cfBreak, bool) {
	for j := range a.quants {
		i := (round + j) % len(a.quants)
		e, strategy, what, ok := cfConstraintEdit(a.text, a.quants[i], rng)
		if !ok {
			continue
		}
		return cfBreak{cfApply(a.text.src, []cfEdit{e}), a.quantIDs[i], strategy,
			what + ": the document now reports a different quantity than the one that answered the query"}, true
	}
	return cfBreak{}, false
}

// cfRelationBreak reverses the claim: every form of the chosen direction
// family flips (so the document does not contradict itself), or the
// association/auxiliary of the answer-bearing sentence is negated (or its
// negation removed).
func cfRelationBreak(a *cfAnalysis, round int) (cfBreak, bool) {
	if len(a.relations) == 0 {
		return cfBreak{}, false
	}
	t := a.text
	r := a.relations[round%len(a.relations)]
	tok := t.toks[r.tok]
	orig := t.src[tok.start:tok.end]
	switch r.kind {
	case cfFlipDirection:
		fam := cfFamily[tok.lower]
		var edits []cfEdit
		for _, x := range t.toks {
			if f, ok := cfFamily[x.lower]; ok && f == fam {
				edits = append(edits, cfEdit{x.start, x.end, cfMatchCase(t.src[x.start:x.end], cfDirection[x.lower])})
			}
		}
		return cfBreak{cfApply(t.src, edits), a.relationID, "reverse_direction",
			fmt.Sprintf("the claimed direction was reversed: %q became %q (%d mentions)", orig, cfDirection[tok.lower], len(edits))}, true
	case cfNegateBefore:
		if r.tok > 0 && t.toks[r.tok-1].lower == "not" && t.toks[r.tok-1].sent == tok.sent {
			not := t.toks[r.tok-1]
			return cfBreak{cfApply(t.src, []cfEdit{{not.start, tok.start, ""}}), a.relationID, "remove_negation",
				fmt.Sprintf("the negation of %q was removed, so the document claims the opposite", orig)}, true
		}
		return cfBreak{cfApply(t.src, []cfEdit{{tok.start, tok.start, cfMatchCase(orig, "not ")}}), a.relationID, "negate_claim",
			fmt.Sprintf("%q became %q, so the document denies the relation", orig, "not "+orig)}, true
	default: // cfNegateAfter
		if r.tok+1 < len(t.toks) && t.toks[r.tok+1].lower == "not" {
			not := t.toks[r.tok+1]
			return cfBreak{cfApply(t.src, []cfEdit{{tok.end, not.end, ""}}), a.relationID, "remove_negation",
				fmt.Sprintf("%q lost its negation, so the document claims the opposite", orig+" not")}, true
		}
		return cfBreak{cfApply(t.src, []cfEdit{{tok.end, tok.end, " not"}}), a.relationID, "negate_claim",
			fmt.Sprintf("%q became %q, so the document denies its finding", orig, orig+" not")}, true
	}
}

// cfIntentDrift keeps the document's topic but removes what answers the
// query: round 0 drops the answer-bearing sentence; later rounds drop every
// sentence that mentions a shared key term, provided one sentence is left.
func cfIntentDrift(a *cfAnalysis, round int) (cfBreak, bool) {
	t := a.text
	if a.answer < 0 || len(t.sents) < 2 {
		return cfBreak{}, false
	}
	if round == 0 {
		return cfBreak{t.dropSentence(a.answer), a.needID, "drop_answer_sentence",
			fmt.Sprintf("the sentence carrying %d query terms was removed (%q); the rest, on the same topic, no longer states the finding",
				a.answerHits, cfClip(t.sentenceText(a.answer), 100))}, true
	}
	drop := map[int]bool{a.answer: true}
	for _, e := range a.entities {
		for _, ti := range e.toks {
			drop[t.toks[ti].sent] = true
		}
	}
	if len(drop) >= len(t.sents) {
		return cfBreak{}, false
	}
	var keep []string
	for i := range t.sents {
		if !drop[i] {
			keep = append(keep, t.sentenceText(i))
		}
	}
	return cfBreak{strings.Join(keep, " "), a.needID, "drop_query_sentences",
		fmt.Sprintf("all %d sentences mentioning the query's key terms were removed; the remaining background no longer answers", len(drop))}, true
}

// upstreamDownstream replaces the outcome of the answer-bearing sentence by
// a term related to it as a cause, mediator or consequence, so the sentence
// reports an effect on a neighbouring variable instead of the one asked
// about. The rule:
//   - outcome: in the answer-bearing sentence, the first content word after
//     the first direction word ("reduces the risk of stroke" → "risk"),
//     preferring one the query shares; without a direction word, the last
//     query term of the sentence (the object, in English word order);
//   - replacement: a corpus associate of the outcome (a word that co-occurs
//     with it beyond chance: OfflineAssociates), else a neighbour, never a
//     query word or a word the document already uses;
//   - only that one occurrence changes: the rest of the document still talks
//     about the outcome, as a paper on a mediator would.
func (g *OfflineGenerator) upstreamDownstream(a *cfAnalysis, rng *rand.Rand) (cfBreak, bool) {
	if a.answer < 0 {
		return cfBreak{}, false
	}
	t := a.text
	outcome := -1
	afterDir := false
	for i, tok := range t.toks {
		if tok.sent != a.answer {
			continue
		}
		if cfDirection[tok.lower] != "" {
			afterDir = true
			continue
		}
		if !afterDir || !cfIsContent(tok) {
			continue
		}
		shared := a.queryStems[cfStem(tok.lower)]
		if outcome < 0 || shared && !a.queryStems[cfStem(t.toks[outcome].lower)] {
			outcome = i
		}
		if shared {
			break
		}
	}
	if outcome < 0 {
		for i, tok := range t.toks {
			if tok.sent == a.answer && cfIsContent(tok) && a.queryStems[cfStem(tok.lower)] && cfDirection[tok.lower] == "" {
				outcome = i
			}
		}
	}
	if outcome < 0 {
		return cfBreak{}, false
	}
	tok := t.toks[outcome]
	src := g.associates
	if src == nil {
		src = g.neighbours
	}
	repl := g.pick(src, tok.lower, a, nil, rng)
	if repl == "" && src != nil && g.neighbours != nil {
		repl = g.pick(g.neighbours, tok.lower, a, nil, rng)
	}
	if repl == "" {
		return cfBreak{}, false
	}
	orig := t.src[tok.start:tok.end]
	return cfBreak{cfApply(t.src, []cfEdit{{tok.start, tok.end, cfMatchCase(orig, repl)}}), a.needID, "swap_outcome_for_related",
		fmt.Sprintf("the answer-bearing sentence now reports the finding for %q, a related upstream/downstream term, instead of %q",
			repl, orig)}, true
}
