package negatives

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func cacheFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestLLMCacheHitMakesNoRequest(t *testing.T) {
	dir := t.TempDir()
	f := newFakeChat(t, fakeSequence(t, okReply(llmTestGood)))
	first := newTestLLM(t, f, func(cfg *LLMConfig) { cfg.CacheDir = dir })
	var a llmTestReply
	if err := first.JSON(context.Background(), "s", "u", llmTestSchema, &a); err != nil {
		t.Fatal(err)
	}
	files := cacheFiles(t, dir)
	if len(files) != 1 || !strings.HasSuffix(files[0], ".json") {
		t.Fatalf("cache holds %v, want one .json entry", files)
	}

	// A new client, as in a resumed job: same prompt, no request.
	second := newTestLLM(t, f, func(cfg *LLMConfig) { cfg.CacheDir = dir })
	var b llmTestReply
	if err := second.JSON(context.Background(), "s", "u", llmTestSchema, &b); err != nil {
		t.Fatal(err)
	}
	if n := f.count(); n != 1 {
		t.Errorf("%d requests, want 1 (second call should hit the cache)", n)
	}
	if a != b {
		t.Errorf("cached reply %+v differs from %+v", b, a)
	}
	if u := second.Usage(); u.CacheHits != 1 || u.Requests != 0 || u.TotalTokens != 0 {
		t.Errorf("usage %+v", u)
	}
}

func TestLLMCacheKeyParts(t *testing.T) {
	base := func(cfg *LLMConfig) {}
	tests := []struct {
		name   string
		edit   func(*LLMConfig)
		schema string
		system string
		user   string
		hit    bool
	}{
		{"same everything", base, "llm_test.v1", "s", "u", true},
		{"other model", func(c *LLMConfig) { c.Model = "other" }, "llm_test.v1", "s", "u", false},
		{"other temperature", func(c *LLMConfig) { c.Temperature = 0.9 }, "llm_test.v1", "s", "u", false},
		{"other template version", base, "llm_test.v2", "s", "u", false},
		{"other system prompt", base, "llm_test.v1", "S", "u", false},
		{"other user prompt", base, "llm_test.v1", "s", "U", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			f := newFakeChat(t, func(int, fakeRequest) fakeReply { return okReply(llmTestGood) })
			warm := newTestLLM(t, f, func(cfg *LLMConfig) { cfg.CacheDir = dir })
			var out llmTestReply
			if err := warm.JSON(context.Background(), "s", "u", llmTestSchema, &out); err != nil {
				t.Fatal(err)
			}
			c := newTestLLM(t, f, func(cfg *LLMConfig) { cfg.CacheDir = dir; tt.edit(cfg) })
			schema := llmTestSchema
			schema.Name = tt.schema
			if err := c.JSON(context.Background(), tt.system, tt.user, schema, &out); err != nil {
				t.Fatal(err)
			}
			if hit := c.Usage().CacheHits == 1; hit != tt.hit {
				t.Errorf("cache hit = %v, want %v", hit, tt.hit)
			}
			if want := map[bool]int{true: 1, false: 2}[tt.hit]; f.count() != want {
				t.Errorf("%d requests, want %d", f.count(), want)
			}
		})
	}
}

func TestLLMCacheBadEntries(t *testing.T) {
	tests := []struct {
		name  string
		entry string // written in place of the good entry
	}{
		{"torn file", `{"content": "{\"answer`},
		{"reply that no longer validates", `{"content": "{\"answer\": \"x\", \"score\": 50}"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			f := newFakeChat(t, func(int, fakeRequest) fakeReply { return okReply(llmTestGood) })
			c := newTestLLM(t, f, func(cfg *LLMConfig) { cfg.CacheDir = dir })
			var out llmTestReply
			if err := c.JSON(context.Background(), "s", "u", llmTestSchema, &out); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, cacheFiles(t, dir)[0])
			if err := os.WriteFile(path, []byte(tt.entry), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := c.JSON(context.Background(), "s", "u", llmTestSchema, &out); err != nil {
				t.Fatal(err)
			}
			if f.count() != 2 || c.Usage().CacheHits != 0 {
				t.Errorf("bad entry was used: %d requests, usage %+v", f.count(), c.Usage())
			}
			if out.Score != 7 {
				t.Errorf("decoded %+v", out)
			}
			// The fresh reply replaced the bad entry, atomically.
			if files := cacheFiles(t, dir); len(files) != 1 {
				t.Errorf("cache dir holds %v", files)
			}
			if b, _ := os.ReadFile(path); !strings.Contains(string(b), "paris") {
				t.Errorf("entry not rewritten: %s", b)
			}
		})
	}
}
