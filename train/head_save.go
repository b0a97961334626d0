package train

import (
	"encoding/json"
	"fmt"

	"retune/internal/atomicfile"
	"retune/model"
)

// SaveHead writes a trained head into dir (replacing one there) as
// `retune train` and a job both do: head.json carries the encoder it was trained on, cfg as its training
// settings and res's metrics (plus extra, e.g. the job id), and the run's
// generated negatives go beside it (GeneratedFile).
func SaveHead(dir string, head *model.Head, encoder, checksum string, cfg PipelineConfig, res *Result, extra map[string]any) error {
	training, err := asMap(cfg)
	if err != nil {
		return err
	}
	metrics := map[string]any{"base": res.Base, "tuned": res.Tuned, "training": res.Training,
		"mining": res.Mining, "generation": res.Generation}
	for k, v := range extra {
		metrics[k] = v
	}
	m, err := asMap(metrics)
	if err != nil {
		return err
	}
	// Written aside and moved in once complete: a run that fails to write
	// (a full disk) leaves the head already in dir (retune train --force)
	// as it was, not a new head without its negatives.
	return atomicfile.ReplaceFiles(dir, model.HeadFileNames(GeneratedFile), func(stage string) error {
		if err := head.Save(stage, model.HeadMeta{Encoder: encoder, EncoderChecksum: checksum, Training: training, Metrics: m}); err != nil {
			return err
		}
		return SaveGenerated(stage, res)
	})
}

// asMap is v as the free-form JSON object a HeadMeta field holds.
func asMap(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("head metadata: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("head metadata: %w", err)
	}
	return m, nil
}
