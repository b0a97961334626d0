package negatives

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"retune/internal/atomicfile"
)

// cacheFormat is bumped when the key recipe or entry layout changes, so old
// entries are simply never found.
const cacheFormat = "retune-llm-cache/2"

// cacheKey names a reply by everything that shapes it: the endpoint (two
// servers may serve different weights under one model name), model,
// temperature, the prompt template's name and version, and both prompts.
func (c *LLM) cacheKey(schemaName, system, user string) string {
	parts, _ := json.Marshal([]string{
		cacheFormat,
		RedactURL(strings.TrimRight(c.cfg.BaseURL, "/")),
		c.cfg.Model,
		strconv.FormatFloat(float64(c.cfg.Temperature), 'g', -1, 32),
		schemaName,
		system,
		user,
	})
	sum := sha256.Sum256(parts)
	return hex.EncodeToString(sum[:])
}

// replyCache keeps validated raw replies, one JSON file per key, so reruns
// and resumed jobs never pay for the same prompt twice.
type replyCache struct{ dir string }

type cacheEntry struct {
	Model   string    `json:"model"`
	Schema  string    `json:"schema"`
	Created time.Time `json:"created"`
	Content string    `json:"content"`
}

func newReplyCache(dir string) (*replyCache, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("llm cache: %w", err)
	}
	return &replyCache{dir: dir}, nil
}

func (rc *replyCache) path(key string) string { return filepath.Join(rc.dir, key+".json") }

// get returns the cached reply; unreadable entries count as misses.
func (rc *replyCache) get(key string) (string, bool) {
	b, err := os.ReadFile(rc.path(key))
	if err != nil {
		return "", false
	}
	var e cacheEntry
	if json.Unmarshal(b, &e) != nil {
		return "", false
	}
	return e.Content, true
}

// put writes atomically (internal/atomicfile), so a crash or a concurrent
// writer never leaves a torn entry behind, and a server's start-up sweep
// recognises a temporary file a crash left.
func (rc *replyCache) put(key, model, schema, content string) error {
	b, err := json.Marshal(cacheEntry{Model: model, Schema: schema, Created: time.Now().UTC(), Content: content})
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(rc.path(key), b, 0o644); err != nil {
		return fmt.Errorf("llm cache: %w", err)
	}
	return nil
}
