package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"retune/internal/testenv"
	"retune/model"
	"retune/models"
)

// queryOnlyModels is a models folder holding glove-100d and "glove-q": the
// same files with an encoder.json marked as the fused export of a
// query-side head (what `retune export --format fused-onnx` writes for one).
func queryOnlyModels(t *testing.T) *model.Registry {
	t.Helper()
	glove := testenv.Glove(t)
	root := t.TempDir()
	if err := os.Symlink(glove, filepath.Join(root, "glove-100d")); err != nil {
		t.Fatal(err)
	}
	installCopy(t, root, glove, "glove-q", []string{models.ModelFile, models.DataFile, models.TokenizerFile},
		func(cfg *models.EncoderConfig) {
			cfg.Provenance = map[string]any{models.ProvenanceHeadApply: model.ApplyQuery}
		})
	reg := model.NewRegistry(root)
	t.Cleanup(func() { reg.Close() })
	return reg
}

// installCopy installs encoder src again under root as name: files copied
// (not linked: ONNX Runtime refuses external data that resolves outside
// the model's folder) and its encoder.json renamed, then given to edit.
func installCopy(t *testing.T, root, src, name string, files []string, edit func(*models.EncoderConfig)) string {
	t.Helper()
	dir := filepath.Join(root, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		testenv.CopyFile(t, filepath.Join(src, f), filepath.Join(dir, f))
	}
	cfg, _, err := models.ReadEncoderConfig(src)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Name = name
	if edit != nil {
		edit(&cfg)
	}
	b, _ := json.Marshal(cfg)
	if err := os.WriteFile(filepath.Join(dir, models.ConfigFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// A query-only encoder must not embed documents: training on it and
// indexing with it are refused; embedding queries with it is its purpose.
func TestQueryOnlyEncoderRefusedForDocuments(t *testing.T) {
	cfg := jobsConfig(t)
	cfg.Models = queryOnlyModels(t)
	js := startJobsServer(t, cfg, false)
	ds := mustJSON[datasetJSON](t, js.upload(newBEIRFixture().parts("")...), http.StatusCreated)
	wantAPIError(t, js.json("POST", "/v1/fine_tuning/jobs", fmt.Sprintf(`{"dataset":%q,"model":"glove-q"}`, ds.ID)),
		400, `model "glove-q" embeds queries only`)
	wantAPIError(t, js.json("POST", "/v1/collections", `{"name":"c","model":"glove-q","documents":[{"id":"d1","text":"cells divide"}]}`),
		400, "encoder glove-q embeds queries only")
	if r := js.json("POST", "/v1/embeddings", `{"model":"glove-q","input":"cells divide"}`); r.Status != 200 {
		t.Fatalf("embedding a query with the query encoder: %d %s", r.Status, r.Body)
	}
}
