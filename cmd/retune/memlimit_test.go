package main

import (
	"math"
	"os"
	"runtime/debug"
	"testing"

	"retune/internal/memroom"
)

// Without GOMEMLIMIT the soft limit becomes a share of the machine's
// memory (no cgroup limit here, so its RAM); with it, it is left alone.
func TestSetMemoryLimit(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })
	for _, v := range []string{"GOMEMLIMIT", "AUTOMEMLIMIT"} {
		if _, set := os.LookupEnv(v); set {
			t.Skipf("%s is set in the environment", v)
		}
	}
	debug.SetMemoryLimit(math.MaxInt64)
	setMemoryLimit()
	got := debug.SetMemoryLimit(-1)
	// The same source the code uses: a cgroup's limit, else the RAM.
	total, err := memroom.Limit()
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(float64(total) * memoryRatio); got < want*99/100 || got > want*101/100 {
		t.Fatalf("memory limit %d, want %.0f%% of the %d bytes this process may use", got, 100*memoryRatio, total)
	}

	t.Setenv("GOMEMLIMIT", "123MiB")
	debug.SetMemoryLimit(math.MaxInt64)
	setMemoryLimit()
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Fatalf("with GOMEMLIMIT set, the limit was changed to %d", got)
	}
}
