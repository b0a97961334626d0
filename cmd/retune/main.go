// Command retune fine-tunes dense retrievers: a trainable projection head on
// a frozen ONNX encoder, served over a REST API.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/KimMachineGun/automemlimit/memlimit"

	"retune/internal/memroom"
	"retune/models"
)

const usage = `retune — fine-tune dense retrievers on a frozen ONNX encoder

usage: retune <command> [flags]

commands:
  serve    start the REST API (POST /v1/embeddings, ...)
  embed    embed stdin lines, one JSON object per line
  train    fine-tune a projection head on a BEIR folder or training pairs
  eval     retrieval metrics of an encoder (+ head) on a BEIR split or held-out pairs
  export   export a trained head (onnx | fused-onnx | safetensors)
  models   list, build or add encoders (models list | models build | models add)
  bench    measure speed (bench embed | bench search)
  cache    report on or prune the embedding cache (cache stats | cache prune)
  version  the build: its commit, Go toolchain and ONNX Runtime version

Run "retune <command> -h" for the flags of a command, "retune version" for the build.
`

type command func(ctx context.Context, args []string) error

func main() {
	cmds := map[string]command{
		"serve":  runServe,
		"embed":  runEmbed,
		"models": runModels,
		"bench":  runBench,
		"export": runExport,
		"train":  runTrain,
		"eval":   runEval,
		"cache":  runCache,
	}
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2) // a usage error, unlike asking for help
	}
	isHelp := func(a string) bool { return a == "-h" || a == "--help" || a == "help" }
	// "retune help train" and "retune train -h" both show train's usage;
	// asking for help exits 0.
	name, help := os.Args[1], false
	switch {
	case isHelp(name) && len(os.Args) > 2:
		name, help = os.Args[2], true
	case isHelp(name):
		fmt.Fprint(os.Stdout, usage)
		os.Exit(0)
	case isVersion(name) && len(os.Args) == 3 && isHelpFlag(os.Args[2]):
		name, help = "version", true
	case isVersion(name):
		if len(os.Args) > 2 {
			fmt.Fprintf(os.Stderr, "retune version: takes no arguments, got %q\n", os.Args[2:])
			os.Exit(2)
		}
		fmt.Println(version())
		os.Exit(0)
	case len(os.Args) == 3 && isHelp(os.Args[2]):
		help = true
	}
	if help && isVersion(name) {
		fmt.Println("usage: retune version\n\nPrints the build: its commit, the Go toolchain and the ONNX Runtime version.")
		os.Exit(0)
	}
	run, ok := cmds[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "retune: unknown command %q\n\n%s", name, usage)
		os.Exit(2)
	}
	if help {
		// Flag sets print their usage and return flag.ErrHelp; commands
		// with subcommands (models, bench) return their usage as an error.
		if err := run(context.Background(), []string{"-h"}); err != nil && !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stdout, strings.TrimPrefix(err.Error(), "usage: "))
		}
		os.Exit(0)
	}
	setMemoryLimit()
	// SIGHUP too (a closed terminal, a service manager's reload): a stop
	// the process sees, not a kill that counts as a crash against the
	// server's running jobs.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, stopSignals...)
	defer signal.Stop(sigs)
	ctx, stop := stopOn(context.Background(), sigs, hurry)
	defer stop()
	if err := run(ctx, os.Args[2:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0) // -h was asked for; the flag package printed the usage
		}
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			// Ctrl-C or SIGTERM: say so, not "context canceled", and
			// what to do next (a train run with --work resumes).
			msg := "interrupted"
			if h := (hintedError{}); errors.As(err, &h) {
				msg += "; " + h.hint
			}
			fmt.Fprintf(os.Stderr, "retune %s: %s\n", os.Args[1], msg)
			os.Exit(130)
		}
		// "retune export: export: ..." says the command twice.
		msg := strings.TrimPrefix(err.Error(), os.Args[1]+": ")
		fmt.Fprintf(os.Stderr, "retune %s: %s\n", commandName(os.Args[1:]), msg)
		if errors.As(err, new(usageError)) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// commandName names the command run in its messages: with its
// subcommand for the commands that have them ("models add"), as their
// warnings do.
func commandName(args []string) string {
	switch args[0] {
	case "models", "cache", "bench":
		if len(args) > 1 && slices.Contains(subcommands[args[0]], args[1]) {
			return args[0] + " " + args[1]
		}
	}
	return args[0]
}

// subcommands are the subcommands of the commands that have them: the one
// list those commands check a name against, and error messages name.
var subcommands = map[string][]string{
	"models": {"list", "build", "add"},
	"cache":  {"stats", "prune"},
	"bench":  {"embed", "search"},
}

// errStopSignal is the cause a command's context ends with at the first
// stop signal (stopSignals).
var errStopSignal = errors.New("stop signal received")

// hurry closes at a second stop signal: what a command lets finish after
// the first (retune serve's requests in flight, the LLM requests a train
// run has sent) is cut off then.
var hurry = make(chan struct{})

// stopOn is parent ended, with cause errStopSignal, by the first signal on
// sigs; the second closes hurried. A command stops by its context, not by
// the signal (main keeps the signals from killing the process until it
// returns); once stop returns, no signal is taken from sigs.
func stopOn(parent context.Context, sigs <-chan os.Signal, hurried chan<- struct{}) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(parent)
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		select {
		case s := <-sigs:
			cancel(fmt.Errorf("%w: %v", errStopSignal, s))
		case <-done:
			return
		}
		select {
		case <-sigs:
			close(hurried)
		case <-done:
		}
	}()
	var once sync.Once
	return ctx, func() {
		once.Do(func() { close(done) })
		<-exited // no signal is taken after stop returns
		cancel(nil)
	}
}

// stopSignals stop a command gracefully (retune serve: as a shutdown):
// SIGHUP too, unless the command started with it ignored (nohup), which
// asks it to outlive its terminal; watching it would undo that.
var stopSignals = func() []os.Signal {
	sigs := []os.Signal{os.Interrupt, syscall.SIGTERM}
	if !signal.Ignored(syscall.SIGHUP) {
		sigs = append(sigs, syscall.SIGHUP)
	}
	return sigs
}()

func isVersion(a string) bool { return a == "version" || a == "--version" || a == "-version" }

// memoryRatio is the share of the machine's memory (its cgroup limit, else
// its RAM) given to the Go heap as a soft limit.
const memoryRatio = 0.9

// setMemoryLimit sets the Go runtime's soft memory limit (GOMEMLIMIT) to
// memoryRatio of the memory this process may use, unless GOMEMLIMIT is set.
// By default the Go heap may grow to twice what is live before a collection,
// so a run holding 5 GB of embeddings and negatives could take 10 GB and be
// killed on a 8 GB machine; under the limit the collector works harder
// instead (measured: a 100,000-pair run at 1.26 GB peak RSS ran in 0.93 GB
// with GOMEMLIMIT=700MiB, in the same time).
func setMemoryLimit() {
	_, err := memlimit.Set(
		memlimit.WithRatio(memoryRatio),
		memlimit.WithProvider(memroom.Limit),
		memlimit.WithLogger(slog.New(slog.DiscardHandler)),
	)
	if err != nil {
		fmt.Fprintf(os.Stderr, "retune: no memory limit set: %v\n", err)
	}
}

// commit is the build's commit, set by make (-X main.commit=...): the Go
// toolchain's own VCS stamp is off wherever GOFLAGS holds -buildvcs=false.
var commit string

// version names the build: its commit and the Go toolchain.
func version() string {
	rev := commit
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, st := range info.Settings {
			if st.Key == "vcs.revision" && rev == "" {
				rev = st.Value
			}
		}
	}
	if rev == "" {
		rev = "(commit unknown: built without make)"
	}
	return fmt.Sprintf("retune %s (%s, ONNX Runtime %s)", rev, runtime.Version(), models.ORTVersion)
}
