package api_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"retune/internal/testenv"
	"retune/model"
	"retune/models"
)

// An installed encoder that does not open (its tokenizer.json gone) is a
// 503 naming it and what it needs, not a 500, wherever a request names it;
// the message shows none of the server's folders.
func TestBrokenEncoderIsUnavailable(t *testing.T) {
	cfg := testConfig(t)
	root := t.TempDir()
	broken := filepath.Join(root, "broken")
	if err := os.Mkdir(broken, 0o755); err != nil {
		t.Fatal(err)
	}
	testenv.CopyFile(t, filepath.Join(testenv.TinyBERT(t), models.ModelFile), filepath.Join(broken, models.ModelFile))
	cfg.Models = model.NewRegistry(root)
	ls := startServer(t, cfg)
	for name, r := range map[string]response{
		"embeddings": ls.json("POST", "/v1/embeddings", `{"model":"broken","input":["a dog"]}`),
		"collection": ls.json("POST", "/v1/collections", `{"model":"broken","documents":[{"id":"a","text":"a dog"}]}`),
	} {
		wantParamError(t, r, http.StatusServiceUnavailable, "model", `installed encoder does not open: "broken"`)
		if body := string(r.Body); !strings.Contains(body, "install it again") || strings.Contains(body, root) {
			t.Errorf("%s: %s", name, body)
		}
	}
}
