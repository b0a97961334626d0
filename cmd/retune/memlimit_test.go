package main

import (
	"math"
	"os"
	"runtime/debug"
	"testing"

	"github.com/KimMachineGun/automemlimit/memlimit"
)

// Without GOMEMLIMIT the soft limit becomes a share of the machine's
// memory (no cgroup limit here, so its RAM); with it, it is left alone.
func TestSetMemoryLimit(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })
	if _, set := os.LookupEnv("GOMEMLIMIT"); set {
		t.Skip("GOMEMLIMIT is set in the environment")
	}
	debug.SetMemoryLimit(math.MaxInt64)
	setMemoryLimit()
	got := debug.SetMemoryLimit(-1)
	total, err := memlimit.FromSystem()
	if err != nil {
		t.Fatal(err)
	}
	if got == math.MaxInt64 || got > int64(total) || got < int64(float64(total)*memoryRatio/2) {
		t.Fatalf("memory limit %d, want about %.0f%% of this machine's %d bytes (or of a lower cgroup limit)", got, 100*memoryRatio, total)
	}

	t.Setenv("GOMEMLIMIT", "123MiB")
	debug.SetMemoryLimit(math.MaxInt64)
	setMemoryLimit()
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Fatalf("with GOMEMLIMIT set, the limit was changed to %d", got)
	}
}
