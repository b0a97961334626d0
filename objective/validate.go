package objective

import (
	"errors"
	"fmt"
	"math"
)

// Sentinel errors; Compute wraps them with the offending detail so callers
// can test the class with errors.Is and still log something useful.
var (
	ErrEmptyBatch = errors.New("objective: empty batch")
	ErrShape      = errors.New("objective: shape mismatch")
	ErrIndex      = errors.New("objective: index out of range")
	ErrConfig     = errors.New("objective: invalid config")
	ErrSource     = errors.New("objective: unknown negative source")
	ErrNonFinite  = errors.New("objective: non-finite head output")
)

// validate checks everything Compute relies on, so the numeric code can index
// without bounds surprises and every failure names the offending field.
func validate(b *Batch, cfg Config) error {
	if err := validateConfig(cfg); err != nil {
		return err
	}
	if b == nil {
		return fmt.Errorf("%w: nil batch", ErrEmptyBatch)
	}
	if len(b.Examples) == 0 {
		return fmt.Errorf("%w: no examples", ErrEmptyBatch)
	}
	if b.Queries == nil || b.Queries.IsEmpty() {
		return fmt.Errorf("%w: no query rows", ErrEmptyBatch)
	}
	if b.Docs == nil || b.Docs.IsEmpty() {
		return fmt.Errorf("%w: no doc rows", ErrEmptyBatch)
	}
	nq, dq := b.Queries.Dims()
	nd, dd := b.Docs.Dims()
	if dq != dd {
		return fmt.Errorf("%w: queries have %d columns, docs have %d", ErrShape, dq, dd)
	}
	if len(b.DocIDs) != nd {
		return fmt.Errorf("%w: %d doc IDs for %d doc rows", ErrShape, len(b.DocIDs), nd)
	}
	for i, ex := range b.Examples {
		if ex.Query < 0 || ex.Query >= nq {
			return fmt.Errorf("%w: example %d: query %d not in [0,%d)", ErrIndex, i, ex.Query, nq)
		}
		if ex.Positive < 0 || ex.Positive >= nd {
			return fmt.Errorf("%w: example %d: positive %d not in [0,%d)", ErrIndex, i, ex.Positive, nd)
		}
		for j, n := range ex.Negatives {
			if n.Doc < 0 || n.Doc >= nd {
				return fmt.Errorf("%w: example %d: negative %d: doc %d not in [0,%d)", ErrIndex, i, j, n.Doc, nd)
			}
			if n.Source > InBatch {
				return fmt.Errorf("%w: example %d: negative %d: source %d", ErrSource, i, j, uint8(n.Source))
			}
		}
	}
	return nil
}

func validateConfig(cfg Config) error {
	// The comparisons are written so that NaN fails them.
	if !(cfg.Temperature > 0) || math.IsInf(cfg.Temperature, 0) {
		return fmt.Errorf("%w: temperature %v must be positive and finite", ErrConfig, cfg.Temperature)
	}
	if !(cfg.EntropyWeight >= 0) || math.IsInf(cfg.EntropyWeight, 0) {
		return fmt.Errorf("%w: entropy weight %v must be non-negative and finite", ErrConfig, cfg.EntropyWeight)
	}
	if !(cfg.EntropyTemperature >= 0) || math.IsInf(cfg.EntropyTemperature, 0) {
		return fmt.Errorf("%w: entropy temperature %v must be non-negative and finite", ErrConfig, cfg.EntropyTemperature)
	}
	if cfg.EntropyWeight > 0 && cfg.EntropyTemperature == 0 {
		return fmt.Errorf("%w: entropy weight %v needs a positive entropy temperature", ErrConfig, cfg.EntropyWeight)
	}
	return nil
}
