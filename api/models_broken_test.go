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
	"retune/store"
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
	// A job on it is refused up front, not accepted to fail once it runs.
	ds, err := ls.srv.Store().CreateDataset(t.Context(), store.Dataset{Name: "d", Format: "beir"})
	if err != nil {
		t.Fatal(err)
	}
	r := ls.json("POST", "/v1/fine_tuning/jobs", `{"model":"broken","dataset":"`+ds.ID+`"}`)
	wantParamError(t, r, http.StatusServiceUnavailable, "model", `installed encoder does not open: "broken"`)
	if jobs, _, err := ls.srv.Store().ListJobs(t.Context(), store.Page{Limit: 10}); err != nil || len(jobs) != 0 {
		t.Fatalf("jobs %v, %v; want none", jobs, err)
	}
	// A head trained on it cannot be checked against it.
	hj, w, _ := headFiles(t, "broken", "x", nil)
	ct, body := multipartBody(t, formPart{"head", "head.json", hj}, formPart{"weights", "weights.bin", w})
	r = ls.do("POST", "/v1/heads", ct, body)
	wantAPIError(t, r, http.StatusServiceUnavailable, `installed encoder does not open: "broken"`)
	if strings.Contains(string(r.Body), root) {
		t.Errorf("head upload: %s", r.Body)
	}
	// A head on it exports as ONNX alone, but not fused with the encoder.
	h, err := ls.srv.Store().CreateHead(t.Context(), store.Head{Encoder: "broken", EncoderChecksum: "x", DIn: 32, DOut: 32, Apply: "shared"})
	if err != nil {
		t.Fatal(err)
	}
	wantAPIError(t, ls.do("GET", "/v1/heads/"+h.ID+"/export?format=fused-onnx", "", nil), http.StatusServiceUnavailable, `installed encoder does not open: "broken"`)
}

// GET /v1/models lists a head only while its encoder is installed.
func TestModelsListsHeadsOfInstalledEncoders(t *testing.T) {
	ls := startServer(t, testConfig(t))
	st := ls.srv.Store()
	kept, err := st.CreateHead(t.Context(), store.Head{Encoder: "glove-100d", EncoderChecksum: "x", DIn: 100, DOut: 100, Apply: "shared"})
	if err != nil {
		t.Fatal(err)
	}
	gone, err := st.CreateHead(t.Context(), store.Head{Encoder: "uninstalled", EncoderChecksum: "x", DIn: 100, DOut: 100, Apply: "shared"})
	if err != nil {
		t.Fatal(err)
	}
	body := string(ls.do("GET", "/v1/models", "", nil).Body)
	if !strings.Contains(body, `"glove-100d:ft-`+kept.ID+`"`) || strings.Contains(body, gone.ID) {
		t.Fatalf("models: %s", body)
	}
}
