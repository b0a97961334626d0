package train

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A resumed run reports each stage's time over all attempts, not the last
// attempt's alone.
func TestStageClockAddsUpAttempts(t *testing.T) {
	dir := t.TempDir()
	first := newStageClock(dir)
	_, done := first.stage(StageTraining)
	time.Sleep(30 * time.Millisecond)
	done()
	t1 := first.timings()
	if t1[StageTraining] < 0.03 || t1[timingTotal] < t1[StageTraining] {
		t.Fatalf("first attempt: %v", t1)
	}

	second := newStageClock(dir) // a resumed attempt
	tick, done := second.stage(StageTraining)
	time.Sleep(20 * time.Millisecond)
	tick()
	done()
	_, evalDone := second.stage(StageEvaluating)
	evalDone()
	t2 := second.timings()
	if t2[StageTraining] < t1[StageTraining]+0.02 || t2[timingTotal] < t1[timingTotal]+0.02 {
		t.Fatalf("second attempt %v does not add to the first %v", t2, t1)
	}
	if _, ok := t2[StageEvaluating]; !ok {
		t.Fatalf("evaluating missing: %v", t2)
	}

	// An unreadable file costs the earlier times, not the run.
	if err := os.WriteFile(filepath.Join(dir, timingsFile), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := newStageClock(dir).timings(); got[StageTraining] != 0 {
		t.Fatalf("after a corrupt file: %v", got)
	}

	// Without a work folder nothing is written.
	none := newStageClock("")
	_, d := none.stage(StageMining)
	d()
	if got := none.timings(); got[StageMining] <= 0 || none.path != "" {
		t.Fatalf("no work folder: %v", got)
	}
}
