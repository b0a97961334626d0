package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"retune/api"
	"retune/model"
)

// runServe starts the REST API and shuts it down gracefully on SIGINT/SIGTERM.
func runServe(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var rf runtimeFlags
	rf.register(fs)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address (loopback by default)")
	maxInputs := fs.Int("max-inputs", 2048, "texts per embeddings request")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := rf.init(); err != nil {
		return err
	}
	reg := model.NewRegistry(rf.modelsDir)
	defer reg.Close()
	names, err := reg.List()
	if err != nil {
		return err
	}
	if len(names) == 0 {
		return fmt.Errorf("no encoders in %s: run `make setup` (or `retune models build`)", rf.modelsDir)
	}
	srv := &http.Server{
		Addr:              *addr,
		Handler:           api.New(api.Config{Models: reg, Logger: log, MaxInputs: *maxInputs}).Handler(),
		ReadHeaderTimeout: 10 * time.Second,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("serving", "addr", *addr, "models", names)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
