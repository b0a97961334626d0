package index

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"math"
	"os"
	"path/filepath"
)

// LoadCollection reads a folder written by Save, verifying the format
// version (ErrFormatVersion), the manifest's consistency, each data file's
// size and sha256, and the documents and vectors themselves (ErrCorrupt for
// all of these), then rebuilds the BM25 index with the saved parameters.
func LoadCollection(ctx context.Context, dir string) (*Collection, error) {
	fail := func(err error) (*Collection, error) {
		return nil, fmt.Errorf("index: load collection %s: %w", dir, err)
	}
	m, err := readManifest(dir)
	if err != nil {
		return fail(err)
	}

	ids, texts, err := readDocs(ctx, dir, m)
	if err != nil {
		return fail(err)
	}
	flat, err := readVectors(ctx, dir, m)
	if err != nil {
		return fail(err)
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	opts := []BM25Option{WithK1(m.BM25.K1), WithB(m.BM25.B), WithStopWords(m.BM25.StopWords)}
	c, err := newCollection(ids, texts, flat, m.Dim, opts)
	if err != nil {
		// The checksums matched, so the files are as written; only a
		// hand-made or hand-edited folder gets here.
		return fail(corrupt(err, "documents and vectors do not fit together"))
	}
	return c, nil
}

// readManifest reads dir's manifest and verifies its format version
// (ErrFormatVersion) and what it claims (ErrCorrupt), before any data file
// is read.
func readManifest(dir string) (manifest, error) {
	var m manifest
	js, err := os.ReadFile(filepath.Join(dir, manifestName))
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(js, &m); err != nil {
		return m, corrupt(err, "%s", manifestName)
	}
	if m.FormatVersion != CollectionFormatVersion {
		return m, fmt.Errorf("%w %d in %s (this build reads %d)", ErrFormatVersion, m.FormatVersion, manifestName, CollectionFormatVersion)
	}
	if err := m.check(); err != nil {
		return m, corrupt(err, "%s", manifestName)
	}
	return m, nil
}

// check verifies what the manifest claims before any data file is read, so
// that a damaged manifest cannot make the loader allocate absurd sizes.
func (m *manifest) check() error {
	if m.Docs < 1 || m.Dim < 1 {
		return fmt.Errorf("docs=%d and dim=%d must be positive", m.Docs, m.Dim)
	}
	if m.VectorsDType != vectorsDType {
		return fmt.Errorf("vectors_dtype %q is not supported (want %q)", m.VectorsDType, vectorsDType)
	}
	if m.DocsFile.Name != docsName || m.VectorsFile.Name != vectorsName {
		return fmt.Errorf("data files are %q and %q, want %q and %q", m.DocsFile.Name, m.VectorsFile.Name, docsName, vectorsName)
	}
	if m.Docs > math.MaxInt32 || m.Dim > math.MaxInt32/4 || int64(m.Docs)*int64(m.Dim) > math.MaxInt64/4 {
		return fmt.Errorf("docs=%d × dim=%d is too large", m.Docs, m.Dim)
	}
	if want := 4 * int64(m.Docs) * int64(m.Dim); m.VectorsFile.Bytes != want {
		return fmt.Errorf("%s is recorded as %d bytes, but %d × %d float32 need %d", vectorsName, m.VectorsFile.Bytes, m.Docs, m.Dim, want)
	}
	return nil
}

// openChecked opens a data file after comparing its size with the manifest,
// the cheapest way to catch a truncated or replaced file.
func openChecked(dir string, want fileSum) (*os.File, error) {
	f, err := os.Open(filepath.Join(dir, want.Name))
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil {
		err = checkSize(fi, want)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// checkSize compares a data file's size with the manifest's.
func checkSize(fi os.FileInfo, want fileSum) error {
	if fi.Size() != want.Bytes {
		return corrupt(nil, "%s has %d bytes, manifest says %d", want.Name, fi.Size(), want.Bytes)
	}
	return nil
}

// verifySum compares a finished hash with the manifest's.
func verifySum(h hash.Hash, want fileSum) error {
	if got := hex.EncodeToString(h.Sum(nil)); got != want.SHA256 {
		return corrupt(nil, "%s has sha256 %s, manifest says %s", want.Name, got, want.SHA256)
	}
	return nil
}

// readVectors decodes vectors.bin into one flat slice while hashing it.
func readVectors(ctx context.Context, dir string, m manifest) ([]float32, error) {
	f, err := openChecked(dir, m.VectorsFile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	flat := make([]float32, m.Docs*m.Dim)
	const chunk = 1 << 14 // floats per read
	buf := make([]byte, 4*chunk)
	for lo := 0; lo < len(flat); lo += chunk {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		part := flat[lo:min(lo+chunk, len(flat))]
		raw := buf[:4*len(part)]
		if _, err := io.ReadFull(f, raw); err != nil {
			// The size was checked, so this is a file changing under us.
			return nil, corrupt(err, "read %s", m.VectorsFile.Name)
		}
		h.Write(raw)
		for i := range part {
			part[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
	}
	if err := verifySum(h, m.VectorsFile); err != nil {
		return nil, err
	}
	return flat, nil
}
