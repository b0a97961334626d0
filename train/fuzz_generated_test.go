package train

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// FuzzCheckGenerated: the negatives part of POST /v1/heads. Beyond "never
// panics": a file CheckGenerated accepts decodes as the generatedDoc it
// claims to be, with the counts it checked.
func FuzzCheckGenerated(f *testing.F) {
	const rep = `"report":{"generator":"causal","generated":1,"kept":1,"rejected_by_reason":{},"kept_by_type":{"entity_shift":1}}`
	const neg = `{"query_id":"q","pos_id":"d","text":"t","generator":"causal","type":"entity_shift"}`
	f.Add([]byte(`{` + rep + `,"negatives":[` + neg + `]}`))
	f.Add([]byte(`{"report":{"generator":"offline","generated":2,"kept":1,"rejected_by_reason":{"empty":1},"kept_by_type":{},"usage":{"tokens":3},"llm":null,"diagnostics":{}},"negatives":[{"query_id":"q1","pos_id":"d1","text":"A","generator":"offline"}],"rejected":[{"negative":{"query_id":"q1","pos_id":"d1","generator":"offline"},"reason":"empty"}]}`))
	f.Add([]byte(`{"report":{"generator":"naive","generated":0,"kept":0,"rejected_by_reason":{},"kept_by_type":{}},"negatives":[],"rejected":[]}`))
	f.Add([]byte(`{"report":{"kept":1,"kept":1},"negatives":[]}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		p := filepath.Join(t.TempDir(), GeneratedFile)
		if err := os.WriteFile(p, in, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := CheckGenerated(p); err != nil {
			return
		}
		var doc generatedDoc
		if err := json.Unmarshal(in, &doc); err != nil {
			t.Fatalf("accepted, but does not decode: %v", err)
		}
		if doc.Report == nil {
			t.Fatalf("accepted without a report")
		}
		if doc.Report.Kept != len(doc.Negatives) {
			t.Fatalf("accepted: report keeps %d, list has %d", doc.Report.Kept, len(doc.Negatives))
		}
		for i, n := range doc.Negatives {
			if n.QueryID == "" || n.PosID == "" || n.Text == "" || n.Generator != doc.Report.Generator {
				t.Fatalf("accepted negative %d: %+v", i, n)
			}
		}
	})
}
