package train

import (
	"encoding/json"
	"os"
	"path/filepath"
	"time"

	"retune/internal/atomicfile"
)

// timingsFile keeps, in a work folder, the seconds each stage has taken
// over all attempts of the run so far.
const timingsFile = "timings.json"

// timingTotal is the whole run's key in the timings.
const timingTotal = "total"

// stageClock times a run's stages across its attempts. With a work folder,
// a resumed run reloads a stage's output in well under a second and
// continues training from a checkpoint: timing only the last attempt would
// report a 30-second training as 0.3 s. The clock therefore adds this
// attempt's time to what earlier attempts recorded, and saves it after each
// stage and, while embedding (as chunks are cached) and training (as
// epochs are checkpointed), at most once a second: the time whose work a
// resumed run keeps (what a crash loses is the time since).
type stageClock struct {
	path  string             // "" without a work folder: nothing is saved
	spent map[string]float64 // seconds per stage, earlier attempts included
	start time.Time          // of this attempt
	prior float64            // total of earlier attempts
	saved time.Time          // last save
}

func newStageClock(workDir string) *stageClock {
	c := &stageClock{spent: map[string]float64{}, start: time.Now()}
	if workDir == "" {
		return c
	}
	c.path = filepath.Join(workDir, timingsFile)
	if b, err := os.ReadFile(c.path); err == nil {
		// A file this build cannot read only costs the earlier
		// attempts' times: start over rather than fail the run.
		if json.Unmarshal(b, &c.spent) != nil {
			c.spent = map[string]float64{}
		}
	}
	c.prior = c.spent[timingTotal]
	return c
}

// stage starts timing one stage. tick records its time so far (earlier
// attempts' plus this one's), saving at most once a second; done records
// and saves it.
func (c *stageClock) stage(name string) (tick, done func()) {
	base, t0 := c.spent[name], time.Now()
	record := func() {
		c.spent[name] = base + time.Since(t0).Seconds()
		c.spent[timingTotal] = c.prior + time.Since(c.start).Seconds()
	}
	tick = func() {
		record()
		if time.Since(c.saved) >= CheckpointInterval {
			c.save()
		}
	}
	done = func() {
		record()
		c.save()
	}
	return tick, done
}

// timings returns a copy of the seconds per stage and in total.
func (c *stageClock) timings() map[string]float64 {
	c.spent[timingTotal] = c.prior + time.Since(c.start).Seconds()
	c.save()
	out := make(map[string]float64, len(c.spent))
	for k, v := range c.spent {
		out[k] = v
	}
	return out
}

func (c *stageClock) save() {
	c.saved = time.Now()
	if c.path == "" {
		return
	}
	if b, err := json.Marshal(c.spent); err == nil {
		// Best effort: timings are a report, not the run's state.
		_ = atomicfile.WriteFile(c.path, b, 0o644)
	}
}
