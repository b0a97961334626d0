package train

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"retune/negatives"
)

// What SaveGenerated writes passes CheckGenerated; anything else a client
// could send instead is refused with the reason.
func TestCheckGenerated(t *testing.T) {
	dir := t.TempDir()
	res := &Result{Generation: &negatives.Report{Generator: "offline", Generated: 2, Kept: 1,
		RejectedByReason: map[string]int{negatives.RejectEmpty: 1}, KeptByType: map[string]int{}},
		Generated: []negatives.Negative{{QueryID: "q1", PosID: "d1", Text: "A counterfactual passage.", Generator: "offline"}},
		Rejected:  []negatives.Rejection{{Negative: negatives.Negative{QueryID: "q1", PosID: "d1", Generator: "offline"}, Reason: negatives.RejectEmpty}}}
	if err := SaveGenerated(dir, res); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, GeneratedFile)
	if err := CheckGenerated(path); err != nil {
		t.Fatalf("SaveGenerated's own file: %v", err)
	}
	good, _ := os.ReadFile(path)
	const rep = `"report":{"generator":"causal","generated":1,"kept":1,"rejected_by_reason":{},"kept_by_type":{"entity_shift":1}}`
	const neg = `{"query_id":"q","pos_id":"d","text":"t","generator":"causal","type":"entity_shift"}`
	for _, tt := range []struct{ name, body, want string }{
		{"trailing data", string(good) + "GARBAGE", "data after the JSON object"},
		{"not an object", `[1]`, "not a JSON object"},
		{"unknown field", `{` + rep + `,"negatives":[` + neg + `],"extra":1}`, `unknown field "extra"`},
		{"unknown item field", `{` + rep + `,"negatives":[{"query_id":"q","pos_id":"d","text":"t","oops":1}]}`, `negatives[0]: unknown field "oops"`},
		{"report key in another case", `{"report":{"KEPT":1},"negatives":[]}`, `report: unknown field "KEPT"`},
		{"repeated report key", `{"report":{"kept":1,"kept":1},"negatives":[]}`, `report: field "kept" appears twice`},
		{"no negatives", `{` + rep + `}`, `needs a "report" and a "negatives" array`},
		{"negatives not an array", `{` + rep + `,"negatives":{}}`, "expected an array"},
		{"item without text", `{` + rep + `,"negatives":[{"query_id":"q","pos_id":"d","generator":"causal"}]}`, "negatives[0] lacks its query_id, pos_id or text"},
		{"unknown generator", `{` + rep + `,"negatives":[{"query_id":"q","pos_id":"d","text":"t","generator":"bogus"}]}`, `generator "bogus"`},
		{"null type", `{` + rep + `,"negatives":[{"query_id":"q","pos_id":"d","text":"t","generator":"causal","type":null}]}`, `negatives[0]: field "type" is null`},
		{"unknown type", `{` + rep + `,"negatives":[{"query_id":"q","pos_id":"d","text":"t","generator":"causal","type":"swap"}]}`, `violation type "swap"`},
		{"kept disagrees", `{` + rep + `,"negatives":[]}`, "does not count the kept negatives' types"},
		{"reasons disagree", `{` + rep + `,"negatives":[` + neg + `],"rejected":[{"negative":{"query_id":"q","generator":"causal"},"reason":"empty"}]}`, "rejected_by_reason map[] does not count"},
		{"generated disagrees", `{"report":{"generator":"causal","generated":1,"kept":1,"rejected_by_reason":{"empty":1},"kept_by_type":{"entity_shift":1}},"negatives":[` + neg + `],"rejected":[{"negative":{"query_id":"q","generator":"causal"},"reason":"empty"}]}`, "but 1 kept + 1 rejected + 0 surplus is 2"},
		{"rejection without reason", `{` + rep + `,"negatives":[` + neg + `],"rejected":[{"negative":{"query_id":"q"},"reason":""}]}`, "rejected[0] lacks its reason"},
		{"report generator unknown", `{"report":{"generator":"bogus","generated":1,"kept":1,"rejected_by_reason":{},"kept_by_type":{"entity_shift":1}},"negatives":[` + neg + `]}`, `the report names generator "bogus"`},
		{"generators disagree", `{"report":{"generator":"offline","generated":1,"kept":1,"rejected_by_reason":{},"kept_by_type":{"entity_shift":1}},"negatives":[` + neg + `]}`, `a negative's generator "causal" is not the report's "offline"`},
		{"types disagree", `{"report":{"generator":"causal","generated":1,"kept":1,"rejected_by_reason":{},"kept_by_type":{"entity_shift":2}},"negatives":[` + neg + `]}`, "kept_by_type map[entity_shift:2] does not count"},
		{"twice", `{` + rep + `,"negatives":[],"negatives":[]}`, `"negatives" appears twice`},
		// Found by a security probe: a 200 MB usage array took 7 GB to check.
		{"usage too large", `{"report":{"generator":"causal","generated":0,"kept":0,"rejected_by_reason":{},"kept_by_type":{},"usage":[` +
			strings.Repeat("0,", 600_000) + `0]},"negatives":[]}`, "usage is 1200003 bytes; it is at most 1 MiB"},
		{"item too large", `{` + rep + `,"negatives":[{"query_id":"q","pos_id":"d","generator":"causal","type":"entity_shift","text":"` +
			strings.Repeat("x", 1<<20) + `"}]}`, "negatives[0]: 1048658 bytes; an item is at most 1 MiB"},
		{"older file without rejected", `{` + rep + `,"negatives":[` + neg + `]}`, ""},
	} {
		p := filepath.Join(t.TempDir(), GeneratedFile)
		os.WriteFile(p, []byte(tt.body), 0o644)
		err := CheckGenerated(p)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: %v, want an error containing %q", tt.name, err, tt.want)
		}
	}

	// A run without generation removes an earlier file.
	if err := SaveGenerated(dir, &Result{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("the earlier file is still there: %v", err)
	}
}
