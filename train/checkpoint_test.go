package train

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"retune/model"
)

func checkpointFixture(t *testing.T) (dir string, head *model.Head, opt *AdamW, st *state) {
	t.Helper()
	head, err := model.NewHead(model.HeadConfig{DIn: 4, DOut: 4, Bias: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range head.Params() {
		head.Params()[i] = float64(i) * 0.1
	}
	opt = NewAdamW(len(head.Params()), 1e-3, 0.01)
	opt.Update(head.Params(), head.Params())
	st = &state{Epoch: 3, BestEpoch: 2, BestScore: 0.5, BadEpochs: 1, Best: head.Clone(),
		History: []Event{{Kind: "epoch", Epoch: 1}, {Kind: "epoch", Epoch: 2, Best: true}, {Kind: "epoch", Epoch: 3}}}
	dir = t.TempDir()
	if err := (&checkpointer{dir: dir}).epochDone(head, opt, st); err != nil {
		t.Fatal(err)
	}
	return dir, head, opt, st
}

func TestCheckpointRoundTripIsExact(t *testing.T) {
	dir, head, opt, st := checkpointFixture(t)
	got, _ := model.NewHead(head.Config())
	var gotOpt AdamW
	var gotSt state
	ok, err := loadCheckpoint(dir, got, &gotOpt, &gotSt)
	if !ok || err != nil {
		t.Fatalf("load: ok=%v err=%v", ok, err)
	}
	for i, p := range head.Params() {
		if got.Params()[i] != p || gotSt.Best.Params()[i] != st.Best.Params()[i] || gotOpt.M[i] != opt.M[i] || gotOpt.V[i] != opt.V[i] {
			t.Fatalf("parameter %d does not round-trip exactly", i)
		}
	}
	if gotOpt.Step != opt.Step || gotOpt.LR != opt.LR || gotSt.Epoch != 3 || gotSt.BestEpoch != 2 || gotSt.BadEpochs != 1 || len(gotSt.History) != 3 {
		t.Fatalf("state %+v / optimizer step %d differ from what was saved", gotSt, gotOpt.Step)
	}
}

func TestCheckpointRejectsDamageAndOtherHeads(t *testing.T) {
	dir, head, _, _ := checkpointFixture(t)
	path := filepath.Join(dir, checkpointFile)
	good, _ := os.ReadFile(path)

	other, _ := model.NewHead(model.HeadConfig{DIn: 4, DOut: 4})
	var opt AdamW
	var st state
	if _, err := loadCheckpoint(dir, other, &opt, &st); err == nil || !strings.Contains(err.Error(), "different head") {
		t.Fatalf("checkpoint of another head configuration: err %v", err)
	}

	for name, damage := range map[string]func([]byte) []byte{
		"flipped parameter byte": func(b []byte) []byte { b[len(b)-40] ^= 1; return b },
		"truncated":              func(b []byte) []byte { return b[:len(b)/2] },
		"not a checkpoint":       func([]byte) []byte { return []byte("{}") },
	} {
		if err := os.WriteFile(path, damage(append([]byte(nil), good...)), 0o644); err != nil {
			t.Fatal(err)
		}
		h, _ := model.NewHead(head.Config())
		if ok, err := loadCheckpoint(dir, h, &opt, &st); ok || err == nil {
			t.Errorf("%s: loaded (ok=%v err=%v); a damaged checkpoint must be an error", name, ok, err)
		}
	}
}

func TestCheckpointMissingMeansFreshStart(t *testing.T) {
	head, _ := model.NewHead(model.HeadConfig{DIn: 2, DOut: 2})
	var opt AdamW
	var st state
	if ok, err := loadCheckpoint(t.TempDir(), head, &opt, &st); ok || err != nil {
		t.Fatalf("empty folder: ok=%v err=%v, want a fresh start", ok, err)
	}
}

// Format-1 checkpoints (a "latest" file and epoch-N folders) are not read:
// the run starts fresh and the stale folders are removed.
func TestCheckpointLegacyFolderStartsFreshAndIsRemoved(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "epoch-00003", "best"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "latest"), []byte("epoch-00003"), 0o644); err != nil {
		t.Fatal(err)
	}
	head, _ := model.NewHead(model.HeadConfig{DIn: 2, DOut: 2})
	var opt AdamW
	var st state
	if ok, err := loadCheckpoint(dir, head, &opt, &st); ok || err != nil {
		t.Fatalf("legacy folder: ok=%v err=%v, want a fresh start", ok, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("legacy checkpoint entries left: %v", entries)
	}
}

// TestCheckpointerWritesAtMostOncePerInterval: within the interval an
// epoch is held in memory, and flush writes the latest one.
func TestCheckpointerWritesAtMostOncePerInterval(t *testing.T) {
	head, err := model.NewHead(model.HeadConfig{DIn: 3, DOut: 3})
	if err != nil {
		t.Fatal(err)
	}
	opt := NewAdamW(len(head.Params()), 1e-3, 0)
	work := t.TempDir()
	if e, err := CheckpointedEpoch(work); e != 0 || err != nil {
		t.Fatalf("no checkpoint yet: epoch %d, err %v", e, err)
	}
	tests := []struct {
		interval  time.Duration
		wantAfter []int // checkpointed epoch after epochs 1, 2, 3
	}{
		{0, []int{1, 2, 3}},
		{time.Hour, []int{1, 1, 1}},
	}
	for _, tc := range tests {
		dir := filepath.Join(work, checkpointDir)
		os.RemoveAll(dir)
		c := &checkpointer{dir: dir, interval: tc.interval}
		st := &state{Best: head.Clone()}
		for i, want := range tc.wantAfter {
			st.Epoch = i + 1
			if err := c.epochDone(head, opt, st); err != nil {
				t.Fatal(err)
			}
			if got, err := CheckpointedEpoch(work); got != want || err != nil {
				t.Fatalf("interval %v, after epoch %d: checkpoint holds epoch %d (err %v), want %d", tc.interval, i+1, got, err, want)
			}
		}
		c.flush()
		if got, _ := CheckpointedEpoch(work); got != 3 {
			t.Fatalf("interval %v: after flush the checkpoint holds epoch %d, want 3", tc.interval, got)
		}
	}
}

// A damaged checkpoint is removed with a note saying why (so training starts
// again from the first epoch); an intact or missing one is left alone.
func TestDiscardDamagedCheckpoint(t *testing.T) {
	dir, _, _, _ := checkpointFixture(t)
	path := filepath.Join(dir, checkpointFile)
	if note, err := discardDamagedCheckpoint(dir); note != "" || err != nil {
		t.Fatalf("intact checkpoint: note %q, err %v", note, err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("intact checkpoint removed: %v", err)
	}
	if err := os.Truncate(path, 100); err != nil {
		t.Fatal(err)
	}
	note, err := discardDamagedCheckpoint(dir)
	if err != nil || !strings.Contains(note, "checksum mismatch") || !strings.Contains(note, "starts again from the first epoch") || strings.Contains(note, dir) {
		t.Fatalf("damaged checkpoint: note %q, err %v (want the reason, without the folder)", note, err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("damaged checkpoint kept: %v", err)
	}
	if note, err := discardDamagedCheckpoint(dir); note != "" || err != nil {
		t.Fatalf("no checkpoint: note %q, err %v", note, err)
	}
}

// A checkpoint whose rename fails (a folder stands where the file goes)
// is warned about with the cause alone: the note reaches a job's client,
// and the server's paths are none of its business.
func TestCheckpointNoteHidesPaths(t *testing.T) {
	head, err := model.NewHead(model.HeadConfig{DIn: 3, DOut: 3})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "server-only-path")
	if err := os.MkdirAll(filepath.Join(dir, checkpointFile, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	var notes []string
	c := &checkpointer{dir: dir, warn: func(n string) { notes = append(notes, n) }}
	if err := c.epochDone(head, NewAdamW(len(head.Params()), 1e-3, 0), &state{Epoch: 1, Best: head.Clone()}); err != nil {
		t.Fatal(err)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "not written (rename: ") || strings.Contains(notes[0], "server-only-path") {
		t.Fatalf("notes %q, want one naming the failed rename without the folder", notes)
	}
}
