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
	res := &Result{Generation: &negatives.Report{Generator: "offline", Kept: 1},
		Generated: []negatives.Negative{{QueryID: "q1", PosID: "d1", Text: "A counterfactual passage.", Generator: "offline"}},
		Rejected:  []negatives.Rejection{{Negative: negatives.Negative{QueryID: "q1", PosID: "d1"}, Reason: negatives.RejectEmpty}}}
	if err := SaveGenerated(dir, res); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, GeneratedFile)
	if err := CheckGenerated(path); err != nil {
		t.Fatalf("SaveGenerated's own file: %v", err)
	}
	good, _ := os.ReadFile(path)
	for _, tt := range []struct{ name, body, want string }{
		{"trailing data", string(good) + "GARBAGE", "data after the JSON object"},
		{"not an object", `[1]`, "not a JSON object"},
		{"unknown field", `{"report":{},"negatives":[],"extra":1}`, `unknown field "extra"`},
		{"unknown item field", `{"report":{},"negatives":[{"query_id":"q","pos_id":"d","text":"t","oops":1}]}`, "negatives[0]"},
		{"no negatives", `{"report":{}}`, `needs a "report" and a "negatives" array`},
		{"negatives not an array", `{"report":{},"negatives":{}}`, "expected an array"},
		{"item without text", `{"report":{},"negatives":[{"query_id":"q","pos_id":"d"}]}`, "negatives[0] lacks its query_id, pos_id or text"},
		{"twice", `{"report":{},"negatives":[],"negatives":[]}`, `"negatives" appears twice`},
		{"older file without rejected", `{"report":{},"negatives":[{"query_id":"q","pos_id":"d","text":"t"}]}`, ""},
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
