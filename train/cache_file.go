package train

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"sync"

	"github.com/gofrs/flock"
)

// The cache file: a 12-byte header (magic, then the dimension as uint32 LE)
// followed by records of sha256(text), dim float32 LE values and a CRC-32C
// of both. Appends happen under an exclusive flock, after reading whatever
// other processes appended since, so two runs sharing a folder neither
// interleave their writes nor store a text twice. A record that is short or
// fails its CRC ends the valid prefix (a crash mid-append); it is cut off,
// under the same lock, so later appends stay aligned.
const (
	cacheMagic = "RTEMB003"
	// Files of older formats are rebuilt. Version 1 had no lock and no
	// CRC, so a torn concurrent write could pair a text with another's
	// vector undetected. Version 2's vectors came from a tokenizer that did
	// not split on Unicode spaces (no-break, em…): a text holding one would
	// keep its old vector, beside new texts split there.
	cacheMagicV1   = "RTEMB001"
	cacheMagicV2   = "RTEMB002"
	cacheHeaderLen = 12
)

var cacheCRC = crc32.MakeTable(crc32.Castagnoli)

type cacheFile struct {
	mu   sync.Mutex
	path string
	dim  int
	size int64 // bytes of the file read into vecs: header plus whole records
	vecs map[textKey][]float32
}

// load reads the file, if there is one.
func (f *cacheFile) load() error {
	if _, err := os.Stat(f.path); errors.Is(err, os.ErrNotExist) {
		return nil // not created here: a run that only reads leaves no file
	}
	fh, unlock, err := openLocked(f.path)
	if err != nil {
		return err
	}
	defer unlock()
	return f.catchUp(fh)
}

// add appends the embeddings of texts not yet stored and fsyncs, so a
// completed stage survives a crash.
func (f *cacheFile) add(texts []string, vecs [][]float32) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(vecs) == 0 {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(f.path), 0o755); err != nil {
		return fmt.Errorf("embedding cache: %w", err)
	}
	fh, unlock, err := openLocked(f.path)
	if err != nil {
		return err
	}
	defer unlock()
	if err := f.catchUp(fh); err != nil {
		return err
	}
	if f.dim == 0 {
		f.dim = len(vecs[0])
	}
	// All or nothing: a bad vector found halfway would leave the first
	// ones in memory but not on disk.
	for _, v := range vecs {
		if len(v) != f.dim {
			return fmt.Errorf("embedding cache: dim %d, cache holds %d", len(v), f.dim)
		}
	}
	if _, err := fh.Seek(f.size, io.SeekStart); err != nil {
		return fmt.Errorf("embedding cache: %w", err)
	}
	w := bufio.NewWriterSize(fh, 1<<20)
	written := int64(0)
	if f.size == 0 {
		var hdr [cacheHeaderLen]byte
		copy(hdr[:], cacheMagic)
		binary.LittleEndian.PutUint32(hdr[8:], uint32(f.dim))
		w.Write(hdr[:])
		written += cacheHeaderLen
	}
	rec := make([]byte, f.recordLen())
	// Entered in memory only once on disk: after a failed write the texts
	// are embedded and written again next time, not taken as cached.
	added := map[textKey][]float32{}
	for i, t := range texts {
		k := textKey(sha256.Sum256([]byte(t)))
		if _, ok := f.vecs[k]; ok {
			continue // stored already, by a concurrent caller or another process
		}
		if _, ok := added[k]; ok {
			continue // twice in this batch
		}
		copy(rec, k[:])
		for j, x := range vecs[i] {
			binary.LittleEndian.PutUint32(rec[sha256.Size+4*j:], math.Float32bits(x))
		}
		binary.LittleEndian.PutUint32(rec[len(rec)-4:], crc32.Checksum(rec[:len(rec)-4], cacheCRC))
		w.Write(rec)
		written += int64(len(rec))
		added[k] = vecs[i]
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("embedding cache: write: %w", err)
	}
	if err := fh.Sync(); err != nil {
		return fmt.Errorf("embedding cache: sync: %w", err)
	}
	f.size += written
	maps.Copy(f.vecs, added)
	return nil
}

func (f *cacheFile) recordLen() int { return sha256.Size + 4*f.dim + 4 }

// catchUp reads the records appended since f.size and cuts an invalid tail.
// The caller holds the file's exclusive lock.
func (f *cacheFile) catchUp(fh *os.File) error {
	st, err := fh.Stat()
	if err != nil {
		return fmt.Errorf("embedding cache: %w", err)
	}
	end := st.Size()
	if end < f.size {
		// The file was deleted or replaced: reread it. Vectors already in
		// memory stay valid (same encoder, same texts) and are not rewritten.
		f.size = 0
	}
	if f.size == 0 {
		if end == 0 {
			return nil
		}
		var hdr [cacheHeaderLen]byte
		if _, err := fh.ReadAt(hdr[:], 0); err != nil || string(hdr[:8]) == cacheMagicV1 || string(hdr[:8]) == cacheMagicV2 {
			return f.truncate(fh, 0) // a torn header, or an old format: start over
		}
		if string(hdr[:8]) != cacheMagic {
			return fmt.Errorf("embedding cache %s: not a retune cache file (delete it to rebuild)", f.path)
		}
		dim := int(binary.LittleEndian.Uint32(hdr[8:]))
		if f.dim != 0 && dim != f.dim {
			return fmt.Errorf("embedding cache %s: holds %d-dim vectors, this encoder gives %d", f.path, dim, f.dim)
		}
		f.dim, f.size = dim, cacheHeaderLen
	}
	if _, err := fh.Seek(f.size, io.SeekStart); err != nil {
		return fmt.Errorf("embedding cache: %w", err)
	}
	r := bufio.NewReaderSize(io.LimitReader(fh, end-f.size), 1<<20)
	rec := make([]byte, f.recordLen())
	for {
		if _, err := io.ReadFull(r, rec); err != nil {
			break
		}
		body := rec[:len(rec)-4]
		if crc32.Checksum(body, cacheCRC) != binary.LittleEndian.Uint32(rec[len(rec)-4:]) {
			break
		}
		var k textKey
		copy(k[:], rec)
		v := make([]float32, f.dim)
		for j := range v {
			v[j] = math.Float32frombits(binary.LittleEndian.Uint32(rec[sha256.Size+4*j:]))
		}
		f.vecs[k] = v
		f.size += int64(len(rec))
	}
	if f.size < end {
		return f.truncate(fh, f.size)
	}
	return nil
}

func (f *cacheFile) truncate(fh *os.File, size int64) error {
	if err := fh.Truncate(size); err != nil {
		return fmt.Errorf("embedding cache: repair %s: %w", f.path, err)
	}
	f.size = size
	return nil
}

// openLocked takes an exclusive flock on path (creating the file),
// waiting for other holders, and opens it for reading and writing; unlock
// closes the file and releases the lock.
func openLocked(path string) (fh *os.File, unlock func(), err error) {
	lock := flock.New(path, flock.SetPermissions(0o644))
	if err := lock.Lock(); err != nil {
		return nil, nil, fmt.Errorf("embedding cache: lock %s: %w", path, err)
	}
	if fh, err = os.OpenFile(path, os.O_RDWR, 0); err != nil {
		lock.Close()
		return nil, nil, fmt.Errorf("embedding cache: %w", err)
	}
	return fh, func() { fh.Close(); lock.Close() }, nil
}
