package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"retune/internal/testenv"
	"retune/model"
	"retune/models"
)

// nfkcModels installs "tiny-nfkc": the tiny BERT fixture under an NFKC
// normalizer, whose sugarme implementation panics on some texts ("x
// \u3300", an NFKC expansion into three letters). Beside a BertNormalizer,
// which retune does not run itself, it stays sugarme's (NFKC alone is
// retune's: tokenize.ownNormalizer).
func nfkcModels(t *testing.T) *model.Registry {
	t.Helper()
	tiny := testenv.TinyBERT(t)
	root := t.TempDir()
	dir := installCopy(t, root, tiny, "tiny-nfkc", []string{models.ModelFile}, nil)
	data, err := os.ReadFile(filepath.Join(tiny, models.TokenizerFile))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	doc["normalizer"] = map[string]any{"type": "Sequence", "normalizers": []any{
		map[string]any{"type": "NFKC"}, map[string]any{"type": "BertNormalizer", "lowercase": true}}}
	if data, err = json.Marshal(doc); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, models.TokenizerFile), data, 0o644); err != nil {
		t.Fatal(err)
	}
	reg := model.NewRegistry(root)
	t.Cleanup(func() { reg.Close() })
	return reg
}

// A text the encoder's tokenizer cannot take is a 400 naming it, so the
// client can leave it out, in embeddings and in search queries alike (it
// was a 500 naming nothing).
func TestUntokenizableInputIsNamed(t *testing.T) {
	cfg := collectionConfig(t)
	cfg.Models = nfkcModels(t)
	ls := startServer(t, cfg)
	bad := "x \u3300"
	r := ls.json("POST", "/v1/embeddings", `{"model":"tiny-nfkc","input":["a dog","`+bad+`"]}`)
	wantParamError(t, r, http.StatusBadRequest, "input[1]", `input[1] cannot be tokenized by model "tiny-nfkc"'s tokenizer: tokenizer panicked`)
	if r := ls.json("POST", "/v1/embeddings", `{"model":"tiny-nfkc","input":["a dog"]}`); r.Status != http.StatusOK {
		t.Fatalf("a text it takes: %d %s", r.Status, r.Body)
	}
	col := ls.createCollection(`{"model":"tiny-nfkc","name":"c","documents":` + documentsJSON([][2]string{{"d1", "a dog runs"}}) + `}`)
	ls.waitStatus(col.ID, "ready")
	for body, param := range map[string]string{
		`{"query":"` + bad + `"}`:             "query",
		`{"queries":["a dog","` + bad + `"]}`: "queries[1]",
	} {
		r := ls.json("POST", "/v1/collections/"+col.ID+"/search", body)
		wantParamError(t, r, http.StatusBadRequest, param, param+` cannot be tokenized by encoder "tiny-nfkc"'s tokenizer`)
		if strings.Contains(string(r.Body), "internal") {
			t.Errorf("%s: %s", body, r.Body)
		}
	}
}

// A collection holding a document the tokenizer cannot take fails naming
// it (it said "internal error while indexing"), also past the first chunk
// of documents embedded at a time.
func TestUntokenizableDocumentIsNamed(t *testing.T) {
	cfg := collectionConfig(t)
	cfg.Models = nfkcModels(t)
	cfg.MaxDocuments = 400
	ls := startServer(t, cfg)
	docs := make([][2]string, 300)
	for i := range docs {
		docs[i] = [2]string{fmt.Sprintf("d%d", i), fmt.Sprintf("a dog runs %d", i)}
	}
	docs[290][1] = "x \u3300"
	col := ls.createCollection(`{"model":"tiny-nfkc","name":"c","documents":` + documentsJSON(docs) + `}`)
	got := deref(ls.waitStatus(col.ID, "failed").Error)
	if want := `document "d290" cannot be tokenized by encoder "tiny-nfkc"'s tokenizer: tokenizer panicked`; !strings.HasPrefix(got, want) {
		t.Errorf("error %q, want it to start %q", got, want)
	}
}
