package train

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"

	"retune/internal/atomicfile"
)

// CacheFileReport describes one encoder's cache file.
type CacheFileReport struct {
	File    string `json:"file"`
	Dim     int    `json:"dim"`
	Records int    `json:"records"`
	Bytes   int64  `json:"bytes"`
	// Kept is what a prune left of the file (nil for stats).
	Kept *CacheKept `json:"kept,omitempty"`
	// OldFormat marks a file of an earlier build's format (Dim and Records
	// 0): this build starts it over at its encoder's next use, and a prune
	// or drop deletes it, since nothing in it is read.
	OldFormat bool `json:"old_format,omitempty"`
}

// CacheKept is what a prune kept of a file.
type CacheKept struct {
	Records int   `json:"records"`
	Bytes   int64 `json:"bytes"`
}

// DropCacheFiles deletes the cache files in dir that keep does not claim
// by name (CacheFileName): those of encoders no longer installed (a run
// that needs such vectors again embeds them again). Each file is removed
// under its lock; a process still appending to it (a job finishing on a
// replaced encoder) starts a new file at its next write. Files that are
// not retune caches are left alone and named in skipped; those of an
// earlier retune format are dropped whether keep claims them or not.
func DropCacheFiles(dir string, keep func(name string) bool) (dropped []CacheFileReport, skipped []string, _ error) {
	return eachCacheFile(dir, nil, func(path string) (CacheFileReport, bool, error) {
		return dropFile(path, keep(filepath.Base(path)))
	})
}

// eachCacheFile runs do on each cache file in dir (in name order) that
// skip, when not nil, does not claim, collecting the reports of the files
// it handled and the names of those it left alone (ok false: not a
// retune cache). A report without a file name (a file found empty)
// is neither. A file that fails does not stop the others: the errors are
// returned together.
func eachCacheFile(dir string, skip func(name string) bool, do func(path string) (CacheFileReport, bool, error)) (reps []CacheFileReport, skipped []string, _ error) {
	return eachCacheFileCtx(context.Background(), dir, skip, do)
}

// eachCacheFileCtx is eachCacheFile stopping between files once ctx ends,
// with ctx's error among the returned ones.
func eachCacheFileCtx(ctx context.Context, dir string, skip func(name string) bool, do func(path string) (CacheFileReport, bool, error)) (reps []CacheFileReport, skipped []string, _ error) {
	paths, err := filepath.Glob(filepath.Join(dir, cacheFileGlob))
	if err != nil {
		return nil, nil, err
	}
	sort.Strings(paths)
	var errs []error
	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		if skip != nil && skip(filepath.Base(p)) {
			continue
		}
		rep, ok, err := do(p)
		switch {
		case err != nil:
			errs = append(errs, err)
		case !ok:
			skipped = append(skipped, filepath.Base(p))
		case rep.File != "":
			reps = append(reps, rep)
		}
	}
	return reps, skipped, errors.Join(errs...)
}

// dropFile removes one cache file, reporting what it held, unless it is
// claimed (kept) and of the current format (then the report is empty); ok
// is false (and the file kept) for a file that is not a retune cache.
func dropFile(path string, claimed bool) (rep CacheFileReport, ok bool, err error) {
	fh, unlock, err := openLocked(path)
	if err != nil {
		return rep, false, err
	}
	defer unlock()
	if st, err := fh.Stat(); err == nil && st.Size() == 0 {
		// Removed since the listing (the lock's open made it again, empty)
		// or never written to: nothing to report, nothing to keep.
		return rep, true, os.Remove(path)
	}
	if rep, _, ok, err = describeFile(fh, path); !ok || err != nil {
		return rep, ok, err
	}
	if claimed && !rep.OldFormat {
		return CacheFileReport{}, true, nil
	}
	return rep, true, removeCacheFile(path)
}

// removeCacheFile deletes a cache file its caller holds the lock of.
func removeCacheFile(path string) error {
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("embedding cache: %w", err)
	}
	return nil
}

// oldFormatFile reports whether path starts as a file of an earlier
// retune format does (read without the lock: a first look only).
func oldFormatFile(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var magic [8]byte
	_, err = io.ReadFull(f, magic[:])
	return err == nil && oldFormat(magic[:])
}

// PruneCache keeps at most maxBytes of each encoder's cache file in dir:
// its newest records, which records are appended in the order texts were
// first embedded. The cache is derived data: a text pruned away is
// embedded again the next time a run needs it. Each file is rewritten
// under its lock and renamed over the old one, so processes using the
// cache meanwhile (a server, a train run) reindex it at their next append
// and re-embed what they no longer find. maxBytes < 0 prunes nothing and
// reports the files as they are (stats). Files of an earlier retune
// format are deleted (stats reports them as OldFormat); files that are
// not retune caches are left alone, and their names returned as skipped.
func PruneCache(dir string, maxBytes int64) (reps []CacheFileReport, skipped []string, _ error) {
	return eachCacheFile(dir, nil, func(path string) (CacheFileReport, bool, error) { return pruneFile(path, maxBytes) })
}

// PruneCacheOver is PruneCache for a bounded cache: only the files over
// limit bytes are pruned, each to its newest target bytes (target below
// limit, so that a file just over its bound is not rewritten whole at every
// call). It returns the reports of the files it pruned and the names of
// the files over the limit it left alone (not retune caches); it
// stops between files once ctx ends, returning ctx's error.
func PruneCacheOver(ctx context.Context, dir string, limit, target int64) (pruned []CacheFileReport, skipped []string, _ error) {
	within := func(name string) bool {
		path := filepath.Join(dir, name)
		st, err := os.Stat(path)
		// An earlier format's file is deleted whatever its size (pruneFile
		// decides under the lock; this only looks).
		return err != nil || st.Size() <= limit && !oldFormatFile(path)
	}
	return eachCacheFileCtx(ctx, dir, within, func(path string) (CacheFileReport, bool, error) { return pruneFile(path, target) })
}

// pruneFile prunes one file (see PruneCache); ok is false for a file that
// is not a retune cache.
func pruneFile(path string, maxBytes int64) (rep CacheFileReport, ok bool, err error) {
	fh, unlock, err := openLocked(path)
	if err != nil {
		return rep, false, err
	}
	defer unlock()
	rep, hdr, ok, err := describeFile(fh, path)
	if !ok || err != nil || maxBytes < 0 {
		return rep, ok, err
	}
	if rep.OldFormat {
		rep.Kept = &CacheKept{}
		return rep, true, removeCacheFile(path)
	}
	recLen := int64(cacheRecordLen(rep.Dim))
	keep := int(max(0, min(int64(rep.Records), (maxBytes-cacheHeaderLen)/recLen)))
	rep.Kept = &CacheKept{Records: rep.Records, Bytes: rep.Bytes}
	if keep == rep.Records {
		return rep, true, nil
	}
	kept, size, err := rewriteTail(fh, path, hdr, recLen, int64(rep.Records-keep), int64(keep))
	if err != nil {
		return rep, true, fmt.Errorf("embedding cache: prune %s: %w", path, err)
	}
	rep.Kept = &CacheKept{Records: kept, Bytes: size}
	return rep, true, nil
}

// describeFile reads a locked cache file's header; ok is false for a file
// that is not a retune cache, and one of an earlier format is OldFormat.
func describeFile(fh *os.File, path string) (rep CacheFileReport, hdr [cacheHeaderLen]byte, ok bool, err error) {
	st, err := fh.Stat()
	if err != nil {
		return rep, hdr, false, err
	}
	if _, err := fh.ReadAt(hdr[:], 0); err != nil {
		return rep, hdr, false, nil
	}
	if oldFormat(hdr[:]) {
		return CacheFileReport{File: filepath.Base(path), Bytes: st.Size(), OldFormat: true}, hdr, true, nil
	}
	if string(hdr[:8]) != cacheMagic {
		return rep, hdr, false, nil
	}
	rep.File, rep.Dim, rep.Bytes = filepath.Base(path), int(binary.LittleEndian.Uint32(hdr[8:])), st.Size()
	rep.Records = int((st.Size() - cacheHeaderLen) / int64(cacheRecordLen(rep.Dim)))
	return rep, hdr, true, nil
}

// rewriteTail replaces path (atomically) with the header and the n records
// after the first skip, each checked against its CRC (a damaged one is
// dropped). The caller holds path's lock.
func rewriteTail(fh *os.File, path string, hdr [cacheHeaderLen]byte, recLen, skip, n int64) (kept int, size int64, err error) {
	err = atomicfile.Write(path, 0o644, func(w io.Writer) error {
		if _, err := w.Write(hdr[:]); err != nil {
			return err
		}
		r := bufio.NewReaderSize(io.NewSectionReader(fh, cacheHeaderLen+skip*recLen, n*recLen), 1<<20)
		rec := make([]byte, recLen)
		for range n {
			if _, err := io.ReadFull(r, rec); err != nil {
				return err
			}
			if crc32.Checksum(rec[:recLen-4], cacheCRC) != binary.LittleEndian.Uint32(rec[recLen-4:]) {
				continue
			}
			if _, err := w.Write(rec); err != nil {
				return err
			}
			kept++
		}
		return nil
	})
	return kept, cacheHeaderLen + int64(kept)*recLen, err
}
