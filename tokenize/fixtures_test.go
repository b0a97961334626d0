package tokenize

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// BERT uncased special and word ids, from the all-MiniLM-L6-v2 vocabulary.
const (
	bertPad  = 0
	bertUnk  = 100
	bertCLS  = 101
	bertSEP  = 102
	bertCafe = 7668
)

const minilmModule = "github.com/clems4ever/all-minilm-l6-v2-go@v0.0.9"

// bertDir locates the module holding the real all-MiniLM-L6-v2
// tokenizer.json through the Go module proxy, so it also works on a clean CI
// machine; it is resolved once per test binary.
var bertDir = sync.OnceValues(func() (string, error) {
	out, err := exec.Command("go", "mod", "download", "-json", minilmModule).Output()
	if err != nil {
		return "", err
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(out, &info); err != nil {
		return "", err
	}
	if info.Dir == "" {
		return "", &os.PathError{Op: "go mod download", Path: minilmModule, Err: os.ErrNotExist}
	}
	return info.Dir, nil
})

func bertPath(t testing.TB) string {
	t.Helper()
	dir, err := bertDir()
	if err != nil {
		t.Skipf("skipping: cannot fetch %s for the BERT tokenizer.json: %v", minilmModule, err)
	}
	return filepath.Join(dir, "all_minilm_l6_v2", "tokenizer.json")
}

func loadBERT(t testing.TB, opts ...Option) *Tokenizer {
	t.Helper()
	tok, err := Load(bertPath(t), opts...)
	if err != nil {
		t.Fatalf("Load BERT: %v", err)
	}
	return tok
}

// gloveVocab is a WordLevel vocabulary in id order, shaped like the
// project's GloVe tokenizer.
var gloveVocab = []string{"[PAD]", "[UNK]", "the", "cat", "sat", "on", "mat", "au", "lait", "cafe"}

const (
	gloveUnk  = 1
	gloveCafe = 9
)

// writeTokenizer writes a tokenizer.json into a temp dir: by default
// WordLevel over vocab with a Lowercase normalizer, BertPreTokenizer and no
// post-processor; extra adds or replaces top-level sections (even "model").
func writeTokenizer(t testing.TB, vocab []string, extra map[string]any) string {
	t.Helper()
	ids := make(map[string]int, len(vocab))
	for i, w := range vocab {
		ids[w] = i
	}
	doc := map[string]any{
		"version":        "1.0",
		"truncation":     nil,
		"padding":        nil,
		"added_tokens":   []any{},
		"normalizer":     map[string]any{"type": "Lowercase"},
		"pre_tokenizer":  map[string]any{"type": "BertPreTokenizer"},
		"post_processor": nil,
		"decoder":        nil,
		"model":          map[string]any{"type": "WordLevel", "vocab": ids, "unk_token": "[UNK]"},
	}
	for k, v := range extra {
		doc[k] = v
	}
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tokenizer.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func loadGlove(t testing.TB, opts ...Option) *Tokenizer {
	t.Helper()
	tok, err := Load(writeTokenizer(t, gloveVocab, nil), opts...)
	if err != nil {
		t.Fatalf("Load WordLevel: %v", err)
	}
	return tok
}

// words returns n space-separated copies of w.
func words(w string, n int) string {
	return strings.TrimSpace(strings.Repeat(w+" ", n))
}

// rowIDs returns row i of b without its padding (mask 0 positions).
func rowIDs(b *Batch, i int) []int64 {
	var ids []int64
	for j := range b.SeqLen {
		if b.Mask[i*b.SeqLen+j] == 1 {
			ids = append(ids, b.IDs[i*b.SeqLen+j])
		}
	}
	return ids
}
