package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"retune/internal/atomicfile"
	"retune/model"
)

// state is what a checkpoint restores besides the current head and optimizer.
type state struct {
	Epoch     int     `json:"epoch"`
	BestEpoch int     `json:"best_epoch"`
	BestScore float64 `json:"best_score"`
	BadEpochs int     `json:"bad_epochs"`
	History   []Event `json:"history"`
	Best      *model.Head
}

type checkpointFile struct {
	FormatVersion int    `json:"format_version"`
	State         state  `json:"state"`
	Optimizer     *AdamW `json:"optimizer"`
	Config        Config `json:"config"`
}

const checkpointVersion = 1

// saveCheckpoint writes epoch-N/ (current head, best head, state.json) as a
// whole: built under a temporary name, fsynced, renamed, then "latest" is
// switched atomically. A crash at any point leaves the previous checkpoint.
func saveCheckpoint(dir string, head *model.Head, opt *AdamW, st *state) error {
	name := fmt.Sprintf("epoch-%05d", st.Epoch)
	tmp := filepath.Join(dir, name+".tmp")
	os.RemoveAll(tmp)
	if err := head.Save(filepath.Join(tmp, "current"), model.HeadMeta{}); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := st.Best.Save(filepath.Join(tmp, "best"), model.HeadMeta{}); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	b, err := json.Marshal(checkpointFile{FormatVersion: checkpointVersion, State: *st, Optimizer: opt})
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := atomicfile.WriteFile(filepath.Join(tmp, "state.json"), b, 0o644); err != nil {
		return err
	}
	final := filepath.Join(dir, name)
	os.RemoveAll(final)
	if err := os.Rename(tmp, final); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	// The rename must be durable before "latest" can point at it.
	if err := atomicfile.SyncDir(dir); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, "latest"), []byte(name), 0o644); err != nil {
		return err
	}
	// Older checkpoints are superseded; keep only the latest.
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "epoch-") && e.Name() != name {
			os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
	return nil
}

// loadCheckpoint restores head, optimizer and state from dir's latest
// checkpoint; false when there is none.
func loadCheckpoint(dir string, head *model.Head, opt *AdamW, st *state) (bool, error) {
	latest, err := os.ReadFile(filepath.Join(dir, "latest"))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("checkpoint: %w", err)
	}
	cdir := filepath.Join(dir, strings.TrimSpace(string(latest)))
	b, err := os.ReadFile(filepath.Join(cdir, "state.json"))
	if err != nil {
		return false, fmt.Errorf("checkpoint: %w", err)
	}
	var cf checkpointFile
	if err := json.Unmarshal(b, &cf); err != nil {
		return false, fmt.Errorf("checkpoint %s: %w", cdir, err)
	}
	if cf.FormatVersion != checkpointVersion || cf.Optimizer == nil {
		return false, fmt.Errorf("checkpoint %s: unsupported format version %d", cdir, cf.FormatVersion)
	}
	cur, _, err := model.LoadHead(filepath.Join(cdir, "current"))
	if err != nil {
		return false, fmt.Errorf("checkpoint: %w", err)
	}
	best, _, err := model.LoadHead(filepath.Join(cdir, "best"))
	if err != nil {
		return false, fmt.Errorf("checkpoint: %w", err)
	}
	if len(cur.Params()) != len(head.Params()) || cur.Config() != head.Config() {
		return false, fmt.Errorf("checkpoint %s was made for a different head configuration", cdir)
	}
	copy(head.Params(), cur.Params())
	*opt = *cf.Optimizer
	*st = cf.State
	st.Best = best
	return true, nil
}
