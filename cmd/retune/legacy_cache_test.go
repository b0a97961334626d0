package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An upgrade finds the caches where the older CLI kept them and moves them
// to the folders it now shares with the server; explicit folders, and
// files already in the new place, are left alone.
func TestMoveLegacyCaches(t *testing.T) {
	t.Chdir(t.TempDir())
	write := func(path, body string) {
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("data/cache/embeddings-aaa.bin", "old a")
	write("data/cache/embeddings-bbb.bin", "old b")
	write("data/cache/embeddings/embeddings-bbb.bin", "new b")
	write("data/llm-cache/reply.json", "paid for")

	// Explicit folders: nothing moves.
	var log strings.Builder
	if err := moveLegacyCaches("elsewhere", "elsewhere-llm", &log); err != nil || log.Len() != 0 {
		t.Fatalf("explicit folders: %v, %q", err, log.String())
	}
	if err := moveLegacyCaches(defaultEmbeddingCache, defaultLLMCache, &log); err != nil {
		t.Fatal(err)
	}
	read := func(path string) string {
		b, err := os.ReadFile(path)
		if err != nil {
			return "missing"
		}
		return string(b)
	}
	for path, want := range map[string]string{
		"data/cache/embeddings/embeddings-aaa.bin": "old a",
		"data/cache/embeddings/embeddings-bbb.bin": "new b", // today's kept
		"data/cache/embeddings-bbb.bin":            "old b", // and the old one left
		"data/cache/embeddings-aaa.bin":            "missing",
		"data/cache/llm/reply.json":                "paid for",
		"data/llm-cache/reply.json":                "missing",
	} {
		if got := read(path); got != want {
			t.Errorf("%s: %q, want %q", path, got, want)
		}
	}
	if !strings.Contains(log.String(), "moved the LLM reply cache") || !strings.Contains(log.String(), "embeddings-aaa.bin") {
		t.Errorf("log %q", log.String())
	}
}
