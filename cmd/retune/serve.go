package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/netutil"

	"retune/api"
	"retune/model"
	"retune/negatives"
	"retune/store"
)

// shutdownTimeout bounds how long in-flight requests get to finish.
const shutdownTimeout = 10 * time.Second

// defaultDataDir is `serve --data`'s default, relative to the working folder.
const defaultDataDir = "data"

// runServe starts the REST API and its job workers, and shuts both down
// gracefully on SIGINT, SIGTERM or SIGHUP. Jobs interrupted by the shutdown resume on
// the next start.
func runServe(ctx context.Context, args []string) error {
	fs := newFlags("serve", "[--addr HOST:PORT] [--data DIR] [--models DIR]",
		"Starts the REST API (openapi.yaml) and its fine-tuning workers; jobs a shutdown interrupts resume at the next start.")
	var rf runtimeFlags
	rf.register(fs)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address (loopback by default)")
	dataDir := folderFlag(fs, "data", defaultDataDir, "data `folder`: database, datasets, heads, caches (default ./"+defaultDataDir+")")
	workers := fs.Int("workers", 1, "fine-tuning jobs run at once")
	maxInputs := fs.Int("max-inputs", 2048, "texts per embeddings request")
	maxUploadMB := fs.Int64("max-upload-mb", 1024, "largest dataset or head upload, in MiB (a pairs file stores as about twice its size)")
	maxDocuments := fs.Int("max-documents", 50_000, "documents posted to create a collection (larger corpora come as datasets; the body must also fit --max-body-mb)")
	maxBodyMB := fs.Int64("max-body-mb", 16, "largest JSON request body, in MiB (embeddings, searches, posted collection documents)")
	preload := fs.String("preload", "glove-100d", "encoders to open before serving, comma-separated (others open on first use)")
	lazyCollections := fs.Bool("lazy-collections", false, "load a ready collection on its first search instead of loading them all in the background at start")
	skipMem := fs.Bool("skip-memory-check", false, "run jobs, and index and load collections, whose memory estimate exceeds the memory the server may use or has left (refused by default)")
	cacheKeepMB := fs.Int64("cache-keep-mb", 0, "bound each encoder's embedding cache file to N MiB: one over it is cut to its newest 80% of N (looked at on start, after each job and collection indexing, and every minute); 0: no bound")
	keysFile := fs.String("api-keys-file", "", "file of API keys, one per line (default: $RETUNE_API_KEYS, comma-separated; none: no auth)")
	// LLM limits of jobs with causal or naive negatives; the endpoint is
	// $OPENAI_BASE_URL, $RETUNE_LLM_MODEL, $OPENAI_API_KEY, or the job's llm.
	var tuning llmTuning
	tuning.register(fs, " per job")
	maxConns := fs.Int("max-conns", 2048, "connections served at once; more wait in the listen queue (0: no limit). Each may hold a file open too, and the process's file descriptors are shared with the database, the embedding cache and jobs")
	allowPrivate := fs.Bool("llm-allow-private", false, "let a job's own llm.base_url be an address of this machine or a loopback, private, link-local or reserved one (refused by default: a client must not make the server reach its own network; the server's own endpoint always may)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the server's whole run to this file (written at shutdown)")
	memProfile := fs.String("memprofile", "", "write an allocation profile (all allocations since start) to this file at shutdown")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"--workers", *workers}, {"--max-inputs", *maxInputs}, {"--max-documents", *maxDocuments}} {
		if f.v < 1 {
			return usageError{fmt.Errorf("%s must be at least 1, got %d", f.name, f.v)}
		}
	}
	for _, f := range []struct {
		name string
		v    int64
	}{{"--max-upload-mb", *maxUploadMB}, {"--max-body-mb", *maxBodyMB}} {
		if f.v < 1 || f.v > 1<<30 {
			return usageError{fmt.Errorf("%s must be in [1, %d], got %d", f.name, 1<<30, f.v)}
		}
	}
	if *cacheKeepMB < 0 || *cacheKeepMB > 1<<30 {
		return usageError{fmt.Errorf("--cache-keep-mb must be in [0, %d] (0: no bound), got %d", 1<<30, *cacheKeepMB)}
	}
	if err := tuning.check(); err != nil {
		return usageError{err}
	}
	if err := checkListenAddr(*addr); err != nil {
		return usageError{err}
	}
	llm := negatives.LLMConfigFromEnv()
	tuning.apply(&llm)
	llm = withOpenAIDefault(llm)
	if llm.Model != "" { // else no LLM is configured and the URL is never called
		if err := negatives.CheckBaseURL(llm.BaseURL); err != nil {
			return usageError{err}
		}
	}
	stop, err := startCPUProfile(*cpuProfile)
	if err != nil {
		return err
	}
	defer stop()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	defer writeAllocProfile(*memProfile, log)
	keys, err := apiKeys(*keysFile)
	if err != nil {
		return err
	}
	// The address is taken first: a port in use fails the start before
	// anything is opened, created or logged as serving. Connections made
	// meanwhile wait in the listen queue.
	if *maxConns < 0 {
		return fmt.Errorf("--max-conns must be 0 (no limit) or more, got %d", *maxConns)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("--addr: %w", err)
	}
	defer ln.Close()
	if *maxConns > 0 {
		// A client holding thousands of slow uploads open would otherwise
		// take every file descriptor (a probe held 1,000 with 2 each), and
		// the database and jobs would fail to open files.
		ln = netutil.LimitListener(ln, *maxConns)
	}
	if err := rf.init(); err != nil {
		return err
	}
	reg := model.NewRegistry(rf.modelsFolder.Get())
	defer reg.Close()
	names, err := reg.List()
	if err != nil {
		return err
	}
	if len(names) == 0 {
		return fmt.Errorf("no encoders in %s: run `make setup` (or `retune models build`)", rf.modelsFolder.Get())
	}
	// Opening an encoder takes seconds; do it before the first request waits on it.
	for _, name := range strings.Split(*preload, ",") {
		if name = strings.TrimSpace(name); name == "" {
			continue
		}
		if _, err := reg.Get(ctx, name); errors.Is(err, model.ErrUnknownModel) {
			// A name given with --preload is a typo to fix before serving;
			// the default's absence (a models folder of other encoders) is not.
			if flagSet(fs, "preload") {
				return usageError{fmt.Errorf("--preload %s: no such encoder in %s (installed: %s)", name, rf.modelsFolder.Get(), strings.Join(names, ", "))}
			}
			log.Warn("preload: no such encoder", "model", name)
		} else if err != nil {
			return fmt.Errorf("preload %s: %w", name, err)
		}
	}
	st, err := store.Open(ctx, dataDir.Get())
	if err != nil {
		return err
	}
	defer st.Close()
	srv, err := api.New(api.Config{Models: reg, Logger: log, MaxInputs: *maxInputs, MaxUploadBytes: *maxUploadMB << 20, MaxBodyBytes: *maxBodyMB << 20, MaxDocuments: *maxDocuments, Store: st, LazyCollections: *lazyCollections,
		Workers: *workers, LLM: llm, LLMAllowPrivate: *allowPrivate, APIKeys: keys, SkipMemoryCheck: *skipMem, CacheKeepBytes: *cacheKeepMB << 20})
	if err != nil {
		return err
	}
	defer srv.Close()
	// Background work outlives the signal context: Close, not ctx, stops it.
	if err := srv.Start(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	// ReadTimeout bounds a whole request body: a largest upload (1 GiB by
	// default) at 1 MB/s still fits, a client trickling bytes to hold a
	// handler does not. Event streams write, so it does not cut them.
	httpSrv := &http.Server{Addr: *addr, Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: time.Hour, IdleTimeout: 2 * time.Minute}
	// Event streams last as long as their jobs; end them so Shutdown need
	// not wait for them.
	httpSrv.RegisterOnShutdown(srv.StopStreams)
	errc := make(chan error, 1)
	go func() { errc <- httpSrv.Serve(ln) }()
	log.Info("serving", "addr", ln.Addr().String(), "models", names, "data", st.DataDir(), "workers", *workers, "auth", len(keys) > 0)
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok && !tcp.IP.IsLoopback() && len(keys) == 0 {
		log.Warn("serving beyond this machine with no API keys: anyone who can reach the address can upload, train and delete; pass --api-keys-file or set RETUNE_API_KEYS",
			"addr", ln.Addr().String())
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	srv.Drain() // nothing new starts while the requests in flight finish
	shutdown, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	// A second Ctrl-C, SIGTERM or SIGHUP stops waiting for in-flight
	// requests, and for the jobs' LLM requests, which srv.Close gives a
	// grace of their own: it is heard until the stop ends.
	stopped := make(chan struct{})
	defer close(stopped)
	go func() {
		select {
		case <-hurry:
			log.Warn("second signal: cutting off the requests still running")
			srv.Hurry()
			cancel()
		case <-stopped:
		}
	}()
	if err := httpSrv.Shutdown(shutdown); errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		// Slow clients (a large export at a limited rate) must not keep the
		// server up: cut them off. Their handlers then fail to write and
		// clean up; what they leave is removed at the next start.
		log.Warn("requests still running at the end of the shutdown wait were cut off", "timeout", shutdownTimeout)
		srv.CutOff()
		httpSrv.Close()
	} else if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return srv.Close()
}

// apiKeys reads the keys from file (one per line; blank lines and lines
// starting with # are skipped), or else from $RETUNE_API_KEYS
// (comma-separated). None means the server is open.
func apiKeys(file string) ([]string, error) {
	var raw []string
	source := "" // where keys were asked for: then finding none is a mistake, not "no auth"
	if file != "" {
		source = "file " + file
		f, err := os.Open(file)
		if err != nil {
			return nil, fmt.Errorf("api keys: %w", err)
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			// An editor's byte-order mark would make the first line's
			// comment a key, or its key one no client sends.
			raw = append(raw, strings.TrimPrefix(sc.Text(), "\uFEFF"))
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("api keys %s: %w", file, err)
		}
	} else if env := os.Getenv("RETUNE_API_KEYS"); env != "" {
		raw = strings.Split(env, ",")
		source = "$RETUNE_API_KEYS"
	}
	var keys []string
	for _, k := range raw {
		if k = strings.TrimSpace(k); k != "" && !strings.HasPrefix(k, "#") {
			keys = append(keys, k)
		}
	}
	if source != "" && len(keys) == 0 {
		return nil, fmt.Errorf("api keys: %s holds no key", source)
	}
	return keys, nil
}

// checkListenAddr refuses an --addr that no machine could listen on (no
// port, a port out of range), a mistake of the command line; a port in use
// or an address this machine does not have fail when listening.
func checkListenAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--addr %q: want host:port, e.g. 127.0.0.1:8080 (%v)", addr, err)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("--addr %q: the port must be a number in [0, 65535]", addr)
	}
	return nil
}

// withOpenAIDefault gives a server configured with a key and a model but
// no base URL OpenAI's own endpoint, as retune train takes them: its jobs
// then default to the causal generator there, as train's runs do.
func withOpenAIDefault(c negatives.LLMConfig) negatives.LLMConfig {
	if c.Model != "" && c.BaseURL == "" && c.APIKey != "" {
		c.BaseURL = negatives.OpenAIBaseURL
	}
	return c
}
