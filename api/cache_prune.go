package api

import (
	"context"
	"time"

	"retune/train"
)

// A server with a bounded embedding cache (Config.CacheKeepBytes) looks at
// its files' sizes at start, after every job and indexing run (what makes
// the cache grow) and every cachePruneEvery: a stat per file, nothing more
// while they are within the bound. A file over it is cut to
// cachePruneTarget of the bound, so that one just over it is not rewritten
// whole at every look. Between looks a file may exceed the bound by what
// the runs under way embed.
const (
	cachePruneEvery  = time.Minute
	cachePruneTarget = 0.8
)

// pruneCacheLoop keeps each encoder's embedding cache file within the bound
// until ctx ends. Pruning keeps a file's newest records and is safe while
// jobs and collections use the cache: a run holds the vectors it embedded,
// and a text pruned away is embedded again when next needed (train.Cache
// checks every record it reads back).
func (s *Server) pruneCacheLoop(ctx context.Context) {
	t := time.NewTicker(cachePruneEvery)
	defer t.Stop()
	warned := map[string]bool{}
	for {
		s.pruneCache(ctx, warned)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.cachePrune:
		}
	}
}

// cacheGrew asks a bounded cache's loop to look at its files now (a no-op
// without a bound, and when a look is already asked for).
func (s *Server) cacheGrew() {
	select {
	case s.cachePrune <- struct{}{}:
	default:
	}
}

// pruneCache prunes the files over the bound once, logging what it cut,
// and once per file name a file over the bound it cannot prune (not a
// retune cache: the bound does not hold for it).
func (s *Server) pruneCache(ctx context.Context, warned map[string]bool) {
	limit := s.cfg.CacheKeepBytes
	pruned, skipped, err := train.PruneCacheOver(ctx, s.cfg.CacheDir, limit, int64(cachePruneTarget*float64(limit)))
	for _, r := range pruned {
		s.log.Info("embedding cache pruned", "file", r.File, "records", r.Records, "bytes", r.Bytes,
			"kept_records", r.Kept.Records, "kept_bytes", r.Kept.Bytes)
	}
	for _, name := range skipped {
		if !warned[name] {
			warned[name] = true
			s.log.Warn("embedding cache bound: a file over it is not a retune cache; left as it is", "file", name)
		}
	}
	if err != nil && ctx.Err() == nil {
		s.log.Warn("embedding cache prune failed", "err", err.Error())
	}
}
