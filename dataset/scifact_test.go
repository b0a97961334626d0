package dataset

import (
	"testing"
)

// TestLoadSciFact loads the real BEIR SciFact files from the shared data
// folder (never copied into the repository) and checks the published sizes.
func TestLoadSciFact(t *testing.T) {
	dir, ok := FindSharedDataset("scifact")
	if !ok {
		t.Skipf("SciFact not found: set %s to the shared data folder (holding scifact/) or place it at ../shared/data beside the repository", SharedDataEnv)
	}
	b, err := LoadBEIR(dir, "train", "test")
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Corpus) != 5183 || len(b.Queries) != 1109 {
		t.Errorf("%d docs, %d queries; want 5183, 1109", len(b.Corpus), len(b.Queries))
	}
	for _, tt := range []struct {
		split          string
		queries, pairs int
	}{
		{"train", 809, 919},
		{"test", 300, 339},
	} {
		qs, qrels, err := b.Split(tt.split)
		if err != nil {
			t.Fatal(err)
		}
		pairs := 0
		for _, docs := range qrels {
			pairs += len(docs)
		}
		if len(qs) != tt.queries || len(qrels) != tt.queries || pairs != tt.pairs {
			t.Errorf("%s: %d queries (%d in qrels), %d pairs; want %d queries, %d pairs",
				tt.split, len(qs), len(qrels), pairs, tt.queries, tt.pairs)
		}
	}
	// Spot-check one document against the file's first line.
	d, ok := b.Doc("4983")
	if !ok || d.Title != "Microstructural development of human newborn cerebral white matter assessed in vivo by diffusion tensor magnetic resonance imaging." {
		t.Errorf("Doc(4983) = %.80q, %v", d.Title, ok)
	}
}
