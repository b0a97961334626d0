package memroom

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
)

func TestRoomTakesTheTighterBound(t *testing.T) {
	const gib = 1 << 30
	cases := []struct {
		name       string
		avail      uint64
		haveAvail  bool
		limit, rss uint64
		haveLimit  bool
		free       uint64
		want       uint64
		wantOK     bool
	}{
		{"machine only", 10 * gib, true, 0, 0, false, 1 * gib, 11 * gib, true},
		{"cgroup tighter", 10 * gib, true, 4 * gib, 3 * gib, true, 1 * gib, 2 * gib, true},
		{"machine tighter", 1 * gib, true, 8 * gib, 1 * gib, true, 0, 1 * gib, true},
		{"over the cgroup limit", 10 * gib, true, 2 * gib, 3 * gib, true, 0, 0, true},
		{"cgroup only", 0, false, 4 * gib, 1 * gib, true, 0, 3 * gib, true},
		{"nothing known", 0, false, 0, 0, false, 5, 0, false},
	}
	for _, tc := range cases {
		got, ok := room(tc.avail, tc.haveAvail, tc.limit, tc.rss, tc.haveLimit, tc.free)
		if got != tc.want || ok != tc.wantOK {
			t.Errorf("%s: room = %d, %v; want %d, %v", tc.name, got, ok, tc.want, tc.wantOK)
		}
	}
}

func TestParseMeminfo(t *testing.T) {
	raw := []byte("MemTotal:       24683620 kB\nMemFree:         1000 kB\nMemAvailable:   23850324 kB\n")
	if got, ok := parseMeminfo(raw, "MemAvailable:"); !ok || got != 23850324<<10 {
		t.Fatalf("MemAvailable = %d, %v", got, ok)
	}
	if _, ok := parseMeminfo(raw, "SwapTotal:"); ok {
		t.Fatal("a missing key was found")
	}
}

// On Linux both readings exist, and room is below the machine's total.
func TestRoomOnThisMachine(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	r, ok := Room()
	total, tok := Total()
	if !ok || !tok || r == 0 || r > total {
		t.Fatalf("Room = %d, %v; Total = %d, %v", r, ok, total, tok)
	}
}

func TestSize(t *testing.T) {
	for _, c := range []struct {
		n    uint64
		want string
	}{
		{0, "0 KiB"}, {1536, "2 KiB"}, {1 << 20, "1.0 MiB"}, {5<<20 + 1<<19, "5.5 MiB"},
		{300 << 20, "300 MiB"}, {3<<30 + 1<<29, "3.5 GiB"},
	} {
		if got := Size(c.n); got != c.want {
			t.Errorf("Size(%d) = %q, want %q", c.n, got, c.want)
		}
	}
}

// A file mapped and read (as onnxruntime maps glove-100d's table) is
// resident but reclaimable: it is not counted against a cgroup's limit.
func TestResidentSetLeavesOutMappedFiles(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	const size = 64 << 20
	path := filepath.Join(t.TempDir(), "table")
	if err := os.WriteFile(path, bytes.Repeat([]byte{1}, size), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	before, ok := residentSet()
	if !ok {
		t.Fatal("no resident set")
	}
	m, err := syscall.Mmap(int(f.Fd()), 0, size, syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(m)
	sum := 0
	for i := 0; i < size; i += os.Getpagesize() {
		sum += int(m[i]) // every page resident
	}
	after, _ := residentSet()
	if sum != size/os.Getpagesize() || after > before+size/4 {
		t.Fatalf("resident set grew by %d bytes for a %d-byte mapped file", int64(after)-int64(before), size)
	}
}
