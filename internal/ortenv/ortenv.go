// Package ortenv owns the process-global ONNX Runtime environment, which the
// encoder (model) and the matrix products (linalg) both run on; neither has
// to import the other for it.
package ortenv

import (
	"fmt"
	"os"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// The ONNX Runtime environment is process-global: onnxruntime_go loads one
// shared library and creates one OrtEnv. Init guards that so every
// caller (CLI, server, tests) can call it without coordinating.
var (
	runtimeMu   sync.Mutex
	runtimePath string
)

// Init loads the ONNX Runtime shared library at libPath and creates the
// environment. Calling it again with the same path is a no-op; calling it with
// a different path is an error, because the library cannot be swapped inside
// a running process.
func Init(libPath string) error {
	runtimeMu.Lock()
	defer runtimeMu.Unlock()
	if runtimePath != "" {
		if runtimePath != libPath {
			return fmt.Errorf("onnx runtime already initialised from %s; cannot switch to %s", runtimePath, libPath)
		}
		return nil
	}
	if _, err := os.Stat(libPath); err != nil {
		return fmt.Errorf("onnx runtime library: %w (run `make setup`, or pass --ort-lib / set RETUNE_ORT_LIB)", err)
	}
	ort.SetSharedLibraryPath(libPath)
	// Fatal only: a failing Run is returned to the caller, which names it
	// in its own words; at level Error onnxruntime also printed it raw
	// (ANSI-coloured) to stderr, into the server's JSON log and ahead of
	// the CLI's message.
	if err := ort.InitializeEnvironment(ort.WithLogLevelFatal()); err != nil {
		return fmt.Errorf("initialise onnx runtime from %s: %w (is it the 1.24.x CPU build? run `make setup`)", libPath, err)
	}
	runtimePath = libPath
	return nil
}

// Ready reports whether Init has succeeded in this process.
func Ready() bool {
	runtimeMu.Lock()
	defer runtimeMu.Unlock()
	return runtimePath != ""
}
