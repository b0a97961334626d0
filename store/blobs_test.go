package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

func bytesReader(s string) io.Reader { return strings.NewReader(s) }

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestWriteFileAtomic(t *testing.T) {
	big := make([]byte, 3*copyBufSize+17) // spans several copy buffers
	rand.NewChaCha8([32]byte{1}).Read(big)
	for _, tc := range []struct {
		name    string
		content []byte
	}{
		{"empty", nil},
		{"small", []byte("hello\n")},
		{"multi-buffer", big},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "a", "b") // parents created on demand
			path := filepath.Join(dir, "corpus.jsonl")
			n, sum, err := WriteFileAtomic(path, bytes.NewReader(tc.content))
			if err != nil {
				t.Fatal(err)
			}
			want := sha256.Sum256(tc.content)
			if n != int64(len(tc.content)) || sum != hex.EncodeToString(want[:]) {
				t.Errorf("WriteFileAtomic = %d, %s; want %d, %x", n, sum, len(tc.content), want)
			}
			if got, _ := os.ReadFile(path); !bytes.Equal(got, tc.content) {
				t.Errorf("file holds %d bytes, not the %d written", len(got), len(tc.content))
			}
			if names := dirNames(t, dir); !slices.Equal(names, []string{"corpus.jsonl"}) {
				t.Errorf("directory holds %v, want only corpus.jsonl (no temp file)", names)
			}
		})
	}
}

func TestWriteFileAtomicReplaces(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	for _, content := range []string{"first version", "second"} {
		if _, _, err := WriteFileAtomic(path, bytesReader(content)); err != nil {
			t.Fatal(err)
		}
		if got := readFile(t, path); got != content {
			t.Errorf("file = %q, want %q", got, content)
		}
	}
}

// failingReader yields some data, then fails, as an upload does when the
// client disconnects.
type failingReader struct{ sent bool }

var errDisconnected = errors.New("client disconnected")

func (r *failingReader) Read(p []byte) (int, error) {
	if !r.sent {
		r.sent = true
		return copy(p, "partial data"), nil
	}
	return 0, errDisconnected
}

func TestWriteFileAtomicFailureKeepsOldFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	if _, _, err := WriteFileAtomic(path, bytesReader("old")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := WriteFileAtomic(path, &failingReader{}); !errors.Is(err, errDisconnected) {
		t.Fatalf("err = %v, want the reader's error", err)
	}
	if got := readFile(t, path); got != "old" {
		t.Errorf("file = %q after failed write, want %q", got, "old")
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{"f"}) {
		t.Errorf("directory holds %v, want only f (temp file removed)", names)
	}
}

func TestWriteFileAtomicRejectsDirPath(t *testing.T) {
	for _, path := range []string{"", "/", "."} {
		if _, _, err := WriteFileAtomic(path, bytesReader("x")); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("WriteFileAtomic(%q): err = %v, want ErrInvalidArgument", path, err)
		}
	}
}

// TestWriteFileAtomicStreams checks that a large upload is not buffered in
// memory: writing 64 MiB may allocate little more than the copy buffer.
func TestWriteFileAtomicStreams(t *testing.T) {
	const size = 64 << 20
	path := filepath.Join(t.TempDir(), "big")
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	n, _, err := WriteFileAtomic(path, io.LimitReader(zeros{}, size))
	runtime.ReadMemStats(&after)
	if err != nil || n != size {
		t.Fatalf("WriteFileAtomic = %d, %v", n, err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
		t.Errorf("writing %d MiB allocated %d MiB; the upload is being buffered", size>>20, alloc>>20)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestDir(t *testing.T) {
	s := openTest(t)
	ds, job, head, col := NewID(PrefixDataset), NewID(PrefixJob), NewID(PrefixHead), NewID(PrefixCollection)
	for _, tc := range []struct {
		kind, id string
		wantErr  error
	}{
		{KindDatasets, ds, nil},
		{KindJobs, job, nil},
		{KindHeads, head, nil},
		{KindCollections, col, nil},
		{KindCache, "glove-100d_" + ds, nil},
		{KindCache, strings.Repeat("0f", 32), nil}, // a sha256
		{KindHeads, ds, ErrInvalidID},              // wrong prefix for the kind
		{KindDatasets, "../" + ds, ErrInvalidID},
		{KindDatasets, "", ErrInvalidID},
		{KindCache, "", ErrInvalidID},
		{KindCache, "..", ErrInvalidID},
		{KindCache, "../x", ErrInvalidID},
		{KindCache, "a/b", ErrInvalidID},
		{KindCache, ".hidden", ErrInvalidID},
		{KindCache, "Upper", ErrInvalidID},
		{KindCache, strings.Repeat("a", 129), ErrInvalidID},
		{"", ds, ErrInvalidArgument},
		{"../datasets", ds, ErrInvalidArgument},
		{"tmp", ds, ErrInvalidArgument},
	} {
		got, err := s.Dir(tc.kind, tc.id)
		if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
			t.Errorf("Dir(%q, %q): err = %v, want %v", tc.kind, tc.id, err, tc.wantErr)
			continue
		}
		if err == nil && got != filepath.Join(s.DataDir(), tc.kind, tc.id) {
			t.Errorf("Dir(%q, %q) = %q", tc.kind, tc.id, got)
		}
	}
}

func TestRemoveDir(t *testing.T) {
	s := openTest(t)
	id := NewID(PrefixDataset)
	dir, err := s.Dir(KindDatasets, id)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := WriteFileAtomic(filepath.Join(dir, "sub", "corpus.jsonl"), bytesReader("x")); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveDir(KindDatasets, id); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Stat after RemoveDir: %v, want not exist", err)
	}
	if names := dirNames(t, filepath.Dir(dir)); len(names) != 0 {
		t.Errorf("datasets dir holds %v after RemoveDir, want nothing (no trash left)", names)
	}
	if err := s.RemoveDir(KindDatasets, id); err != nil {
		t.Errorf("RemoveDir of a missing dir: %v, want nil", err)
	}
}

// TestOpenSweepsTrash simulates crashes between RemoveDir's rename and its
// deletion, in the middle of atomic writes (their temporary files), and
// during a scratch folder's use: the next Open removes all of it and leaves
// live files alone.
func TestOpenSweepsTrash(t *testing.T) {
	dir := t.TempDir()
	s := openAt(t, dir)
	live, err := s.Dir(KindHeads, NewID(PrefixHead))
	if err != nil {
		t.Fatal(err)
	}
	trash := filepath.Join(dir, KindHeads, trashPrefix+"head-x")
	for _, d := range []string{live, trash} {
		if _, _, err := WriteFileAtomic(filepath.Join(d, "w.bin"), bytesReader("w")); err != nil {
			t.Fatal(err)
		}
	}
	temps := []string{filepath.Join(live, ".w.bin.tmp-123"), filepath.Join(dir, KindCollections, "col-x", "sub", ".docs.jsonl.tmp-9")}
	for _, p := range temps {
		os.MkdirAll(filepath.Dir(p), 0o750)
		os.WriteFile(p, []byte("partial"), 0o640)
	}
	// In the cache folders, which `retune train` writes without the data
	// folder's lock, only day-old temporary files are a crash's leftovers.
	oldCacheTemp := filepath.Join(dir, KindCache, "llm", ".reply.json.tmp-1")
	newCacheTemp := filepath.Join(dir, KindCache, "llm", ".reply.json.tmp-2")
	for _, p := range []string{oldCacheTemp, newCacheTemp} {
		os.MkdirAll(filepath.Dir(p), 0o750)
		os.WriteFile(p, []byte("partial"), 0o640)
	}
	dayAgo := time.Now().Add(-25 * time.Hour)
	if err := os.Chtimes(oldCacheTemp, dayAgo, dayAgo); err != nil {
		t.Fatal(err)
	}
	scratch, err := s.TempDir("export-*")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(scratch, "model.onnx"), []byte("big"), 0o640)
	s.Close()
	openAt(t, dir)
	for _, p := range append(temps, trash, scratch, oldCacheTemp) {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s survived Open: %v", p, err)
		}
	}
	if _, err := os.Stat(newCacheTemp); err != nil {
		t.Errorf("a cache write maybe still in progress was removed: %v", err)
	}
	if got := readFile(t, filepath.Join(live, "w.bin")); got != "w" {
		t.Errorf("live dir damaged by sweep: %q", got)
	}
}
