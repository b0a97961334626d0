package models

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"
)

// The ONNX Runtime build onnxruntime_go v1.27.0 expects. The npm package
// onnxruntime-node ships the official CPU shared library, which is the only
// registry we can reach that carries it.
const (
	ORTVersion       = "1.24.1"
	ORTLibSHA256     = "53ef1ac028dd1b05554b8da28d9159eb3876f99868193d2aaa6e67f0243c23d4"
	ortNpmSpec       = "onnxruntime-node@" + ORTVersion
	ortTarballSHA256 = "57181cf6e6e711b155c5b942d591fd63ded0b5de5c4922d51fd994e7f6ac2772"
	ortMember        = "package/bin/napi-v6/linux/x64/libonnxruntime.so.1"
)

// ErrORTNotFound is wrapped by ResolveORTLib when no usable library exists.
var ErrORTNotFound = errors.New("ONNX Runtime library not found")

// CheckRoot refuses a models folder that does not exist, saying how to
// point at the right one: most likely the run is outside the repository,
// which --models or RETUNE_MODELS points back to.
func CheckRoot(root string) error {
	if _, err := os.Stat(root); err != nil {
		abs, _ := filepath.Abs(root)
		return fmt.Errorf("the models folder %s does not exist: pass --models (or set RETUNE_MODELS) to the folder `make setup` filled, or run `retune models build --models %s`",
			abs, root)
	}
	return nil
}

// ortFolder is the models folder's sub-folder holding ONNX Runtime (no
// encoder may take its name).
const ortFolder = "onnxruntime"

// ORTLibPath is where EnsureORT puts the library under root.
func ORTLibPath(root string) string {
	return filepath.Join(root, ortFolder, "libonnxruntime.so.1")
}

// EnsureORT makes root/onnxruntime/libonnxruntime.so.1 the pinned ONNX
// Runtime build, fetching it from npm when missing or different, and returns
// its path. A present, correct library costs one sha256 per process.
func EnsureORT(ctx context.Context, root string) (string, error) {
	return ensureORT(ctx, root, filepath.Join(root, ".cache"))
}

func ensureORT(ctx context.Context, root, cacheDir string) (string, error) {
	lib := ORTLibPath(root)
	if ok, _ := isPinnedORT(lib); ok {
		return lib, nil
	}
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		return "", fmt.Errorf("no pinned ONNX Runtime build for %s/%s: install ONNX Runtime %s yourself and pass --ort-lib or set RETUNE_ORT_LIB",
			runtime.GOOS, runtime.GOARCH, ORTVersion)
	}
	tgz, err := Pack(ctx, ortNpmSpec, ortTarballSHA256, cacheDir)
	if err != nil {
		return "", fmt.Errorf("fetch ONNX Runtime: %w", err)
	}
	if err := ExtractMember(tgz, ortMember, lib, ORTLibSHA256, 0o755); err != nil {
		return "", fmt.Errorf("install ONNX Runtime: %w", err)
	}
	return lib, nil
}

// ResolveORTLib finds the ONNX Runtime library to load: flagValue (the
// --ort-lib flag) if set, else $RETUNE_ORT_LIB, else the copy under root.
// An explicitly named library only has to exist; the models-folder copy must
// also be the pinned build, since that is the one setup manages. Failures
// come back as one error that says how to fix them. The path is absolute.
func ResolveORTLib(flagValue, root string) (string, error) {
	fix := "run `make setup` (or `retune models build`), or pass --ort-lib / set RETUNE_ORT_LIB"
	path, from := flagValue, "--ort-lib"
	if path == "" {
		path, from = os.Getenv("RETUNE_ORT_LIB"), "RETUNE_ORT_LIB"
	}
	explicit := path != ""
	if !explicit {
		path, from = ORTLibPath(root), "models folder"
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("%w at %s: %w", ErrORTNotFound, path, err)
	}
	st, err := os.Stat(abs)
	if !explicit {
		if err := CheckRoot(root); err != nil {
			return "", fmt.Errorf("%w: %w", ErrORTNotFound, err)
		}
	}
	if err != nil || !st.Mode().IsRegular() {
		return "", fmt.Errorf("%w at %s (from %s): %s", ErrORTNotFound, abs, from, fix)
	}
	if explicit {
		return abs, nil
	}
	ok, err := isPinnedORT(abs)
	if err != nil {
		return "", fmt.Errorf("%w: cannot read %s: %w; %s", ErrORTNotFound, abs, err, fix)
	}
	if !ok {
		return "", fmt.Errorf("%w: %s is not the pinned ONNX Runtime %s build (sha256 differs): %s",
			ErrORTNotFound, abs, ORTVersion, fix)
	}
	return abs, nil
}

// verifiedORT remembers files already hashed, keyed by path, and trusts the
// result while size and mtime are unchanged, so repeated resolution within a
// process does not rehash 35 MB.
var verifiedORT sync.Map // path -> ortStamp

type ortStamp struct {
	size  int64
	mtime time.Time
	ok    bool
}

func isPinnedORT(path string) (bool, error) {
	st, err := os.Stat(path)
	if err != nil {
		return false, err
	}
	if v, ok := verifiedORT.Load(path); ok {
		s := v.(ortStamp)
		if s.size == st.Size() && s.mtime.Equal(st.ModTime()) {
			return s.ok, nil
		}
	}
	sum, err := fileSHA256(path)
	if err != nil {
		return false, err
	}
	ok := sum == ORTLibSHA256
	verifiedORT.Store(path, ortStamp{size: st.Size(), mtime: st.ModTime(), ok: ok})
	return ok, nil
}
