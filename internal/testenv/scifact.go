package testenv

import (
	"strings"
	"sync"
	"testing"

	"retune/dataset"
)

// sciFactLoads holds one loader per split list, so each is read once per
// test binary however many tests ask for it.
var sciFactLoads sync.Map // string → func() (*dataset.BEIR, error)

// SciFact returns the shared BEIR SciFact (../shared/data/scifact or
// $RETUNE_DATA) with the given qrels splits, loaded once per test binary;
// it skips tb when the shared data folder is absent.
func SciFact(tb testing.TB, splits ...string) *dataset.BEIR {
	tb.Helper()
	dir, ok := dataset.FindSharedDataset("scifact")
	if !ok {
		tb.Skipf("SciFact not found: set %s or place shared/data/scifact beside the repository", dataset.SharedDataEnv)
	}
	load, _ := sciFactLoads.LoadOrStore(strings.Join(splits, ","), sync.OnceValues(func() (*dataset.BEIR, error) {
		return dataset.LoadBEIR(dir, splits...)
	}))
	b, err := load.(func() (*dataset.BEIR, error))()
	if err != nil {
		tb.Fatalf("load SciFact: %v", err)
	}
	return b
}
