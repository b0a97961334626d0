package api

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// archiveDir is a small dataset folder; its name is over 100 bytes, so
// GNU tar stores it in long-name (GNU) or PAX headers, meta entries that
// a cut can fall into too.
var archiveDir = "scifact-" + strings.Repeat("x", 100)

var archiveFiles = map[string]string{
	"corpus.jsonl":    `{"_id":"d1","text":"a cat"}` + "\n",
	"queries.jsonl":   `{"_id":"q1","text":"cat"}` + "\n",
	"qrels/train.tsv": "query-id\tcorpus-id\tscore\nq1\td1\t1\n",
	"qrels/test.tsv":  "query-id\tcorpus-id\tscore\nq1\td1\t1\n" + strings.Repeat("q1\td1\t1\n", 80),
}

// goTar is archiveFiles as Go's archive/tar writes them: two zero blocks
// at the end, no record padding.
func goTar(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, name := range slices.Sorted(maps.Keys(archiveFiles)) {
		body := archiveFiles[name]
		if err := tw.WriteHeader(&tar.Header{Name: archiveDir + "/" + name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body))}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// systemTar is archiveFiles archived by the system's tar with args, or
// skips the test without one.
func systemTar(t *testing.T, args ...string) []byte {
	t.Helper()
	if _, err := exec.LookPath("tar"); err != nil {
		t.Skip("no tar on this system")
	}
	dir := t.TempDir()
	for name, body := range archiveFiles {
		p := filepath.Join(dir, archiveDir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), "x.tar")
	cmd := exec.Command("tar", append(append([]string{"-cf", out}, args...), archiveDir)...)
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tar: %v: %s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	gz.Write(b)
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// tarNames lists a tar's regular files as receiveBundle's first pass does.
func tarNames(t *testing.T, b []byte, gz bool) ([]string, error) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "bundle")
	if gz {
		b = gzipped(t, b)
	}
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return tarEntries{file: file, gzipped: gz, ctx: t.Context(), budget: newExpansionBudget(1<<30, nil)}.names()
}

// endMarker is where a tar's end-of-archive marker starts: the block after
// the last entry (archiveFiles end in text, so in a non-zero byte).
func endMarker(b []byte) int {
	last := bytes.LastIndexFunc(b, func(r rune) bool { return r != 0 })
	return (last + tarBlock) / tarBlock * tarBlock
}

// A tar is read only if it ends with its end-of-archive marker: cut
// anywhere before (on a block boundary too, where archive/tar reports a
// clean end) or inside it, it is refused as truncated rather than read
// with entries missing. Writers that end with one zero block, or pad to a
// 10240-byte record (GNU tar), are read.
func TestBundleTarNeedsItsEnd(t *testing.T) {
	want := make([]string, 0, len(archiveFiles))
	for n := range archiveFiles {
		want = append(want, archiveDir+"/"+n)
	}
	slices.Sort(want)
	for _, tc := range []struct {
		name string
		tar  func(t *testing.T) []byte
		gz   bool
	}{
		{"Go's archive/tar", goTar, false},
		{"Go's archive/tar, gzipped", goTar, true},
		{"GNU tar", func(t *testing.T) []byte { return systemTar(t) }, false},
		{"GNU tar, POSIX format", func(t *testing.T) []byte { return systemTar(t, "--format=posix") }, false},
		{"GNU tar, gzipped", func(t *testing.T) []byte { return systemTar(t) }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			full := tc.tar(t)
			end := endMarker(full)
			for cut := 0; cut <= len(full); cut++ {
				if cut%tarBlock != 0 && cut%tarBlock != 100 && cut != len(full) {
					continue // block boundaries, and a cut inside each block
				}
				names, err := tarNames(t, full[:cut], tc.gz)
				slices.Sort(names)
				// One zero block, or both, and anything after them.
				whole := cut == end+tarBlock || cut >= end+2*tarBlock
				switch {
				case whole && (err != nil || !slices.Equal(names, want)):
					t.Fatalf("cut at %d of %d (marker at %d): %v, %v; want %v", cut, len(full), end, names, err, want)
				case !whole && (err == nil || !strings.Contains(err.Error(), "the archive is truncated")):
					t.Fatalf("cut at %d of %d (marker at %d): %v, %v; want the archive is truncated", cut, len(full), end, names, err)
				}
			}
		})
	}
}

// A sparse entry is refused: its holes read as zeros up to whatever size
// its header claims, and none of it is archive bytes the unpack cap counts.
func TestBundleTarRefusesSparseFiles(t *testing.T) {
	for _, format := range []string{"--format=gnu", "--format=posix"} {
		t.Run(format, func(t *testing.T) {
			if _, err := exec.LookPath("tar"); err != nil {
				t.Skip("no tar on this system")
			}
			dir := t.TempDir()
			hole := filepath.Join(dir, "d", "corpus.jsonl")
			os.MkdirAll(filepath.Dir(hole), 0o755)
			if err := os.WriteFile(hole, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(hole, 64<<20); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, "x.tar")
			cmd := exec.Command("tar", "-S", format, "-cf", out, "d")
			cmd.Dir = dir
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("tar: %v: %s", err, b)
			}
			b, _ := os.ReadFile(out)
			if _, err := tarNames(t, b, false); err == nil || !strings.Contains(err.Error(), "d/corpus.jsonl is a sparse file") {
				t.Fatalf("sparse entry: %v, want it refused", err)
			}
		})
	}
}

// Opening a zip of many entries reads its directory under a budget, so
// what archive/zip holds in memory stays bounded whatever the entry count
// its end record claims; a zip over the entry cap is a 413.
func TestBundleZipEntriesBounded(t *testing.T) {
	for _, tc := range []struct {
		name    string
		entries int
		msg     string
	}{
		{"at the cap", maxBundleEntries, ""},
		{"one over", maxBundleEntries + 1, "the archive holds more than 10000 entries"},
		{"200,000 entries", 200_000, "the zip's directory is over 4 MiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "bundle")
			writeZipOfEmpties(t, file, tc.entries)
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			entries, err := openZip(file)
			runtime.ReadMemStats(&after)
			if entries != nil {
				entries.Close()
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 28<<20 { // ~20 MB for 4 MiB of directory; 47 MB unbounded
				t.Errorf("opening allocated %d MB", alloc>>20)
			}
			var ue *uploadError
			switch {
			case tc.msg == "" && err != nil:
				t.Fatalf("%d entries: %v", tc.entries, err)
			case tc.msg != "" && (!errors.As(err, &ue) || ue.status != http.StatusRequestEntityTooLarge || !strings.Contains(ue.msg, tc.msg)):
				t.Fatalf("%d entries: %v, want a 413 %q", tc.entries, err, tc.msg)
			}
		})
	}
}

func writeZipOfEmpties(t *testing.T, file string, n int) {
	t.Helper()
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	for i := range n {
		if _, err := zw.CreateHeader(&zip.FileHeader{Name: fmt.Sprintf("e/%d", i), Method: zip.Store}); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
}

// A zip must end with its end record: one cut off right after a zip stored
// inside it would otherwise open as the inner zip (found by a probe).
func TestBundleZipMustEndWithItsDirectory(t *testing.T) {
	zipOf := func(files map[string][]byte, method uint16, comment string) []byte {
		var b bytes.Buffer
		zw := zip.NewWriter(&b)
		for _, name := range slices.Sorted(maps.Keys(files)) {
			w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: method})
			if err != nil {
				t.Fatal(err)
			}
			w.Write(files[name])
		}
		zw.SetComment(comment)
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	dataset := map[string][]byte{}
	for name, body := range archiveFiles {
		dataset[name] = []byte(body)
	}
	inner := zipOf(dataset, zip.Deflate, "")
	outer := zipOf(map[string][]byte{"README": []byte("see inner.zip"), "inner.zip": inner}, zip.Store, "")
	cut := bytes.Index(outer, inner) + len(inner)
	dir := t.TempDir()
	for _, tt := range []struct {
		name    string
		body    []byte
		wantErr string
	}{
		{"whole", outer, ""},
		{"with a comment", zipOf(dataset, zip.Deflate, "made by hand PK\x05\x06"), ""},
		{"cut after the inner zip", outer[:cut], "the zip is not whole"},
		{"bytes appended", append(slices.Clone(inner), "trailing"...), "the zip is not whole"},
		{"bytes prepended", append([]byte("prefix"), inner...), "the zip is not whole"},
		// Here archive/zip finds the stored inner zip's end record too.
		{"cut in its directory", outer[:len(outer)-30], "the zip is not whole"},
		{"cut in its end record", outer[:len(outer)-10], "the zip is not whole"},
	} {
		file := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".zip")
		if err := os.WriteFile(file, tt.body, 0o644); err != nil {
			t.Fatal(err)
		}
		entries, err := openZip(file)
		if entries != nil {
			entries.Close()
		}
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: %v, want %q", tt.name, err, tt.wantErr)
		}
	}
}

// Found by a security review: bundles unpacking side by side each had the
// whole cap. The pool refuses bytes past its limit across budgets, with a
// 503, and an upload gives back what it took when it ends.
func TestUnpackPoolBoundsBundlesTogether(t *testing.T) {
	pool := &unpackPool{limit: 100}
	a, b := newExpansionBudget(80, pool), newExpansionBudget(80, pool)
	if n, err := io.Copy(io.Discard, a.pooled(strings.NewReader(strings.Repeat("a", 60)))); err != nil || n != 60 {
		t.Fatalf("first bundle: %d, %v", n, err)
	}
	_, err := io.Copy(io.Discard, b.pooled(strings.NewReader(strings.Repeat("b", 60))))
	var ue *uploadError
	if !errors.As(err, &ue) || ue.status != http.StatusServiceUnavailable {
		t.Fatalf("second bundle past the pool: %v, want a 503", err)
	}
	a.giveBack()
	b.giveBack()
	if got := pool.used.Load(); got != 0 {
		t.Fatalf("%d bytes still held after both gave back", got)
	}
	c := newExpansionBudget(80, pool)
	if _, err := io.Copy(io.Discard, c.pooled(strings.NewReader(strings.Repeat("c", 60)))); err != nil {
		t.Fatalf("a bundle after the others ended: %v", err)
	}
	up := &upload{budget: c}
	up.done()
	if got := pool.used.Load(); got != 0 {
		t.Fatalf("%d bytes held after the upload ended", got)
	}
}
