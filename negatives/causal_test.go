package negatives

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
)

var causalPair = Pair{
	QueryID: "q1", PosID: "d1",
	Query:    "boiling point of water at sea level",
	Positive: "At sea level water boils at 100 degrees Celsius. On mountains it boils at lower temperatures.",
}

// causalAnalysisJSON plans, for n = 3: R1 entity_shift, R2
// constraint_violation, R3 intent_drift (see planBreaks).
const causalAnalysisJSON = `{
  "information_need": "The temperature at which water boils at sea-level pressure.",
  "how_answered": "It states 100 degrees Celsius at sea level.",
  "answer_boundary": "The first sentence; the second is about altitude.",
  "requirements": [
    {"id": "R1", "facet": "entity", "text": "is about water", "critical": true,
     "breaks": [{"strategy": "give the boiling point of ethanol", "type": "entity_shift"},
                {"strategy": "give the freezing point of water", "type": "attribute_shift"}]},
    {"id": "R2", "facet": "constraint", "text": "holds at sea-level pressure", "critical": true,
     "breaks": [{"strategy": "give the boiling point on a mountain", "type": "constraint_violation"},
                {"strategy": "explain how pressure cookers raise it", "type": "upstream_downstream"}]},
    {"id": "R3", "facet": "attribute", "text": "gives a temperature", "critical": true,
     "breaks": [{"strategy": "describe how the bubbles form", "type": "intent_drift"}]},
    {"id": "R4", "facet": "style", "text": "is a short factual statement", "critical": false, "breaks": []}
  ]
}`

// genItem is one generation reply item as the fake model writes it.
type genItem struct {
	Node        string `json:"node"`
	Strategy    string `json:"strategy"`
	Type        string `json:"type"`
	Source      string `json:"source"`
	Text        string `json:"text"`
	Explanation string `json:"break_explanation"`
}

var (
	itemEthanol  = genItem{"R1", "ethanol", "entity_shift", "rewritten_candidate", "At sea level ethanol boils at 78 degrees Celsius.", "about ethanol, not water"}
	itemMountain = genItem{"R2", "mountain", "constraint_violation", "from_scratch", "On Everest water boils at about 70 degrees Celsius.", "not at sea level"}
	itemBubbles  = genItem{"R3", "bubbles", "intent_drift", "rewritten_candidate", "Boiling water forms vapour bubbles at the bottom of the pot.", "no temperature"}
)

func genJSON(t *testing.T, items ...any) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"negatives": items})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// causalServer answers analysis prompts with analysis and generation
// prompts with generation, in order (the last one repeats).
func causalServer(t *testing.T, analysis []string, generation []string) *fakeChat {
	var mu sync.Mutex
	next := map[string]int{}
	return newFakeChat(t, func(_ int, req fakeRequest) fakeReply {
		mu.Lock()
		defer mu.Unlock()
		kind := fakeKind(req)
		script := map[string][]string{"analysis": analysis, "generate": generation}[kind]
		if len(script) == 0 {
			t.Errorf("unexpected %s request", kind)
			return fakeReply{Status: 400}
		}
		i := min(next[kind], len(script)-1)
		next[kind]++
		return okReply(script[i])
	})
}

func TestCausalGenerate(t *testing.T) {
	f := causalServer(t, []string{causalAnalysisJSON}, []string{genJSON(t, itemEthanol, itemMountain, itemBubbles)})
	g := NewCausalGenerator(newTestLLM(t, f, nil))
	cands := []string{"cand one", "cand two", " ", "cand three", "cand four", "cand five", "cand six"}
	negs, err := g.Generate(context.Background(), causalPair, cands, 3)
	if err != nil {
		t.Fatal(err)
	}
	want := []Negative{
		{QueryID: "q1", PosID: "d1", Text: itemEthanol.Text, Node: "R1", Strategy: "ethanol", Type: EntityShift, Origin: OriginRewritten, Explanation: itemEthanol.Explanation, Generator: "causal"},
		{QueryID: "q1", PosID: "d1", Text: itemMountain.Text, Node: "R2", Strategy: "mountain", Type: ConstraintViolation, Origin: OriginFromScratch, Explanation: itemMountain.Explanation, Generator: "causal"},
		{QueryID: "q1", PosID: "d1", Text: itemBubbles.Text, Node: "R3", Strategy: "bubbles", Type: IntentDrift, Origin: OriginRewritten, Explanation: itemBubbles.Explanation, Generator: "causal"},
	}
	if len(negs) != len(want) {
		t.Fatalf("got %d negatives: %+v", len(negs), negs)
	}
	for i := range want {
		if negs[i] != want[i] {
			t.Errorf("negative %d:\n got %+v\nwant %+v", i, negs[i], want[i])
		}
	}
	if f.count() != 2 {
		t.Fatalf("%d requests, want 2", f.count())
	}
	analysis, gen := f.request(0), f.request(1)
	if fakeKind(analysis) != "analysis" || fakeKind(gen) != "generate" {
		t.Fatalf("request order %s, %s", fakeKind(analysis), fakeKind(gen))
	}
	if !strings.Contains(analysis.user(), causalPair.Query) || !strings.Contains(analysis.user(), causalPair.Positive) {
		t.Errorf("analysis prompt lacks the pair:\n%s", analysis.user())
	}
	user := gen.user()
	for _, s := range []string{
		"1. Break R1 (is about water) as entity_shift: give the boiling point of ethanol",
		"2. Break R2 (holds at sea-level pressure) as constraint_violation",
		"3. Break R3 (gives a temperature) as intent_drift",
		"[1] cand one", "[5] cand five",
		"R4 (style): is a short factual statement",
	} {
		if !strings.Contains(user, s) {
			t.Errorf("generation prompt lacks %q:\n%s", s, user)
		}
	}
	if strings.Contains(user, "cand six") {
		t.Error("generation prompt shows more than five candidates")
	}
	if st := g.Stats(); st != (GenStats{Pairs: 1, Negatives: 3}) {
		t.Errorf("stats %+v", st)
	}
}

func TestCausalGenerateReplies(t *testing.T) {
	tests := []struct {
		name          string
		items         []any
		n             int
		noCandidates  bool
		wantNodes     []string
		wantDropped   int64
		wantTruncated int64
	}{
		{
			name:      "partial batch",
			items:     []any{itemEthanol, itemMountain},
			n:         3,
			wantNodes: []string{"R1", "R2"},
		},
		{
			name: "invalid items are dropped",
			items: []any{
				genItem{"R9", "s", "entity_shift", "from_scratch", "unknown node", ""},
				itemEthanol,
				genItem{"R2", "s", "made_up_type", "from_scratch", "unknown type", ""},
				genItem{"R4", "s", "attribute_shift", "from_scratch", "breaks a non-critical node", ""},
				genItem{"R1", "s", "entity_shift", "from_scratch", "   ", ""},
				genItem{"R1", "s", "entity_shift", "from_scratch", causalPair.Positive, ""},
				genItem{"R1", "s", "entity_shift", "from_scratch", strings.ToUpper(itemEthanol.Text), ""},
				map[string]any{"node": "R2", "type": "constraint_violation", "text": 42},
				itemBubbles,
			},
			n:           3,
			wantNodes:   []string{"R1", "R3"},
			wantDropped: 7,
		},
		{
			name:          "spares kept up to 2n",
			items:         []any{itemEthanol, itemMountain, itemBubbles},
			n:             1,
			wantNodes:     []string{"R1", "R2"},
			wantTruncated: 1,
		},
		{
			name:         "a rewrite without candidates is from scratch",
			items:        []any{itemEthanol},
			n:            1,
			noCandidates: true,
			wantNodes:    []string{"R1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := causalServer(t, []string{causalAnalysisJSON}, []string{genJSON(t, tt.items...)})
			g := NewCausalGenerator(newTestLLM(t, f, nil))
			cands := []string{"a mined passage"}
			if tt.noCandidates {
				cands = nil
			}
			negs, err := g.Generate(context.Background(), causalPair, cands, tt.n)
			if err != nil {
				t.Fatal(err)
			}
			var nodes []string
			for _, n := range negs {
				nodes = append(nodes, n.Node)
				if tt.noCandidates && n.Origin != OriginFromScratch {
					t.Errorf("origin %q with no candidates", n.Origin)
				}
			}
			if fmt.Sprint(nodes) != fmt.Sprint(tt.wantNodes) {
				t.Errorf("nodes %v, want %v", nodes, tt.wantNodes)
			}
			st := g.Stats()
			if st.Dropped != tt.wantDropped || st.Truncated != tt.wantTruncated || st.Negatives != int64(len(tt.wantNodes)) {
				t.Errorf("stats %+v", st)
			}
			if f.count() != 2 || g.llm.Usage().Repairs != 0 {
				t.Errorf("%d requests, usage %+v: a partly good batch should not be repaired", f.count(), g.llm.Usage())
			}
			if tt.noCandidates && !strings.Contains(f.request(1).user(), "no candidate passages") {
				t.Error("prompt does not say there are no candidates")
			}
		})
	}
}

func TestCausalGenerationRepair(t *testing.T) {
	bad := genJSON(t, genItem{"R9", "s", "entity_shift", "from_scratch", "unknown node", ""})
	f := causalServer(t, []string{causalAnalysisJSON}, []string{bad, genJSON(t, itemMountain)})
	g := NewCausalGenerator(newTestLLM(t, f, nil))
	negs, err := g.Generate(context.Background(), causalPair, nil, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(negs) != 1 || negs[0].Node != "R2" {
		t.Errorf("negatives %+v", negs)
	}
	repair := f.request(2).Body.Messages
	if len(repair) != 4 || !strings.Contains(repair[3].Content, `node "R9" is not a requirement id`) {
		t.Errorf("repair message does not explain the problem: %+v", repair)
	}
}

func TestCausalAnalysisRepair(t *testing.T) {
	var good map[string]any
	if err := json.Unmarshal([]byte(causalAnalysisJSON), &good); err != nil {
		t.Fatal(err)
	}
	// variant returns the good analysis edited by fn.
	variant := func(fn func(a map[string]any, reqs []any)) string {
		var a map[string]any
		b, _ := json.Marshal(good)
		json.Unmarshal(b, &a)
		fn(a, a["requirements"].([]any))
		out, _ := json.Marshal(a)
		return string(out)
	}
	req := func(reqs []any, i int) map[string]any { return reqs[i].(map[string]any) }
	tests := []struct {
		name    string
		bad     string
		wantMsg string
	}{
		{"no critical node", variant(func(_ map[string]any, r []any) {
			for i := range r {
				req(r, i)["critical"] = false
			}
		}), "no requirement is critical"},
		{"unknown facet", variant(func(_ map[string]any, r []any) { req(r, 1)["facet"] = "vibes" }), `facet "vibes"`},
		{"unknown type", variant(func(_ map[string]any, r []any) {
			req(r, 0)["breaks"].([]any)[1].(map[string]any)["type"] = "negation"
		}), `type "negation"`},
		{"too few requirements", variant(func(a map[string]any, r []any) { a["requirements"] = r[:2] }), "not 2"},
		{"critical flag missing", variant(func(_ map[string]any, r []any) { delete(req(r, 2), "critical") }), "requirements[2].critical"},
		{"critical node without breaks", variant(func(_ map[string]any, r []any) { req(r, 2)["breaks"] = []any{} }), "R3 has no breaks"},
		{"duplicate ids", variant(func(_ map[string]any, r []any) { req(r, 1)["id"] = "R1" }), `"R1" is used more than once`},
		{"empty need", variant(func(a map[string]any, _ []any) { a["information_need"] = " " }), "information_need is empty"},
		{"critical as a string", variant(func(_ map[string]any, r []any) { req(r, 0)["critical"] = "yes" }), "must be a boolean"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := causalServer(t, []string{tt.bad, causalAnalysisJSON}, nil)
			g := NewCausalGenerator(newTestLLM(t, f, nil))
			a, err := g.Analyze(context.Background(), causalPair)
			if err != nil {
				t.Fatal(err)
			}
			if len(a.Requirements) != 4 || len(a.Requirements[0].Breaks) != 2 || a.Requirements[0].Breaks[0].Type != EntityShift {
				t.Errorf("analysis %+v", a)
			}
			if f.count() != 2 {
				t.Fatalf("%d requests, want 2", f.count())
			}
			if msg := f.request(1).Body.Messages[3].Content; !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("repair message %q lacks %q", msg, tt.wantMsg)
			}
		})
	}
}

func TestCausalAnalysisNormalises(t *testing.T) {
	loose := strings.NewReplacer(`"entity_shift"`, `"Entity Shift"`, `"constraint"`, `" Constraint "`,
		`"critical": false, "breaks": []`, `"critical": false, "breaks": [{"strategy": "x", "type": "whatever"}]`,
	).Replace(causalAnalysisJSON)
	f := causalServer(t, []string{loose}, nil)
	g := NewCausalGenerator(newTestLLM(t, f, nil))
	a, err := g.Analyze(context.Background(), causalPair)
	if err != nil {
		t.Fatal(err)
	}
	if a.Requirements[0].Breaks[0].Type != EntityShift || a.Requirements[1].Facet != "constraint" {
		t.Errorf("labels not normalised: %+v", a.Requirements[:2])
	}
	if a.Requirements[3].Breaks != nil {
		t.Errorf("non-critical requirement kept unchecked breaks: %+v", a.Requirements[3])
	}
	if f.count() != 1 {
		t.Errorf("%d requests: tolerable spellings should not need a repair", f.count())
	}
}

func TestCausalFailureKeepsOtherPairs(t *testing.T) {
	dir := t.TempDir()
	pairs := []Pair{causalPair, {QueryID: "q2", PosID: "d2", Query: "poison query", Positive: "text"}}
	for i := 3; i <= 5; i++ {
		p := causalPair
		p.QueryID, p.Query = fmt.Sprint("q", i), fmt.Sprintf("boiling point of water, variant %d", i)
		pairs = append(pairs, p)
	}
	gen := genJSON(t, itemEthanol, itemMountain, itemBubbles)
	f := newFakeChat(t, func(_ int, req fakeRequest) fakeReply {
		if strings.Contains(req.user(), "poison") {
			return fakeReply{Status: 500}
		}
		if fakeKind(req) == "analysis" {
			return okReply(causalAnalysisJSON)
		}
		return okReply(gen)
	})
	llm := newTestLLM(t, f, func(cfg *LLMConfig) { cfg.CacheDir = dir; cfg.MaxRetries = 1; cfg.Concurrency = 2 })
	g := NewCausalGenerator(llm)

	results := make([][]Negative, len(pairs))
	errs := make([]error, len(pairs))
	var wg sync.WaitGroup
	for i, p := range pairs {
		wg.Go(func() { results[i], errs[i] = g.Generate(context.Background(), p, nil, 3) })
	}
	wg.Wait()

	for i, p := range pairs {
		if p.QueryID == "q2" {
			if errs[i] == nil || openaiStatus(errs[i]) != 500 || !strings.Contains(errs[i].Error(), "q2/d2") {
				t.Errorf("failing pair: err = %v", errs[i])
			}
			continue
		}
		if errs[i] != nil || len(results[i]) != 3 || results[i][0].QueryID != p.QueryID {
			t.Errorf("pair %s: %d negatives, err %v", p.QueryID, len(results[i]), errs[i])
		}
	}
	if st := g.Stats(); st.Failed != 1 || st.Pairs != 5 || st.Negatives != 12 {
		t.Errorf("stats %+v", st)
	}
	if u := llm.Usage(); u.Failures != 1 || u.Requests != 4*2+2 {
		t.Errorf("usage %+v", u)
	}
	// Run copies this into Report.Usage: what the LLM spent, and the items.
	if u, ok := g.UsageReport().(LLMGeneratorUsage); !ok || u.LLM.Requests != 10 || u.LLM.Retries != 1 || u.Items.Negatives != 12 {
		t.Errorf("usage report %+v", g.UsageReport())
	}

	// Resuming against the same endpoint (the cache key includes it): the
	// finished pairs come back from the cache, the failed one fails again.
	before := f.count()
	resumed := NewCausalGenerator(newTestLLM(t, f, func(cfg *LLMConfig) { cfg.CacheDir = dir; cfg.MaxRetries = -1 }))
	for i, p := range pairs {
		negs, err := resumed.Generate(context.Background(), p, nil, 3)
		if p.QueryID == "q2" {
			if err == nil {
				t.Error("failed pair succeeded on resume")
			}
			continue
		}
		if err != nil || fmt.Sprint(negs) != fmt.Sprint(results[i]) {
			t.Errorf("pair %s on resume: %v, %v", p.QueryID, negs, err)
		}
	}
	if n := f.count() - before; n != 1 {
		t.Errorf("resume sent %d requests, want 1 (only the failed pair)", n)
	}
	// Another endpoint serving a model of the same name is asked afresh.
	other := newFakeChat(t, func(int, fakeRequest) fakeReply { return fakeReply{Status: 503} })
	elsewhere := NewCausalGenerator(newTestLLM(t, other, func(cfg *LLMConfig) { cfg.CacheDir = dir; cfg.MaxRetries = -1 }))
	if _, err := elsewhere.Generate(context.Background(), pairs[0], nil, 3); err == nil || other.count() != 1 {
		t.Errorf("another endpoint was answered from the cache: err %v, %d requests", err, other.count())
	}
}

func TestCausalGenerateNothingToDo(t *testing.T) {
	tests := []struct {
		name    string
		pair    Pair
		n       int
		wantErr bool
	}{
		{"n is zero", causalPair, 0, false},
		{"empty query", Pair{QueryID: "q", PosID: "d", Positive: "text"}, 3, true},
		{"empty positive", Pair{QueryID: "q", PosID: "d", Query: "text"}, 3, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeChat(t, fakeSequence(t))
			g := NewCausalGenerator(newTestLLM(t, f, nil))
			negs, err := g.Generate(context.Background(), tt.pair, nil, tt.n)
			if (err != nil) != tt.wantErr || len(negs) != 0 {
				t.Errorf("negs %v, err %v", negs, err)
			}
			if f.count() != 0 {
				t.Errorf("%d requests", f.count())
			}
		})
	}
}

func TestCausalPromptTemplates(t *testing.T) {
	sys, usr, err := causalAnalysisPrompt.render(analysisPromptData{Query: "Q?", Positive: "P.", Facets: Facets, Types: ViolationTypes})
	if err != nil {
		t.Fatal(err)
	}
	// The prompt must offer exactly the labels the validator accepts.
	for _, f := range Facets {
		if !strings.Contains(sys, f) {
			t.Errorf("analysis prompt does not offer facet %s", f)
		}
	}
	for _, vt := range ViolationTypes {
		if !strings.Contains(sys, "- "+string(vt)+":") {
			t.Errorf("analysis prompt does not explain type %s", vt)
		}
	}
	if !strings.Contains(usr, "Q?") || !strings.Contains(usr, "P.") {
		t.Errorf("user prompt %q", usr)
	}
	for _, p := range []promptTemplate{causalAnalysisPrompt, causalGeneratePrompt, naivePrompt} {
		if !strings.Contains(p.name, ".v") {
			t.Errorf("prompt %s has no version in its name", p.name)
		}
	}
	if analysisSchema.Name != "causal_analysis.v1" {
		t.Errorf("analysis cache namespace %q", analysisSchema.Name)
	}
	if _, _, err := causalGeneratePrompt.render(struct{ Query string }{"q"}); err == nil {
		t.Error("template accepted data without its fields")
	}
}
