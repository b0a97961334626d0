package api

import (
	"errors"
	"testing"

	"retune/store"
)

// The refusal names the setting to change: batch_size when the in-batch
// scores are the bulk of the estimate, else the dataset.
func TestCheckJobMemoryNamesWhatToChange(t *testing.T) {
	s := &Server{memTotal: func() (uint64, bool) { return 1 << 30, true }}
	ds := store.Dataset{Docs: 50_000, Queries: 20_000, Splits: map[string]store.SplitInfo{"train": {Queries: 20_000, Pairs: 20_000}}}
	spec := jobSpec{Negatives: "mined", Hyperparameters: defaultHyperparameters()}
	if err := s.checkJobMemory(ds, 384, spec); err != nil {
		t.Fatalf("default batch: %v", err)
	}
	for _, tt := range []struct {
		name      string
		docs      int
		batch     int
		wantParam string
	}{
		{"batch of 4096", 50_000, 4096, "hyperparameters.batch_size"},
		{"ten million documents", 10_000_000, 32, "dataset"},
	} {
		ds := ds
		ds.Docs = tt.docs
		spec := spec
		spec.Hyperparameters.BatchSize = tt.batch
		var re *requestError
		if err := s.checkJobMemory(ds, 384, spec); !errors.As(err, &re) || re.param != tt.wantParam {
			t.Errorf("%s: %v, want a 400 on %s", tt.name, err, tt.wantParam)
		}
	}
	// A pairs file's own negatives are not counted when the job is
	// submitted (the start counts them): a lower bound, never a false 400.
	pairs := ds
	pairs.Format = store.FormatPairs
	spec.Hyperparameters.BatchSize = 4096
	if err := s.checkJobMemory(pairs, 384, spec); err != nil {
		t.Errorf("pairs dataset, batch 4096: %v", err)
	}
	s.cfg.SkipMemoryCheck = true
	spec.Hyperparameters.BatchSize = 4096
	if err := s.checkJobMemory(ds, 384, spec); err != nil {
		t.Fatalf("skipped check: %v", err)
	}
}
