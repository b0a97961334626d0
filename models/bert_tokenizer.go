package models

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// The BERT uncased WordPiece tokenizer of all-MiniLM-L6-v2 comes from a Go
// module, so the Go module proxy (reachable wherever this code is built)
// serves it; the module sum and the file checksum are pinned.
const (
	bertTokenizerModule    = "github.com/clems4ever/all-minilm-l6-v2-go"
	bertTokenizerVersion   = "v0.0.9"
	bertTokenizerModuleSum = "h1:Din1QD2Txop0zBbiZw50xuhyA/i4bjC0Tl4UDyo21X8="
	bertTokenizerPath      = "all_minilm_l6_v2/tokenizer.json"
	bertTokenizerSHA256    = "da0e79933b9ed51798a3ae27893d3c5fa4a201126cef75586296df9b4d2c62a0"
	bertTokenizerVocab     = 30522
)

// bertTokenizerJSON returns the pinned tokenizer.json, locating the module
// with `go mod download -json` (a no-op when it is in the module cache).
func bertTokenizerJSON(ctx context.Context) ([]byte, error) {
	dir, err := downloadModule(ctx, bertTokenizerModule, bertTokenizerVersion, bertTokenizerModuleSum)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(filepath.Join(dir, bertTokenizerPath))
	if err != nil {
		return nil, err
	}
	if got := sha256Hex(data); got != bertTokenizerSHA256 {
		return nil, fmt.Errorf("%s in %s@%s: %w: sha256 %s, pinned %s", bertTokenizerPath, bertTokenizerModule, bertTokenizerVersion, ErrChecksumMismatch, got, bertTokenizerSHA256)
	}
	return data, nil
}

// downloadModule makes module@version available in the module cache and
// returns its directory. It runs outside any module (a fresh empty folder,
// workspaces off) so it never touches this repository's go.mod or go.sum.
func downloadModule(ctx context.Context, module, version, wantSum string) (string, error) {
	work, err := os.MkdirTemp("", "retune-moddl-*")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	spec := module + "@" + version
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", spec)
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var info struct{ Dir, Sum, Error string }
	if err := json.Unmarshal(stdout.Bytes(), &info); err != nil || runErr != nil || info.Error != "" {
		msg := info.Error
		if msg == "" {
			msg = lastLines(stderr.String(), 5)
		}
		return "", fmt.Errorf("go mod download %s (needs the Go toolchain and the module proxy): %v %s", spec, runErr, msg)
	}
	if info.Sum != wantSum {
		return "", fmt.Errorf("go mod download %s: %w: module sum %s, pinned %s", spec, ErrChecksumMismatch, info.Sum, wantSum)
	}
	return info.Dir, nil
}
