package train

import (
	"bufio"
	"bytes"
	"cmp"
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
	"slices"
	"sync"
	"syscall"
)

// The cache file: a 12-byte header (magic, then the dimension as uint32 LE)
// followed by records of sha256(text), dim float32 LE values and a CRC-32C
// of both. Appends happen under an exclusive flock, after reading whatever
// other processes appended since, so two runs sharing a folder neither
// interleave their writes nor store a text twice. A record that is short or
// fails its CRC ends the valid prefix (a crash mid-append); it is cut off,
// under the same lock, so later appends stay aligned.
const (
	cacheMagic     = "RTEMB008"
	cacheHeaderLen = 12
)

// oldCacheMagics are the formats whose files are rebuilt. Version 1 had no
// lock and no CRC, so a torn concurrent write could pair a text with
// another's vector undetected. The vectors of versions 2 and 3 came from
// tokenizers that differ on some texts (version 2 did not split on Unicode
// spaces, no-break, em…; version 3 followed sugarme where it garbles a word
// led by a format character, a BOM or a zero-width space; version 4
// recomposed what accent folding decomposed, so Hangul and some Indic
// words, which Hugging Face leaves as jamo and spacing signs, were
// [UNK]; version 5 matched added-token literals as sugarme does, kept
// private-use characters, did not split CJK Extension A ideographs, and
// kept spacing marks under a StripAccents normalizer; version 6 split words
// at non-ASCII letters under a Whitespace pre-tokenizer and missed a few
// added tokens Hugging Face finds; version 7 left chunks NFD changes to
// sugarme, which split Hangul words beside digits and garbled some): such
// a text would keep its old vector beside new texts encoded as they are
// now.
var oldCacheMagics = []string{"RTEMB001", "RTEMB002", "RTEMB003", "RTEMB004", "RTEMB005", "RTEMB006", "RTEMB007"}

// oldFormat reports whether a header (or its first 8 bytes) is one of an
// earlier format's.
func oldFormat(hdr []byte) bool {
	return len(hdr) >= 8 && slices.Contains(oldCacheMagics, string(hdr[:8]))
}

var cacheCRC = crc32.MakeTable(crc32.Castagnoli)

// cacheFile indexes one file: memory holds each stored text's record offset
// (about 60 bytes a text), not its vector, so a long-running server does not
// grow by every text it ever embedded; vectors are read back (from the page
// cache, usually) when asked for. See read.
type cacheFile struct {
	mu   sync.Mutex
	path string
	dim  int
	size int64   // bytes of the file indexed in offs: header plus whole records
	last textKey // the key of the record that ends at size, to notice a replaced file
	offs map[textKey]int64

	inflight inflight // texts this process is embedding now
}

// load indexes the file, if there is one, as far as other processes have
// written it. The caller holds f.mu, or is the file's only user yet.
func (f *cacheFile) load() error {
	if _, err := os.Stat(f.path); errors.Is(err, os.ErrNotExist) {
		return nil // not created here: a run that only reads leaves no file
	}
	return f.withLock(nil)
}

// errForeignFile is catchUp's word for a file that is not a retune cache.
var errForeignFile = errors.New("not a retune cache file")

// withLock runs fn (when not nil) on the file under its exclusive lock,
// once the index has caught up with it. A file at the path that is not a
// retune cache is moved aside (to path + ".foreign") and the cache starts
// over: the cache is derived data, and refusing it would fail every run.
func (f *cacheFile) withLock(fn func(fh *os.File) error) error {
	for moved := false; ; moved = true {
		fh, unlock, err := openLocked(f.path)
		if err != nil {
			return err
		}
		err = f.catchUp(fh)
		if errors.Is(err, errForeignFile) && !moved {
			rerr := os.Rename(f.path, f.path+".foreign")
			unlock()
			if rerr != nil {
				return fmt.Errorf("embedding cache: %w; moving it aside failed: %w", err, rerr)
			}
			clear(f.offs)
			f.size, f.dim = 0, 0
			continue
		}
		if err == nil && fn != nil {
			err = fn(fh)
		}
		unlock()
		return err
	}
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
	return f.withLock(func(fh *os.File) error { return f.append(fh, texts, vecs) })
}

// append writes the records of texts not yet stored at the end of fh.
func (f *cacheFile) append(fh *os.File, texts []string, vecs [][]float32) error {
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
	// Indexed only once on disk: after a failed write the texts are
	// embedded and written again next time, not taken as cached.
	added := map[textKey]int64{}
	last := f.last
	for i, t := range texts {
		k := textKey(sha256.Sum256([]byte(t)))
		if _, ok := f.offs[k]; ok {
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
		added[k] = f.size + written
		written += int64(len(rec))
		last = k
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("embedding cache: write: %w", err)
	}
	if err := fh.Sync(); err != nil {
		return fmt.Errorf("embedding cache: sync: %w", err)
	}
	f.size += written
	f.last = last
	maps.Copy(f.offs, added)
	return nil
}

// endsWithLast reports whether the file still holds, just before f.size,
// the record indexed last.
func (f *cacheFile) endsWithLast(fh *os.File) bool {
	var k textKey
	_, err := fh.ReadAt(k[:], f.size-int64(f.recordLen()))
	return err == nil && k == f.last
}

func (f *cacheFile) recordLen() int { return cacheRecordLen(f.dim) }

func cacheRecordLen(dim int) int { return sha256.Size + 4*dim + 4 }

// cacheHit is a text found in the index: its key and its record's offset.
type cacheHit struct {
	key textKey
	off int64
}

// cacheReadSpan bounds one read of adjacent records: a dataset's texts were
// appended together, so its hits mostly form long runs.
const cacheReadSpan = 1 << 20

// read returns the vectors of hits (in hits' order; repeats allowed) from
// the file, dim values each. A record that is not there whole, or does not
// hold its key or pass its CRC, comes back nil: the file was replaced since
// it was indexed, and the caller embeds that text again. The file is read
// without the lock: records are only ever appended, and a torn tail is never
// in the index.
func (f *cacheFile) read(hits []cacheHit, dim int) ([][]float32, error) {
	out := make([][]float32, len(hits))
	if len(hits) == 0 {
		return out, nil
	}
	fh, err := os.Open(f.path)
	if errors.Is(err, os.ErrNotExist) {
		return out, nil // deleted: every hit is embedded again
	}
	if err != nil {
		return nil, fmt.Errorf("embedding cache: %w", err)
	}
	defer fh.Close()
	order := make([]int, len(hits))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(hits[a].off, hits[b].off) })
	recLen := int64(cacheRecordLen(dim))
	buf := make([]byte, 0, max(cacheReadSpan, recLen))
	flat := make([]float32, len(hits)*dim) // one allocation for all the vectors
	for s := 0; s < len(order); {
		// A run: records that follow each other (or repeat), up to the span.
		start, end := hits[order[s]].off, hits[order[s]].off+recLen
		e := s + 1
		for ; e < len(order); e++ {
			o := hits[order[e]].off
			if o == end-recLen {
				continue
			}
			if o != end || o+recLen-start > int64(cap(buf)) {
				break
			}
			end += recLen
		}
		buf = buf[:end-start]
		n, err := fh.ReadAt(buf, start)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("embedding cache: read %s: %w", f.path, err)
		}
		for _, h := range order[s:e] {
			rel := hits[h].off - start
			v := flat[h*dim : (h+1)*dim : (h+1)*dim]
			if rel+recLen <= int64(n) && decodeRecord(v, buf[rel:rel+recLen], hits[h].key) {
				out[h] = v
			}
		}
		s = e
	}
	return out, nil
}

// decodeRecord fills v with a record's vector; false when the record does
// not hold key or fails its CRC.
func decodeRecord(v []float32, rec []byte, key textKey) bool {
	if !bytes.Equal(rec[:sha256.Size], key[:]) ||
		crc32.Checksum(rec[:len(rec)-4], cacheCRC) != binary.LittleEndian.Uint32(rec[len(rec)-4:]) {
		return false
	}
	b := rec[sha256.Size : sha256.Size+4*len(v)]
	for j := range v {
		v[j] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*j : 4*j+4]))
	}
	return true
}

// refresh indexes what other processes wrote since the last look.
func (f *cacheFile) refresh() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.load()
}

// forget drops hits whose records turned out stale, so add writes them
// again; an entry reindexed since (a new offset) stays.
func (f *cacheFile) forget(stale []cacheHit) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, h := range stale {
		if f.offs[h.key] == h.off {
			delete(f.offs, h.key)
		}
	}
}

// catchUp reads the records appended since f.size and cuts an invalid tail.
// The caller holds the file's exclusive lock.
func (f *cacheFile) catchUp(fh *os.File) error {
	st, err := fh.Stat()
	if err != nil {
		return fmt.Errorf("embedding cache: %w", err)
	}
	end := st.Size()
	if end < f.size || f.size > cacheHeaderLen && !f.endsWithLast(fh) {
		// The file was deleted or replaced (its inode number may be the
		// old one's): the offsets say nothing about the new file. Reindex
		// it; texts it lacks are embedded again.
		clear(f.offs)
		f.size = 0
	}
	if f.size == 0 {
		if end == 0 {
			return nil
		}
		var hdr [cacheHeaderLen]byte
		if _, err := fh.ReadAt(hdr[:], 0); err != nil || oldFormat(hdr[:]) {
			return f.truncate(fh, 0) // a torn header, or an old format: start over
		}
		if string(hdr[:8]) != cacheMagic {
			return fmt.Errorf("embedding cache %s: %w", f.path, errForeignFile)
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
		f.offs[k] = f.size
		f.size += int64(len(rec))
		f.last = k
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

// openLocked opens path for reading and writing (creating the file) and
// takes an exclusive flock on it, waiting for other holders; unlock closes
// the file, which releases the lock. Another process may delete or replace
// the file while this one waits: the lock would then be on a file no one
// else opens, so it is taken again on the file the path names now.
func openLocked(path string) (fh *os.File, unlock func(), err error) {
	for {
		fh, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, nil, fmt.Errorf("embedding cache: %w", err)
		}
		if err := syscall.Flock(int(fh.Fd()), syscall.LOCK_EX); err != nil {
			fh.Close()
			return nil, nil, fmt.Errorf("embedding cache: lock %s: %w", path, err)
		}
		held, err := fh.Stat()
		if err != nil {
			fh.Close()
			return nil, nil, fmt.Errorf("embedding cache: %w", err)
		}
		if now, err := os.Stat(path); err == nil && os.SameFile(held, now) {
			return fh, func() { fh.Close() }, nil
		}
		fh.Close()
	}
}
