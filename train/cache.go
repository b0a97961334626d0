package train

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sync"
)

// Embedder is what the cache needs from an encoder: embeddings and an
// identity that changes whenever its outputs could.
type Embedder interface {
	Embed(ctx context.Context, texts []string) ([][]float32, error)
	Checksum() (string, error)
}

// Cache persists base-encoder embeddings on disk, keyed by (encoder checksum,
// sha256 of the text), so every text is embedded once per encoder across runs,
// jobs and restarts. One append-only file per encoder: a crash can only leave
// a partial last record, which loading drops.
type Cache struct {
	dir   string
	mu    sync.Mutex
	files map[string]*cacheFile
}

// NewCache keeps its files in dir (created on first write).
func NewCache(dir string) *Cache { return &Cache{dir: dir, files: map[string]*cacheFile{}} }

type textKey [sha256.Size]byte

type cacheFile struct {
	mu   sync.Mutex
	path string
	dim  int
	vecs map[textKey][]float32
}

const cacheMagic = "RTEMB001"

// Embed returns embeddings for texts, running the encoder only on texts it
// has never seen. Hits and misses are reported for progress and tests.
func (c *Cache) Embed(ctx context.Context, enc Embedder, texts []string) ([][]float32, CacheStats, error) {
	sum, err := enc.Checksum()
	if err != nil {
		return nil, CacheStats{}, err
	}
	f, err := c.file(sum)
	if err != nil {
		return nil, CacheStats{}, err
	}
	out := make([][]float32, len(texts))
	keys := make([]textKey, len(texts))
	var missTexts []string
	var missIdx []int
	seen := map[textKey]int{}
	f.mu.Lock()
	for i, t := range texts {
		keys[i] = sha256.Sum256([]byte(t))
		if v, ok := f.vecs[keys[i]]; ok {
			out[i] = v
			continue
		}
		if _, dup := seen[keys[i]]; !dup {
			seen[keys[i]] = len(missTexts)
			missTexts = append(missTexts, t)
		}
		missIdx = append(missIdx, i)
	}
	f.mu.Unlock()
	st := CacheStats{Hits: len(texts) - len(missIdx), Misses: len(missTexts)}
	if len(missTexts) == 0 {
		return out, st, nil
	}
	vecs, err := enc.Embed(ctx, missTexts)
	if err != nil {
		return nil, st, err
	}
	if err := f.add(missTexts, vecs); err != nil {
		return nil, st, err
	}
	for _, i := range missIdx {
		out[i] = vecs[seen[keys[i]]]
	}
	return out, st, nil
}

// CacheStats counts texts served from disk vs embedded now.
type CacheStats struct{ Hits, Misses int }

func (c *Cache) file(checksum string) (*cacheFile, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f, ok := c.files[checksum]; ok {
		return f, nil
	}
	f := &cacheFile{path: filepath.Join(c.dir, "embeddings-"+checksum[:min(32, len(checksum))]+".bin"), vecs: map[textKey][]float32{}}
	if err := f.load(); err != nil {
		return nil, err
	}
	c.files[checksum] = f
	return f, nil
}

func (f *cacheFile) load() error {
	fh, err := os.Open(f.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("embedding cache: %w", err)
	}
	defer fh.Close()
	r := bufio.NewReaderSize(fh, 1<<20)
	var hdr [12]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil || string(hdr[:8]) != cacheMagic {
		return fmt.Errorf("embedding cache %s: not a retune cache file (delete it to rebuild)", f.path)
	}
	f.dim = int(binary.LittleEndian.Uint32(hdr[8:]))
	rec := make([]byte, sha256.Size+4*f.dim)
	good := int64(len(hdr))
	for {
		if _, err := io.ReadFull(r, rec); err != nil {
			break // EOF, or a partial record from an interrupted write: dropped
		}
		var k textKey
		copy(k[:], rec)
		v := make([]float32, f.dim)
		for j := range v {
			v[j] = math.Float32frombits(binary.LittleEndian.Uint32(rec[sha256.Size+4*j:]))
		}
		f.vecs[k] = v
		good += int64(len(rec))
	}
	// Cut a torn tail so later appends stay aligned.
	if st, err := fh.Stat(); err == nil && st.Size() != good {
		if err := os.Truncate(f.path, good); err != nil {
			return fmt.Errorf("embedding cache: repair %s: %w", f.path, err)
		}
	}
	return nil
}

// add appends new embeddings and fsyncs, so a completed stage survives a crash.
func (f *cacheFile) add(texts []string, vecs [][]float32) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(vecs) == 0 {
		return nil
	}
	if f.dim == 0 {
		f.dim = len(vecs[0])
	}
	if err := os.MkdirAll(filepath.Dir(f.path), 0o755); err != nil {
		return fmt.Errorf("embedding cache: %w", err)
	}
	fh, err := os.OpenFile(f.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("embedding cache: %w", err)
	}
	defer fh.Close()
	w := bufio.NewWriterSize(fh, 1<<20)
	if st, err := fh.Stat(); err == nil && st.Size() == 0 {
		var hdr [12]byte
		copy(hdr[:], cacheMagic)
		binary.LittleEndian.PutUint32(hdr[8:], uint32(f.dim))
		w.Write(hdr[:])
	}
	buf := make([]byte, 4*f.dim)
	for i, t := range texts {
		if len(vecs[i]) != f.dim {
			return fmt.Errorf("embedding cache: dim %d, cache holds %d", len(vecs[i]), f.dim)
		}
		k := textKey(sha256.Sum256([]byte(t)))
		if _, ok := f.vecs[k]; ok {
			continue // a concurrent caller stored it first
		}
		for j, x := range vecs[i] {
			binary.LittleEndian.PutUint32(buf[4*j:], math.Float32bits(x))
		}
		w.Write(k[:])
		w.Write(buf)
		f.vecs[k] = vecs[i]
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("embedding cache: write: %w", err)
	}
	if err := fh.Sync(); err != nil {
		return fmt.Errorf("embedding cache: sync: %w", err)
	}
	return nil
}
