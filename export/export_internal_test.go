package export

import (
	"context"

	"retune/model"
)

// Hooks for the external test package: the external-data policy is an
// internal knob (production splits only models over 2 GiB), exposed here so
// the tests can exercise that path on small fixtures.

// FusedWithExternal is Fused with initializers over minBytes moved to
// model.onnx.data whenever the serialized model exceeds limit.
func FusedWithExternal(ctx context.Context, encoderDir string, h *model.Head, meta model.HeadMeta, outDir string, limit, minBytes int64) error {
	return fuse(ctx, encoderDir, h, meta, outDir, externalPolicy{limit: limit, minBytes: minBytes})
}
