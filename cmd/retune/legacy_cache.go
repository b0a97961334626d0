package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Where the CLI kept its caches before it shared the server's folders.
var (
	legacyEmbeddingCache = filepath.Join(defaultDataDir, "cache") // embeddings-*.bin directly inside
	legacyLLMCache       = filepath.Join(defaultDataDir, "llm-cache")
)

// moveLegacyCaches moves the caches an older build kept (embedding files
// in data/cache, LLM replies in data/llm-cache) into today's default
// folders, when those are in use, so that an upgrade neither recomputes
// every embedding nor pays again for LLM replies. What it moves is said on
// log; a file already present in the new place is left where it is.
func moveLegacyCaches(embDir, llmDir string, log io.Writer) error {
	if filepath.Clean(embDir) == filepath.Clean(defaultEmbeddingCache) {
		old, err := filepath.Glob(filepath.Join(legacyEmbeddingCache, "embeddings-*.bin"))
		if err != nil {
			return err
		}
		for _, f := range old {
			to := filepath.Join(embDir, filepath.Base(f))
			if _, err := os.Stat(to); err == nil {
				fmt.Fprintf(log, "left the old embedding cache %s in place: %s exists (delete one of them)\n", f, to)
				continue
			}
			if err := os.MkdirAll(embDir, 0o755); err != nil {
				return err
			}
			if err := os.Rename(f, to); err != nil {
				return fmt.Errorf("move the embedding cache %s to %s: %w", f, to, err)
			}
			fmt.Fprintf(log, "moved the embedding cache %s to %s (the folder the server uses)\n", f, to)
		}
	}
	if filepath.Clean(llmDir) == filepath.Clean(defaultLLMCache) {
		st, err := os.Stat(legacyLLMCache)
		if err != nil || !st.IsDir() {
			return nil
		}
		if _, err := os.Stat(llmDir); !errors.Is(err, fs.ErrNotExist) {
			// Both exist: keep today's, and say where the old replies are.
			fmt.Fprintf(log, "left the old LLM reply cache %s in place: %s exists (move its files there to reuse them)\n", legacyLLMCache, llmDir)
			return nil
		}
		if err := os.MkdirAll(filepath.Dir(llmDir), 0o755); err != nil {
			return err
		}
		if err := os.Rename(legacyLLMCache, llmDir); err != nil {
			return fmt.Errorf("move the LLM reply cache %s to %s: %w", legacyLLMCache, llmDir, err)
		}
		fmt.Fprintf(log, "moved the LLM reply cache %s to %s (the folder the server uses)\n", legacyLLMCache, llmDir)
	}
	return nil
}
