package models

import (
	"context"
	"fmt"
	"io"
	"time"
)

// Setup prepares a models folder for serving and tests: the pinned ONNX
// Runtime library and the glove-100d encoder. It is idempotent and cheap
// when both are present; progress goes to log (nil discards it).
func Setup(ctx context.Context, root string, log io.Writer) error {
	if log == nil {
		log = io.Discard
	}
	start := time.Now()
	lib, err := EnsureORT(ctx, root)
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "onnx runtime %s ready: %s (%v)\n", ORTVersion, lib, time.Since(start).Round(time.Millisecond))

	start = time.Now()
	dir, err := BuildGlove(ctx, root)
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "encoder %s ready: %s (%v)\n", GloveName, dir, time.Since(start).Round(time.Millisecond))
	return nil
}
