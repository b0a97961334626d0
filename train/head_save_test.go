package train

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"retune/model"
	"retune/negatives"
)

// SaveHead over an earlier head replaces the set or, when writing fails
// part-way (here: the negatives, after the head's own files), leaves the
// earlier head and its negatives as they were: a probe on a full disk found
// a new head without its negatives in place of the old one.
func TestSaveHeadReplacesOrKeepsTheEarlierHead(t *testing.T) {
	dir := t.TempDir()
	gen := func(kept int) *Result {
		return &Result{Generation: &negatives.Report{Generator: "offline", Generated: kept, Kept: kept,
			RejectedByReason: map[string]int{}, KeptByType: map[string]int{}}, Generated: []negatives.Negative{}}
	}
	save := func(bias bool, res *Result) error {
		h, err := model.NewHead(model.HeadConfig{DIn: 4, DOut: 4, Bias: bias})
		if err != nil {
			t.Fatal(err)
		}
		return SaveHead(dir, h, "glove-100d", "sum", PipelineConfig{}, res, nil)
	}
	if err := save(false, gen(0)); err != nil {
		t.Fatal(err)
	}
	old, _ := os.ReadFile(filepath.Join(dir, GeneratedFile))
	broken := gen(0)
	broken.Generation.Diagnostics.MeanCosQueryMined = math.NaN() // not JSON: the negatives cannot be written
	if err := save(true, broken); err == nil {
		t.Fatal("no error")
	}
	h, _, err := model.LoadHead(dir)
	if err != nil || h.Config().Bias {
		t.Fatalf("after a failed save: head %v, err %v; want the earlier head (no bias)", h, err)
	}
	if now, _ := os.ReadFile(filepath.Join(dir, GeneratedFile)); string(now) != string(old) {
		t.Error("the earlier head's negatives changed")
	}
	// A run that generated nothing replaces the head and takes its
	// negatives away; nothing else is left behind.
	if err := save(true, &Result{}); err != nil {
		t.Fatal(err)
	}
	if h, _, err := model.LoadHead(dir); err != nil || !h.Config().Bias {
		t.Fatalf("after a good save: head %v, err %v; want the new head", h, err)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{"head.json", "weights.bin"}; !slices.Equal(names, want) {
		t.Errorf("folder holds %v, want %v", names, want)
	}
}
