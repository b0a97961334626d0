package negatives

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The offline decomposition of why a document answers a query. It mirrors
// the LLM analysis step with surface evidence only:
//   - information_need: the sentence carrying the most distinct query terms
//     (the answer-bearing sentence);
//   - entity: query terms the document repeats, most specific first;
//   - attribute: a modifier written right before such a term;
//   - constraint: numbers and spelled-out quantities;
//   - relation: the direction of the claim (a direction word, an
//     association, or an auxiliary that can be negated).

// Caps on nodes per facet: more would only dilute the round-robin.
const (
	cfMaxEntities    = 4
	cfMaxAttributes  = 3
	cfMaxConstraints = 4
)

type cfEntity struct {
	form string // most frequent lowercased surface form in the document
	toks []int  // occurrences to replace (the form and its plural)
	id   string // requirement id
}

type cfAttr struct {
	mod, key string
	toks     []int // occurrences of mod written before key
	id       string
}

// cfRelKind says how a relation candidate is broken.
type cfRelKind int

const (
	cfFlipDirection cfRelKind = iota // replace a direction family by its opposite
	cfNegateBefore                   // "associated" → "not associated" (or drop the "not")
	cfNegateAfter                    // "is" → "is not" (or drop the "not")
)

type cfRelation struct {
	kind cfRelKind
	tok  int
}

type cfAnalysis struct {
	text       *cfText
	query      string
	queryWords map[string]bool // lowercased query tokens
	queryStems map[string]bool // stems of the query's content words
	answer     int             // answer-bearing sentence, -1 if none
	answerHits int
	entities   []cfEntity
	attrs      []cfAttr
	quants     []cfQuantity
	quantIDs   []string
	relations  []cfRelation
	needID     string
	relationID string
	reqs       []Requirement
}

// cfAnalyze decomposes why text answers query. weight ranks shared terms by
// specificity (higher = more specific).
func cfAnalyze(query, text string, weight func(string) float64) *cfAnalysis {
	a := &cfAnalysis{text: cfParse(text), query: query, queryWords: map[string]bool{}, queryStems: map[string]bool{}, answer: -1}
	for _, t := range cfParse(query).toks {
		a.queryWords[t.lower] = true
		if cfIsContent(t) {
			a.queryStems[cfStem(t.lower)] = true
		}
	}
	a.findAnswer()
	a.findEntities(weight)
	a.findAttributes()
	a.findQuantities()
	a.findRelations()
	a.buildRequirements()
	return a
}

// findAnswer picks the sentence with the most distinct query stems; ties go
// to the later sentence, because abstracts state their finding (the part a
// claim is judged against) in the closing sentences.
func (a *cfAnalysis) findAnswer() {
	hits := make([]map[string]bool, len(a.text.sents))
	for _, t := range a.text.toks {
		if s := cfStem(t.lower); cfIsContent(t) && a.queryStems[s] {
			if hits[t.sent] == nil {
				hits[t.sent] = map[string]bool{}
			}
			hits[t.sent][s] = true
		}
	}
	for i, h := range hits {
		if len(h) > 0 && len(h) >= a.answerHits {
			a.answer, a.answerHits = i, len(h)
		}
	}
}

// findEntities groups the document's occurrences of query terms by stem.
// Direction words are left to the relation node.
func (a *cfAnalysis) findEntities(weight func(string) float64) {
	type group struct {
		forms map[string]int
		first int
		order []string
	}
	groups := map[string]*group{}
	var stems []string
	for i, t := range a.text.toks {
		if !cfIsContent(t) || cfDirection[t.lower] != "" || cfGenericWords[t.lower] {
			continue
		}
		s := cfStem(t.lower)
		if !a.queryStems[s] {
			continue
		}
		g := groups[s]
		if g == nil {
			g = &group{forms: map[string]int{}, first: i}
			groups[s] = g
			stems = append(stems, s)
		}
		if g.forms[t.lower] == 0 {
			g.order = append(g.order, t.lower)
		}
		g.forms[t.lower]++
	}
	for _, s := range stems {
		g := groups[s]
		form := g.order[0]
		for _, f := range g.order {
			if g.forms[f] > g.forms[form] {
				form = f
			}
		}
		e := cfEntity{form: form}
		for i, t := range a.text.toks {
			if t.lower == form || t.lower == cfPlural(form) {
				e.toks = append(e.toks, i)
			}
		}
		a.entities = append(a.entities, e)
	}
	first := func(e cfEntity) int { return e.toks[0] }
	slices.SortStableFunc(a.entities, func(x, y cfEntity) int {
		if c := cmp.Compare(weight(y.form), weight(x.form)); c != 0 {
			return c
		}
		return cmp.Compare(first(x), first(y))
	})
	a.entities = a.entities[:min(len(a.entities), cfMaxEntities)]
}

// cfPlural is the regular plural the entity swap also rewrites.
func cfPlural(w string) string {
	switch {
	case strings.HasSuffix(w, "s"), strings.HasSuffix(w, "x"):
		return w + "es"
	case strings.HasSuffix(w, "y") && len(w) > 2 && !strings.ContainsRune("aeiou", rune(w[len(w)-2])):
		return w[:len(w)-1] + "ies"
	}
	return w + "s"
}

// findAttributes collects the content word written right before an entity
// occurrence (only spaces or a hyphen between), e.g. "chronic" in "chronic
// inflammation". Modifiers in the answer-bearing sentence and adjective-like
// ones come first.
func (a *cfAnalysis) findAttributes() {
	byKey := map[[2]string]*cfAttr{}
	var order [][2]string
	for _, e := range a.entities {
		for _, ti := range e.toks {
			if ti == 0 {
				continue
			}
			m, k := a.text.toks[ti-1], a.text.toks[ti]
			gap := a.text.src[m.end:k.start]
			if m.sent != k.sent || strings.Trim(gap, " -") != "" || !cfIsContent(m) || cfGenericWords[m.lower] ||
				a.queryStems[cfStem(m.lower)] || cfDirection[m.lower] != "" || cfNumberWords[m.lower] != 0 {
				continue
			}
			cued := ti >= 2 && a.text.toks[ti-2].sent == m.sent && cfModifierCue[a.text.toks[ti-2].lower]
			if !cfAdjectiveLike(m.lower) && !cued {
				continue
			}
			key := [2]string{m.lower, e.form}
			at := byKey[key]
			if at == nil {
				at = &cfAttr{mod: m.lower, key: e.form}
				byKey[key] = at
				order = append(order, key)
			}
			at.toks = append(at.toks, ti-1)
		}
	}
	for _, k := range order {
		at := byKey[k]
		slices.Sort(at.toks)
		a.attrs = append(a.attrs, *at)
	}
	rank := func(at cfAttr) (int, int) {
		r := 2
		if slices.ContainsFunc(at.toks, func(ti int) bool { return a.text.toks[ti].sent == a.answer }) {
			r = 0
		}
		if !cfAdjectiveLike(at.mod) {
			r++
		}
		return r, at.toks[0]
	}
	slices.SortStableFunc(a.attrs, func(x, y cfAttr) int {
		rx, px := rank(x)
		ry, py := rank(y)
		if rx != ry {
			return cmp.Compare(rx, ry)
		}
		return cmp.Compare(px, py)
	})
	a.attrs = a.attrs[:min(len(a.attrs), cfMaxAttributes)]
}

// findQuantities orders numbers: those the query also states, then those in
// the answer-bearing sentence, then the rest in text order.
func (a *cfAnalysis) findQuantities() {
	qs := cfQuantities(a.text)
	rank := func(q cfQuantity) int {
		t := a.text.toks[q.tok]
		switch {
		case a.queryWords[t.lower]:
			return 0
		case t.sent == a.answer:
			return 1
		}
		return 2
	}
	slices.SortStableFunc(qs, func(x, y cfQuantity) int { return cmp.Compare(rank(x), rank(y)) })
	a.quants = qs[:min(len(qs), cfMaxConstraints)]
}

// findRelations lists ways to break the claim's direction, best first:
// direction words the query shares (by family), direction words in the
// answer-bearing sentence, an association or auxiliary there that can be
// negated, then direction words elsewhere.
func (a *cfAnalysis) findRelations() {
	// A family is shared when the query uses it or its opposite, through
	// either word: query "reduced" (reduce family) must match the positive's
	// "increased" (listed first in the increase family).
	queryFam := map[int]bool{}
	for w := range a.queryWords {
		for _, x := range []string{w, cfDirection[w]} {
			if f, ok := cfFamily[x]; ok {
				queryFam[f], queryFam[f^1] = true, true
			}
		}
	}
	var shared, inAnswer, negations, elsewhere []cfRelation
	seenFam := map[int]bool{}
	for i, t := range a.text.toks {
		if f, ok := cfFamily[t.lower]; ok && !seenFam[f] {
			seenFam[f] = true
			r := cfRelation{cfFlipDirection, i}
			switch {
			case queryFam[f]:
				shared = append(shared, r)
			case t.sent == a.answer:
				inAnswer = append(inAnswer, r)
			default:
				elsewhere = append(elsewhere, r)
			}
		}
		if t.sent != a.answer || len(negations) > 0 {
			continue
		}
		switch {
		case cfAssociation[t.lower]:
			negations = append(negations, cfRelation{cfNegateBefore, i})
		case cfNegatable[t.lower] && i+1 < len(a.text.toks) && a.text.toks[i+1].sent == t.sent:
			negations = append(negations, cfRelation{cfNegateAfter, i})
		}
	}
	a.relations = slices.Concat(shared, inAnswer, negations, elsewhere)
}

// buildRequirements numbers the nodes R1, R2, … in facet order.
func (a *cfAnalysis) buildRequirements() {
	next := func() string { return "R" + strconv.Itoa(len(a.reqs)+1) }
	if a.answer >= 0 {
		a.needID = next()
		a.reqs = append(a.reqs, Requirement{ID: a.needID, Facet: "information_need", Critical: true,
			Text: fmt.Sprintf("states the finding the query asks about (sentence %d, %d query terms): %s",
				a.answer+1, a.answerHits, cfClip(a.text.sentenceText(a.answer), 160)),
			Breaks: []BreakStrategy{{"drop the answer-bearing sentence, keep the rest", IntentDrift},
				{"report the finding for an upstream/downstream term instead of the outcome", UpstreamDownstream}}})
	}
	for i := range a.entities {
		e := &a.entities[i]
		e.id = next()
		a.reqs = append(a.reqs, Requirement{ID: e.id, Facet: "entity", Critical: true,
			Text:   fmt.Sprintf("is about %q (shared with the query, %d mentions)", e.form, len(e.toks)),
			Breaks: []BreakStrategy{{"swap the term for a related one everywhere", EntityShift}}})
	}
	for i := range a.attrs {
		at := &a.attrs[i]
		at.id = next()
		a.reqs = append(a.reqs, Requirement{ID: at.id, Facet: "attribute",
			Text:   fmt.Sprintf("%q qualifies %q", at.mod, at.key),
			Breaks: []BreakStrategy{{"swap the modifier for a related one", AttributeShift}}})
	}
	for _, q := range a.quants {
		t := a.text.toks[q.tok]
		id := next()
		a.quantIDs = append(a.quantIDs, id)
		a.reqs = append(a.reqs, Requirement{ID: id, Facet: "constraint", Critical: a.queryWords[t.lower],
			Text:   fmt.Sprintf("quantity %q", cfClip(a.text.src[t.start:t.end], 40)),
			Breaks: []BreakStrategy{{"scale the number, change its unit or flip its bound", ConstraintViolation}}})
	}
	if len(a.relations) > 0 {
		a.relationID = next()
		t := a.text.toks[a.relations[0].tok]
		a.reqs = append(a.reqs, Requirement{ID: a.relationID, Facet: "relation", Critical: true,
			Text:   fmt.Sprintf("the claim's direction, as in %q", a.text.src[t.start:t.end]),
			Breaks: []BreakStrategy{{"reverse or negate the claimed direction", RelationBreak}}})
	}
}

// export renders the analysis in the shared Analysis form.
func (a *cfAnalysis) export() Analysis {
	out := Analysis{InformationNeed: strings.TrimSpace(a.query), Requirements: a.reqs}
	if a.answer >= 0 {
		out.HowAnswered = "sentence " + strconv.Itoa(a.answer+1) + " states it: " + cfClip(a.text.sentenceText(a.answer), 240)
	}
	var terms []string
	for _, e := range a.entities {
		terms = append(terms, strconv.Quote(e.form))
	}
	if len(terms) > 0 {
		out.AnswerBoundary = "a document answers only while it concerns " + strings.Join(terms, ", ") +
			" and keeps the claim's direction, quantities and qualifiers; breaking any critical requirement makes it a non-answer"
	}
	return out
}

// cfClip shortens s to at most n runes, marking the cut.
func cfClip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
