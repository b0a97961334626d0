package negatives

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// offlineWords is a fixed word source for tests: word -> candidates.
func offlineWords(m map[string][]string) func(string, int) []string {
	return func(w string, k int) []string {
		c := m[w]
		return c[:min(k, len(c))]
	}
}

// TestOfflineViolationTypes checks that each type edits exactly the place it
// is meant to and leaves every other byte of the positive alone.
func TestOfflineViolationTypes(t *testing.T) {
	neighbours := offlineWords(map[string][]string{
		"aspirin": {"aspirin", "Clopidogrel"}, // a form of the word itself is never used
		"chronic": {"acute"},
	})
	associates := offlineWords(map[string][]string{"stroke": {"infarction"}})
	tests := []struct {
		name     string
		typ      ViolationType
		query    string
		positive string
		want     []string // any of these (seeded choices); exactly one when deterministic
		strategy string
		facet    string
	}{
		{
			name:     "entity shift replaces the shared term everywhere, keeping case",
			typ:      EntityShift,
			query:    "Aspirin lowers stroke risk.",
			positive: "Aspirin lowers stroke risk in adults. Daily aspirin was given to 200 adults.",
			want:     []string{"Clopidogrel lowers stroke risk in adults. Daily clopidogrel was given to 200 adults."},
			strategy: "swap_entity", facet: "entity",
		},
		{
			name:     "attribute shift swaps the modifier of a key term",
			typ:      AttributeShift,
			query:    "Inflammation drives fibrosis in the liver.",
			positive: "Patients with chronic inflammation developed fibrosis in the liver. Biopsies were taken from each patient.",
			want:     []string{"Patients with acute inflammation developed fibrosis in the liver. Biopsies were taken from each patient."},
			strategy: "swap_modifier", facet: "attribute",
		},
		{
			name:     "constraint violation changes only the number",
			typ:      ConstraintViolation,
			query:    "Aspirin lowers stroke risk.",
			positive: "In a trial of 120 adults, aspirin lowers stroke risk. Follow-up was long.",
			want: []string{
				"In a trial of 240 adults, aspirin lowers stroke risk. Follow-up was long.",
				"In a trial of 360 adults, aspirin lowers stroke risk. Follow-up was long.",
				"In a trial of 1200 adults, aspirin lowers stroke risk. Follow-up was long.",
			},
			strategy: "scale_number", facet: "constraint",
		},
		{
			name:     "constraint violation moves a percentage range as a whole",
			typ:      ConstraintViolation,
			query:    "Mutations occur in cancers.",
			positive: "Mutations occur in 4-5% of all human cancers studied here.",
			want:     []string{"Mutations occur in 8-10% of all human cancers studied here."},
			strategy: "scale_percent", facet: "constraint",
		},
		{
			name:     "relation break turns increases into decreases and nothing else",
			typ:      RelationBreak,
			query:    "Aspirin increases bleeding.",
			positive: "Aspirin increases bleeding in older adults. The cohort was drawn from many hospitals.",
			want:     []string{"Aspirin decreases bleeding in older adults. The cohort was drawn from many hospitals."},
			strategy: "reverse_direction", facet: "relation",
		},
		{
			name:     "relation break matches the query's direction through the opposite family",
			typ:      RelationBreak,
			query:    "Nerve activity is reduced in pregnancy.",
			positive: "Nerve activity increased in pregnancy. It increased most in the third trimester.",
			want:     []string{"Nerve activity decreased in pregnancy. It decreased most in the third trimester."},
			strategy: "reverse_direction", facet: "relation",
		},
		{
			name:     "relation break negates an association",
			typ:      RelationBreak,
			query:    "Obesity is associated with asthma.",
			positive: "Obesity is associated with asthma in children. Data came from national surveys.",
			want:     []string{"Obesity is not associated with asthma in children. Data came from national surveys."},
			strategy: "negate_claim", facet: "relation",
		},
		{
			name:     "relation break removes a negation",
			typ:      RelationBreak,
			query:    "Obesity is associated with asthma.",
			positive: "Obesity is not associated with asthma in children. Data came from national surveys.",
			want:     []string{"Obesity is associated with asthma in children. Data came from national surveys."},
			strategy: "remove_negation", facet: "relation",
		},
		{
			name:     "intent drift drops the answer-bearing sentence and keeps the others",
			typ:      IntentDrift,
			query:    "Aspirin lowers stroke risk.",
			positive: "Stroke is a leading cause of death. Aspirin lowers stroke risk in adults over 50. Trials were done in Europe.",
			want:     []string{"Stroke is a leading cause of death. Trials were done in Europe."},
			strategy: "drop_answer_sentence", facet: "information_need",
		},
		{
			name:     "intent drift of a closing answer sentence leaves no trailing space",
			typ:      IntentDrift,
			query:    "Aspirin lowers stroke risk.",
			positive: "Stroke is a leading cause of death. Aspirin lowers stroke risk in adults.",
			want:     []string{"Stroke is a leading cause of death."},
			strategy: "drop_answer_sentence", facet: "information_need",
		},
		{
			name:     "upstream/downstream replaces the outcome after the direction word, once",
			typ:      UpstreamDownstream,
			query:    "Aspirin reduces stroke.",
			positive: "In this trial aspirin reduces stroke in adults. Stroke was assessed yearly.",
			want:     []string{"In this trial aspirin reduces infarction in adults. Stroke was assessed yearly."},
			strategy: "swap_outcome_for_related", facet: "information_need",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := NewOfflineGenerator(OfflineSeed(7), OfflineNeighbours(neighbours), OfflineAssociates(associates), OfflineTypes(tc.typ))
			p := Pair{QueryID: "q1", Query: tc.query, PosID: "d1", Positive: tc.positive}
			negs, err := g.Generate(context.Background(), p, nil, 1)
			if err != nil {
				t.Fatal(err)
			}
			if len(negs) != 1 {
				t.Fatalf("got %d negatives, want 1", len(negs))
			}
			n := negs[0]
			if !slices.Contains(tc.want, n.Text) {
				t.Errorf("text\n got %q\nwant one of %q", n.Text, tc.want)
			}
			if n.Type != tc.typ || n.Strategy != tc.strategy || n.Origin != OriginFromScratch || n.Generator != "offline" ||
				n.QueryID != "q1" || n.PosID != "d1" || n.Explanation == "" {
				t.Errorf("provenance = %+v", n)
			}
			if got := offlineFacet(g.Analyze(p), n.Node); got != tc.facet {
				t.Errorf("node %q has facet %q, want %q", n.Node, got, tc.facet)
			}
		})
	}
}

func offlineFacet(a Analysis, id string) string {
	for _, r := range a.Requirements {
		if r.ID == id {
			return r.Facet
		}
	}
	return ""
}

// TestOfflineSkipsInapplicableTypes: a type that cannot apply yields
// nothing rather than a wrong edit, and the generator moves on to others.
func TestOfflineSkipsInapplicableTypes(t *testing.T) {
	p := Pair{QueryID: "q", Query: "Aspirin lowers stroke risk.", PosID: "d",
		Positive: "Aspirin lowers stroke risk in adults. Patients were followed closely by nurses."}
	for _, typ := range []ViolationType{ConstraintViolation, EntityShift, AttributeShift, UpstreamDownstream} {
		// No number, and no neighbour source.
		negs, err := NewOfflineGenerator(OfflineTypes(typ)).Generate(context.Background(), p, nil, 3)
		if err != nil || len(negs) != 0 {
			t.Errorf("%s: got %d negatives (err %v), want none", typ, len(negs), err)
		}
	}
	negs, err := NewOfflineGenerator().Generate(context.Background(), p, nil, 3)
	if err != nil {
		t.Fatal(err)
	}
	var types []ViolationType
	for _, n := range negs {
		types = append(types, n.Type)
	}
	slices.Sort(types)
	if want := []ViolationType{IntentDrift, RelationBreak}; !reflect.DeepEqual(slices.Compact(types), want) {
		t.Errorf("types %v, want only %v (the rest do not apply)", types, want)
	}
}

// offlineRichPair supports all six types with offlineRichWords.
var offlineRichPair = Pair{QueryID: "q7", Query: "Aspirin reduces the risk of stroke in older adults.", PosID: "d7",
	Positive: "Stroke remains a leading cause of disability. In a cohort of 1,200 older adults, daily aspirin " +
		"reduces the risk of stroke by 30%. Chronic aspirin use was well tolerated. Bleeding events were rare."}

var offlineRichWords = offlineWords(map[string][]string{
	"aspirin": {"clopidogrel", "warfarin", "heparin"},
	"stroke":  {"infarction", "ischemia"},
	"older":   {"younger"},
	"daily":   {"weekly", "monthly"},
	"chronic": {"acute", "intermittent"},
	"adults":  {"children", "adolescents"},
	"risk":    {"incidence"},
})

func TestOfflineSpreadsTypesAndIsDeterministic(t *testing.T) {
	ctx := context.Background()
	gen := func(seed uint64) []Negative {
		g := NewOfflineGenerator(OfflineSeed(seed), OfflineNeighbours(offlineRichWords))
		negs, err := g.Generate(ctx, offlineRichPair, nil, 6)
		if err != nil {
			t.Fatal(err)
		}
		return negs
	}
	a := gen(1)
	if !reflect.DeepEqual(a, gen(1)) {
		t.Fatal("same seed, different negatives")
	}
	seen := map[ViolationType]bool{}
	texts := map[string]bool{}
	for _, n := range a {
		seen[n.Type] = true
		texts[n.Text] = true
		if n.Text == offlineRichPair.Positive {
			t.Errorf("%s returned the positive unchanged", n.Type)
		}
	}
	if len(seen) != 6 || len(texts) != 6 {
		t.Errorf("6 negatives cover %d types with %d distinct texts, want 6 and 6: %+v", len(seen), len(texts), a)
	}
	// n=3 takes three different types, starting from a seeded point.
	g := NewOfflineGenerator(OfflineSeed(3), OfflineNeighbours(offlineRichWords))
	three, _ := g.Generate(ctx, offlineRichPair, nil, 3)
	if len(three) != 3 || three[0].Type == three[1].Type || three[1].Type == three[2].Type || three[0].Type == three[2].Type {
		t.Errorf("n=3 gave %+v, want 3 distinct types", three)
	}
	// Seeds choose different starting types across many seeds.
	starts := map[ViolationType]bool{}
	for seed := range uint64(40) {
		negs, _ := NewOfflineGenerator(OfflineSeed(seed), OfflineNeighbours(offlineRichWords)).Generate(ctx, offlineRichPair, nil, 1)
		starts[negs[0].Type] = true
	}
	if len(starts) < 3 {
		t.Errorf("40 seeds started with only %v", starts)
	}
}

// TestOfflineRepeatsRoundsForLargeN: past six negatives the cycle repeats
// with other nodes and variants, never duplicating a text.
func TestOfflineRepeatsRoundsForLargeN(t *testing.T) {
	g := NewOfflineGenerator(OfflineSeed(2), OfflineNeighbours(offlineRichWords))
	negs, err := g.Generate(context.Background(), offlineRichPair, nil, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(negs) != 10 {
		t.Fatalf("got %d negatives, want 10", len(negs))
	}
	seen := map[string]bool{}
	for _, n := range negs {
		if seen[n.Text] {
			t.Errorf("duplicate text %q", n.Text)
		}
		seen[n.Text] = true
	}
}

func TestOfflineCandidates(t *testing.T) {
	ctx := context.Background()
	cand := "Aspirin was compared with placebo in 300 adults. The risk of stroke increased with age in both arms."
	t.Run("rewrite option rewrites a mined candidate", func(t *testing.T) {
		g := NewOfflineGenerator(OfflineRewriteCandidates(true), OfflineTypes(RelationBreak))
		negs, err := g.Generate(ctx, offlineRichPair, []string{cand}, 1)
		if err != nil || len(negs) != 1 {
			t.Fatalf("negs %v err %v", negs, err)
		}
		want := "Aspirin was compared with placebo in 300 adults. The risk of stroke decreased with age in both arms."
		if negs[0].Origin != OriginRewritten || negs[0].Text != want {
			t.Errorf("got %s %q, want %s %q", negs[0].Origin, negs[0].Text, OriginRewritten, want)
		}
	})
	t.Run("without the option the positive is rewritten", func(t *testing.T) {
		g := NewOfflineGenerator(OfflineTypes(RelationBreak))
		negs, _ := g.Generate(ctx, offlineRichPair, []string{cand}, 1)
		if len(negs) != 1 || negs[0].Origin != OriginFromScratch || !strings.Contains(negs[0].Text, "Chronic aspirin use") {
			t.Errorf("got %+v", negs)
		}
	})
	t.Run("intent drift of a one-sentence positive falls back to a candidate", func(t *testing.T) {
		p := Pair{QueryID: "q", Query: "Aspirin lowers stroke risk.", PosID: "d", Positive: "Aspirin lowers stroke risk in adults over 50 years."}
		negs, _ := NewOfflineGenerator(OfflineTypes(IntentDrift)).Generate(ctx, p, []string{cand}, 1)
		want := "Aspirin was compared with placebo in 300 adults."
		if len(negs) != 1 || negs[0].Origin != OriginRewritten || negs[0].Text != want {
			t.Errorf("got %+v, want %q rewritten from the candidate", negs, want)
		}
		negs, _ = NewOfflineGenerator(OfflineTypes(IntentDrift)).Generate(ctx, p, nil, 1)
		if len(negs) != 0 {
			t.Errorf("without candidates got %+v, want none", negs)
		}
	})
}

func TestOfflineAnalyze(t *testing.T) {
	g := NewOfflineGenerator(OfflineNeighbours(offlineRichWords))
	a := g.Analyze(offlineRichPair)
	facets := map[string]int{}
	ids := map[string]bool{}
	for _, r := range a.Requirements {
		facets[r.Facet]++
		if ids[r.ID] {
			t.Errorf("duplicate id %s", r.ID)
		}
		ids[r.ID] = true
		if len(r.Breaks) == 0 || !slices.Contains(Facets, r.Facet) {
			t.Errorf("requirement %+v: no break or unknown facet", r)
		}
	}
	for _, f := range []string{"information_need", "entity", "attribute", "constraint", "relation"} {
		if facets[f] == 0 {
			t.Errorf("no %s requirement in %+v", f, a.Requirements)
		}
	}
	if !strings.Contains(a.HowAnswered, "reduces the risk of stroke by 30%") {
		t.Errorf("HowAnswered %q does not quote the answer sentence", a.HowAnswered)
	}
}

func TestOfflineErrors(t *testing.T) {
	g := NewOfflineGenerator()
	if _, err := g.Generate(context.Background(), Pair{QueryID: "q", PosID: "d", Query: "x"}, nil, 3); err == nil {
		t.Error("empty positive: no error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := g.Generate(ctx, offlineRichPair, nil, 3); err == nil {
		t.Error("cancelled context: no error")
	}
	if negs, err := g.Generate(context.Background(), offlineRichPair, nil, 0); err != nil || negs != nil {
		t.Errorf("n=0: %v %v", negs, err)
	}
	if g.Name() != "offline" {
		t.Errorf("Name() = %q", g.Name())
	}
}

func ExampleOfflineGenerator() {
	words := offlineWords(map[string][]string{"aspirin": {"clopidogrel"}})
	g := NewOfflineGenerator(OfflineNeighbours(words), OfflineTypes(EntityShift, RelationBreak))
	p := Pair{QueryID: "q", Query: "Aspirin increases bleeding.", PosID: "d",
		Positive: "Aspirin increases bleeding in older adults. The cohort came from many hospitals."}
	negs, _ := g.Generate(context.Background(), p, nil, 2)
	for _, n := range negs {
		fmt.Printf("%s: %s\n", n.Type, n.Text)
	}
	// Unordered output:
	// entity_shift: Clopidogrel increases bleeding in older adults. The cohort came from many hospitals.
	// relation_break: Aspirin decreases bleeding in older adults. The cohort came from many hospitals.
}
