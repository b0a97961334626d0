// Package memroom tells how much memory a run may still take, so that a job
// too large for the machine is refused with a message instead of running
// until the kernel kills the whole server.
package memroom

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime/metrics"
	"strconv"
	"strings"

	"github.com/KimMachineGun/automemlimit/memlimit"
)

// Limit reads the memory this process may use at most: its cgroup's
// limit, else the machine's RAM. retune derives its GOMEMLIMIT from it.
var Limit = memlimit.ApplyFallback(memlimit.FromCgroup, memlimit.FromSystem)

// Total is Limit, with ok false where it cannot be read.
func Total() (uint64, bool) {
	n, err := Limit()
	return n, err == nil && n > 0
}

// Room is the memory this process can still take: the machine's
// MemAvailable, and under a cgroup limit what the limit leaves beside this
// process's resident memory that cannot be reclaimed (see residentSet),
// whichever is less; heap the Go runtime holds
// free counts as room in both. ok is false where neither is known (not
// Linux).
func Room() (bytes uint64, ok bool) {
	avail, haveAvail := memAvailable()
	var limit, rss uint64
	var haveLimit bool
	if n, err := memlimit.FromCgroup(); err == nil && n > 0 {
		limit, haveLimit = n, true
		if rss, haveLimit = residentSet(); !haveLimit {
			limit = 0
		}
	}
	return room(avail, haveAvail, limit, rss, haveLimit, heapFree())
}

// room combines the readings (see Room).
func room(avail uint64, haveAvail bool, limit, rss uint64, haveLimit bool, free uint64) (uint64, bool) {
	var r uint64
	ok := false
	if haveAvail {
		r, ok = avail+free, true
	}
	if haveLimit {
		left := free
		if limit > rss {
			left += limit - rss
		}
		if !ok || left < r {
			r = left
		}
		ok = true
	}
	return r, ok
}

// memAvailable reads MemAvailable from /proc/meminfo: free memory plus
// what the kernel can reclaim (page cache) without swapping.
func memAvailable() (uint64, bool) {
	raw, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, false
	}
	return parseMeminfo(raw, "MemAvailable:")
}

func parseMeminfo(raw []byte, key string) (uint64, bool) {
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == key {
			kb, err := strconv.ParseUint(f[1], 10, 64)
			return kb << 10, err == nil
		}
	}
	return 0, false
}

// residentSet reads the part of this process's resident set the kernel
// cannot reclaim without swap, from /proc/self/status: anonymous memory and
// shared memory. File-backed pages (a memory-mapped model such as
// glove-100d's 136 MB table, the binary) are clean and dropped under the
// cgroup's limit when needed: counting them refused runs that fit. Kernels
// without those fields (before 4.5) give the whole resident set.
func residentSet() (uint64, bool) {
	if raw, err := os.ReadFile("/proc/self/status"); err == nil {
		anon, okAnon := parseMeminfo(raw, "RssAnon:")
		shmem, okShmem := parseMeminfo(raw, "RssShmem:")
		if okAnon && okShmem {
			return anon + shmem, true
		}
	}
	raw, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(raw))
	if len(f) < 2 {
		return 0, false
	}
	pages, err := strconv.ParseUint(f[1], 10, 64)
	return pages * uint64(os.Getpagesize()), err == nil
}

// heapFree is heap memory the Go runtime holds free and has not returned to
// the system: resident, and reusable for the run's allocations.
func heapFree() uint64 { return metric("/memory/classes/heap/free:bytes") }

// LiveHeap is the heap the last garbage collection found live.
func LiveHeap() uint64 { return metric("/gc/heap/live:bytes") }

// metric reads one runtime/metrics value (0 where it is not a count).
func metric(name string) uint64 {
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// Size writes n bytes for a message: KiB below 1 MiB, MiB with a decimal
// below 10 MiB, then without, then GiB with one.
func Size(n uint64) string {
	switch {
	case n < 1<<20:
		return fmt.Sprintf("%.0f KiB", float64(n)/(1<<10))
	case n < 10<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n < 1<<30:
		return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
}
