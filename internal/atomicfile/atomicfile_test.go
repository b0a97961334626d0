package atomicfile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
)

// dirNames lists dir, sorted, to check that no temporary file is left.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	d, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	return names
}

func checkFile(t *testing.T, path string, want []byte, perm os.FileMode) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("file holds %d bytes %.20q, want %d bytes %.20q", len(got), got, len(want), want)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != perm {
		t.Errorf("mode %v, want %v", fi.Mode().Perm(), perm)
	}
	if names := dirNames(t, filepath.Dir(path)); !slices.Equal(names, []string{filepath.Base(path)}) {
		t.Errorf("folder holds %v, want only %s (no temporary file)", names, filepath.Base(path))
	}
}

// writers are the three ways to write, all of which must behave the same.
var writers = []struct {
	name  string
	write func(path string, data []byte, perm os.FileMode) error
}{
	{"Write", func(path string, data []byte, perm os.FileMode) error {
		return Write(path, perm, func(w io.Writer) error {
			// Small pieces, as an encoder writes, to exercise the buffer.
			for chunk := range slices.Chunk(data, 1000) {
				if _, err := w.Write(chunk); err != nil {
					return err
				}
			}
			return nil
		})
	}},
	{"WriteContext", func(path string, data []byte, perm os.FileMode) error {
		return WriteContext(context.Background(), path, perm, func(w io.Writer) error {
			_, err := io.Copy(w, bytes.NewReader(data))
			return err
		})
	}},
	{"WriteFile", WriteFile},
}

func TestWrite(t *testing.T) {
	big := make([]byte, 3*bufSize+17) // spans several buffers
	for i := range big {
		big[i] = byte(i % 251) // a period prime to the buffer size
	}
	for _, w := range writers {
		for _, tc := range []struct {
			name string
			old  []byte // existing file content; nil means none
			data []byte
			perm os.FileMode
		}{
			{name: "new empty file", data: nil, perm: 0o644},
			{name: "new small file", data: []byte("hello\n"), perm: 0o600},
			{name: "new executable", data: []byte("#!/bin/sh\n"), perm: 0o755},
			{name: "multi-buffer file", data: big, perm: 0o644},
			{name: "replace longer file", old: []byte("a much longer old version"), data: []byte("new"), perm: 0o644},
			{name: "replace and change mode", old: []byte("old"), data: []byte("new"), perm: 0o600},
		} {
			t.Run(w.name+"/"+tc.name, func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "f.json")
				if tc.old != nil {
					if err := os.WriteFile(path, tc.old, 0o666); err != nil {
						t.Fatal(err)
					}
				}
				if err := w.write(path, tc.data, tc.perm); err != nil {
					t.Fatal(err)
				}
				checkFile(t, path, tc.data, tc.perm)
			})
		}
	}
}

func TestWriteFailureKeepsOldFile(t *testing.T) {
	errFill := errors.New("fill failed")
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	// midway is cancelled by fill itself: a cancel racing the write, caught
	// only by the check before the rename.
	midway, cancelMidway := context.WithCancel(context.Background())
	defer cancelMidway()
	for _, tc := range []struct {
		name    string
		ctx     context.Context
		fill    func(io.Writer) error
		wantErr error // nil: only that it fails
	}{
		{
			name:    "fill fails before writing",
			ctx:     context.Background(),
			fill:    func(io.Writer) error { return errFill },
			wantErr: errFill,
		},
		{
			name: "fill fails after writing more than a buffer",
			ctx:  context.Background(),
			fill: func(w io.Writer) error {
				if _, err := w.Write(make([]byte, 2*bufSize)); err != nil {
					return err
				}
				return errFill
			},
			wantErr: errFill,
		},
		{
			name: "fill panics",
			ctx:  context.Background(),
			fill: func(w io.Writer) error {
				fmt.Fprint(w, "partial")
				panic("boom")
			},
		},
		{
			name:    "context done",
			ctx:     cancelled,
			fill:    func(w io.Writer) error { _, err := fmt.Fprint(w, "new"); return err },
			wantErr: context.Canceled,
		},
		{
			name: "context done while filling",
			ctx:  midway,
			fill: func(w io.Writer) error {
				cancelMidway()
				_, err := fmt.Fprint(w, "new")
				return err
			},
			wantErr: context.Canceled,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "f")
			if err := WriteFile(path, []byte("old"), 0o640); err != nil {
				t.Fatal(err)
			}
			err := func() (err error) {
				defer func() {
					if p := recover(); p != nil {
						err = fmt.Errorf("panic: %v", p)
					}
				}()
				return WriteContext(tc.ctx, path, 0o600, tc.fill)
			}()
			if err == nil || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if errors.Is(err, ErrSyncDir) {
				t.Errorf("err = %v, wrongly marked as a folder sync failure", err)
			}
			checkFile(t, path, []byte("old"), 0o640)
		})
	}
}

func TestWriteErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		path string
	}{
		{"missing folder", filepath.Join(dir, "missing", "f")},
		{"folder in the way", dir},
		{"parent is a file", filepath.Join(dir, "file", "f")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(filepath.Join(dir, "file"), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := WriteFile(tc.path, []byte("new"), 0o644); err == nil {
				t.Fatalf("WriteFile(%s) succeeded", tc.path)
			}
			if names := dirNames(t, dir); !slices.Equal(names, []string{"file"}) {
				t.Errorf("folder holds %v after a failed write, want only file", names)
			}
		})
	}
}

// TestConcurrentWriters checks that writers racing on one path leave one
// complete version, never a mix or a prefix, and no temporary files.
func TestConcurrentWriters(t *testing.T) {
	const writers, size = 8, 3 * bufSize / 2
	path := filepath.Join(t.TempDir(), "f")
	versions := make([][]byte, writers)
	for i := range versions {
		versions[i] = bytes.Repeat([]byte{byte('a' + i)}, size)
	}
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for i := range writers {
		wg.Go(func() {
			for range 3 {
				errs[i] = Write(path, 0o644, func(w io.Writer) error {
					for chunk := range slices.Chunk(versions[i], 4096) {
						if _, err := w.Write(chunk); err != nil {
							return err
						}
					}
					return nil
				})
				if errs[i] != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(versions, func(v []byte) bool { return bytes.Equal(v, got) }) {
		t.Errorf("file (%d bytes, starting %.10q) is none of the written versions", len(got), got)
	}
	checkFile(t, path, got, 0o644)
}

func TestMkdirAllSync(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		dir     string
		wantErr bool
	}{
		{"existing folder", root, false},
		{"new nested folders", filepath.Join(root, "a", "b", "c"), false},
		{"unclean path", root + "/x/../y/", false},
		{"file in the way", filepath.Join(root, "file"), true},
		{"file as a parent", filepath.Join(root, "file", "sub"), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := MkdirAllSync(tc.dir, 0o750)
			if (err != nil) != tc.wantErr {
				t.Fatalf("MkdirAllSync(%s) = %v, want error %v", tc.dir, err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			fi, err := os.Stat(filepath.Clean(tc.dir))
			if err != nil || !fi.IsDir() {
				t.Fatalf("Stat(%s) = %v, %v; want a folder", tc.dir, fi, err)
			}
		})
	}
}

func TestSyncDir(t *testing.T) {
	dir := t.TempDir()
	if err := SyncDir(dir); err != nil {
		t.Errorf("SyncDir(existing) = %v", err)
	}
	if err := SyncDir(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("SyncDir(missing) = %v, want not exist", err)
	}
}

// RemoveMade removes the folder made and its new parents left empty, not a
// parent something else has filled meanwhile, nor a folder that existed.
func TestRemoveMade(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "a", "b", "c")
	first, err := FirstMissing(dir)
	if err != nil || first != filepath.Join(root, "a") {
		t.Fatalf("FirstMissing = %q, %v", first, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644)
	os.Mkdir(filepath.Join(root, "a", "other"), 0o755) // another process's
	RemoveMade(dir, first)
	if _, err := os.Stat(filepath.Join(root, "a", "b")); !os.IsNotExist(err) {
		t.Errorf("a/b survived: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "a", "other")); err != nil {
		t.Errorf("a/other, made by another, went: %v", err)
	}
	RemoveMade(root, "") // existed before: left alone
	if _, err := os.Stat(root); err != nil {
		t.Errorf("a folder that existed went: %v", err)
	}
}

// TempTarget recovers the replaced file's name from write's temporaries
// and refuses other names.
func TestTempTarget(t *testing.T) {
	for _, tc := range []struct {
		name, target string
		ok           bool
	}{
		{".embeddings-ab.bin.tmp-123", "embeddings-ab.bin", true},
		{".head.json.tmp-9", "head.json", true},
		{"embeddings-ab.bin.tmp-123", "", false}, // no leading dot: not write's
		{".hidden", "", false},
		{"head.json", "", false},
	} {
		target, ok := TempTarget(tc.name)
		if target != tc.target || ok != tc.ok || IsTemp(tc.name) != tc.ok {
			t.Errorf("TempTarget(%q) = %q, %v; want %q, %v", tc.name, target, ok, tc.target, tc.ok)
		}
	}
}
