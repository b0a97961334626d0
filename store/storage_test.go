package store

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A database SQLite can only read fails checkWritable, which Open runs, with
// the reason; StorageProblem names it and the disk errors, and nothing else.
func TestStorageProblem(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ro, err := openDB(t.Context(), filepath.Join(dir, dbFile), url.Values{"mode": {"ro"}})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	err = checkWritable(t.Context(), ro)
	if err == nil || !strings.Contains(err.Error(), "the server's database is read-only") {
		t.Fatalf("checkWritable on a read-only database: %v", err)
	}

	tests := []struct {
		err  error
		want string
	}{
		{err, "the server's database is read-only"},
		{fmt.Errorf("embedding cache: %w", &fs.PathError{Op: "write", Path: "/x", Err: syscall.ENOSPC}), "the server's disk is full"},
		{&fs.PathError{Op: "open", Path: "/x", Err: syscall.EROFS}, "read-only file system"},
		{&fs.PathError{Op: "mkdir", Path: "/x", Err: syscall.EACCES}, "may not write a file or folder it keeps (permission denied)"},
		{&os.LinkError{Op: "rename", Old: "/a", New: "/b", Err: syscall.EPERM}, "permission denied"},
		// A socket a firewall refuses is no storage problem.
		{fmt.Errorf("llm: %w", &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.EPERM)}), ""},
		{&fs.PathError{Op: "open", Path: "/x", Err: syscall.ENOENT}, ""},
		{errors.New("no space left on device"), ""}, // text alone proves nothing
		{ErrConflict, ""},
	}
	for _, tt := range tests {
		if got := StorageProblem(tt.err); !strings.Contains(got, tt.want) || (tt.want == "") != (got == "") {
			t.Errorf("StorageProblem(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
