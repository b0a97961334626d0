package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"retune/model"
)

// headFiles saves a head on glove-100d (W = identity with the diagonal
// from 50 on zeroed) as retune train does and returns its two files.
func headFiles(t *testing.T, encoder, checksum string, edit func(headJSON string) string) (head, weights string, h *model.Head) {
	t.Helper()
	h, err := model.NewHead(model.HeadConfig{DIn: 100, DOut: 100, Apply: model.ApplyShared})
	if err != nil {
		t.Fatal(err)
	}
	p := h.Params()
	for i := 50; i < 100; i++ {
		p[i*100+i] = 0
	}
	head, weights = savedHeadFiles(t, h, encoder, checksum, edit)
	return head, weights, h
}

// savedHeadFiles saves h as retune train does and returns its two files,
// head.json passed through edit when not nil.
func savedHeadFiles(t *testing.T, h *model.Head, encoder, checksum string, edit func(headJSON string) string) (head, weights string) {
	t.Helper()
	dir := t.TempDir()
	meta := model.HeadMeta{Encoder: encoder, EncoderChecksum: checksum, Training: map[string]any{"test_split": "test"},
		Metrics: map[string]any{"base": map[string]float64{"ndcg@10": 0.2}, "tuned": map[string]float64{"ndcg@10": 0.4},
			"training": map[string]any{"best_epoch": 7, "dev_best": map[string]float64{"ndcg@10": 0.5}}}}
	if err := h.Save(dir, meta); err != nil {
		t.Fatal(err)
	}
	hj, err := os.ReadFile(filepath.Join(dir, "head.json"))
	if err != nil {
		t.Fatal(err)
	}
	w, err := os.ReadFile(filepath.Join(dir, "weights.bin"))
	if err != nil {
		t.Fatal(err)
	}
	head = string(hj)
	if edit != nil {
		head = edit(head)
	}
	return head, string(w)
}

// A head trained with retune train is uploaded, listed and served like a
// job's; broken or mismatched uploads are refused and store nothing.
func TestHeadUpload(t *testing.T) {
	cfg := jobsConfig(t)
	cfg.MaxUploadBytes = 16 << 20 // past the head.json bound
	js := startJobsServer(t, cfg, false)
	sum, err := glove(t, cfg).Checksum()
	if err != nil {
		t.Fatal(err)
	}
	upload := func(parts ...formPart) response {
		ct, body := multipartBody(t, parts...)
		return js.do("POST", "/v1/heads", ct, body)
	}

	hj, w, h := headFiles(t, "glove-100d", sum, nil)
	got := mustJSON[struct {
		ID, Model, Encoder, Apply string
		Job                       *string
		DIn                       int `json:"d_in"`
		Metrics                   struct {
			TestSplit string             `json:"test_split"`
			Tuned     map[string]float64 `json:"tuned"`
			BestEpoch int                `json:"best_epoch"`
		}
	}](t, upload(formPart{"head", "head.json", hj}, formPart{"weights", "weights.bin", w}), http.StatusCreated)
	if got.Model != "glove-100d:ft-"+got.ID || got.Job != nil || got.DIn != 100 || got.Apply != "shared" ||
		got.Metrics.TestSplit != "test" || got.Metrics.Tuned["ndcg@10"] != 0.4 || got.Metrics.BestEpoch != 7 {
		t.Fatalf("uploaded head: %+v", got)
	}
	tuned := embedVia(t, js, got.Model, []string{"the dog runs"})[0]
	base := embedVia(t, js, "glove-100d", []string{"the dog runs"})[0]
	want := h.ProjectBatch([][]float32{base})[0]
	for i := range want {
		if d := want[i] - tuned[i]; d > 1e-5 || d < -1e-5 {
			t.Fatalf("embedding %d: %g, want %g (the head applied to the base vector)", i, tuned[i], want[i])
		}
	}

	// Without a negatives part there is nothing to serve; with one, it is
	// served as sent.
	wantAPIError(t, js.do("GET", "/v1/heads/"+got.ID+"/negatives", "", nil), http.StatusNotFound, "has no stored generated negatives")
	negs := `{"report":{"generator":"causal","pairs":1,"generated":1,"kept":1,"rejected_by_reason":{},"kept_by_type":{"entity_shift":1},` +
		`"empty_pairs":0,"surplus":0,"failures":0,"not_run":0,"diagnostics":{},"elapsed_s":1,` +
		`"llm":{"base_url":"http://llm/v1","model":"m","temperature":0.7,"prompts":["causal_analysis.v1","causal_generate.v1"]}},` +
		`"negatives":[{"query_id":"q1","pos_id":"d1","text":"Dogs walk slowly in the park at night.","node":"R1","strategy":"swap",` +
		`"type":"entity_shift","source":"from_scratch","break_explanation":"another animal","generator":"causal"}]}`
	withNegs := mustJSON[struct{ ID string }](t, upload(formPart{"head", "head.json", hj}, formPart{"weights", "weights.bin", w},
		formPart{"negatives", "negatives.json", negs}), http.StatusCreated)
	if r := js.do("GET", "/v1/heads/"+withNegs.ID+"/negatives", "", nil); r.Status != http.StatusOK || string(r.Body) != negs {
		t.Fatalf("negatives of an uploaded head: %d %s", r.Status, r.Body)
	}

	// A byte-order mark before head.json (Windows editors write one) is
	// ignored, as in JSON bodies and dataset files.
	mustJSON[struct{ ID string }](t, upload(formPart{"head", "head.json", "\ufeff" + hj}, formPart{"weights", "weights.bin", w}), http.StatusCreated)

	corrupt := []byte(w)
	corrupt[100] ^= 1
	noEncoder, _, _ := headFiles(t, "glove-300d", sum, nil)
	stale, staleW, _ := headFiles(t, "glove-100d", strings.Repeat("0", 64), nil)
	escape, _, _ := headFiles(t, "glove-100d", sum, func(s string) string {
		return strings.Replace(s, `"weights_file": "weights.bin"`, `"weights_file": "../../lock"`, 1)
	})
	if escape == hj {
		t.Fatal("the weights_file edit did not apply")
	}
	unnamed, _, _ := headFiles(t, " ", sum, nil)
	// A query-only head must keep the encoder's width: the documents it is
	// compared with are not projected.
	narrow, err := model.NewHead(model.HeadConfig{DIn: 100, DOut: 50})
	if err != nil {
		t.Fatal(err)
	}
	narrowQuery, narrowW := savedHeadFiles(t, narrow, "glove-100d", sum, func(s string) string {
		return strings.Replace(s, `"apply": "shared"`, `"apply": "query"`, 1)
	})
	badMetrics, _, _ := headFiles(t, "glove-100d", sum, func(s string) string {
		var doc map[string]any
		if err := json.Unmarshal([]byte(s), &doc); err != nil {
			t.Fatal(err)
		}
		doc["metrics"].(map[string]any)["base"] = "x"
		b, _ := json.Marshal(doc)
		return string(b)
	})
	for _, tc := range []struct {
		name   string
		parts  []formPart
		status int
		msg    string
	}{
		{"missing weights", []formPart{{"head", "head.json", hj}}, 400, `missing part "weights"`},
		{"unknown part", []formPart{{"head", "head.json", hj}, {"weights", "w", w}, {"model", "m", "x"}}, 400, `unknown part "model"`},
		{"corrupted weights", []formPart{{"head", "head.json", hj}, {"weights", "w", string(corrupt)}}, 400, "checksum mismatch"},
		{"not JSON", []formPart{{"head", "head.json", "{"}, {"weights", "w", w}}, 400, "not a valid head: head.json is not valid JSON at byte 1: unexpected end of JSON input"},
		{"not an object", []formPart{{"head", "head.json", "true"}, {"weights", "w", w}}, 400, "not a valid head: head.json must be a JSON object, not a boolean"},
		{"a field of the wrong type", []formPart{{"head", "head.json", strings.Replace(hj, `"d_in": 100,`, `"d_in": [100],`, 1)}, {"weights", "w", w}}, 400,
			`not a valid head: head.json: field "config.d_in" must be an integer, not an array`},
		{"another layout", []formPart{{"head", "head.json", strings.Replace(hj, `"param_layout": [`, `"param_layout": [{"name": "bias", "shape": []},`, 1)}, {"weights", "w", w}}, 400,
			"not a valid head: head.json: param_layout lists bias [], weight [100 100]; the config implies weight [100 100]"},
		{"weights path", []formPart{{"head", "head.json", escape}, {"weights", "w", w}}, 400, `weights_file "../../lock" must be a plain file name`},
		{"huge head.json", []formPart{{"head", "head.json", strings.Replace(hj, "{", `{"junk":"`+strings.Repeat("x", 5<<20)+`",`, 1)}, {"weights", "w", w}}, 413, "a head.json is at most 4 MiB"},
		{"head twice", []formPart{{"head", "head.json", hj}, {"head", "head.json", hj}, {"weights", "w", w}}, 400, `part "head" sent twice`},
		{"encoder not installed", []formPart{{"head", "head.json", noEncoder}, {"weights", "w", w}}, 404, `encoder "glove-300d", which is not installed`},
		{"narrowing query-only head", []formPart{{"head", "head.json", narrowQuery}, {"weights", "w", narrowW}}, 400, "a query-only head must keep the encoder's width"},
		{"no encoder named", []formPart{{"head", "head.json", unnamed}, {"weights", "w", w}}, 400, `head.json names no "encoder"`},
		{"metrics of the wrong shape", []formPart{{"head", "head.json", badMetrics}, {"weights", "w", w}}, 400, "metrics.base holds a JSON string where an object belongs"},
		{"another encoder", []formPart{{"head", "head.json", stale}, {"weights", "w", staleW}}, 409, "the loaded encoder has sha256"},
		{"negatives not JSON", []formPart{{"head", "head.json", hj}, {"weights", "w", w}, {"negatives", "n", "{"}}, 400, `part "negatives": not a negatives.json as retune train writes it`},
		{"negative without text", []formPart{{"head", "head.json", hj}, {"weights", "w", w}, {"negatives", "n", strings.Replace(negs, `"text":"Dogs walk slowly in the park at night."`, `"text":""`, 1)}}, 400, "negatives[0] lacks its query_id, pos_id or text"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			js.use(t)
			r := upload(tc.parts...)
			wantAPIError(t, r, tc.status, tc.msg)
			if strings.Contains(string(r.Body), cfg.DataDir) {
				t.Fatalf("the message shows a server path: %s", r.Body)
			}
		})
	}
	js.use(t)
	wantAPIError(t, js.json("POST", "/v1/heads", `{}`), http.StatusUnsupportedMediaType, "multipart/form-data")
	if list := mustJSON[listJSON[struct{ ID string }]](t, js.do("GET", "/v1/heads", "", nil), http.StatusOK); len(list.Data) != 3 {
		t.Fatalf("refused uploads stored heads: %+v", list.Data)
	}
	entries, _ := os.ReadDir(filepath.Join(cfg.DataDir, "heads"))
	if len(entries) != 3 {
		t.Fatalf("head folders after refused uploads: %v", entries)
	}
}

// A head with a bias maps a text the encoder knows no token of to its bias,
// not to zero: such a text is still unembeddable, and named as such.
func TestBiasHeadKeepsUnembeddableTextsZero(t *testing.T) {
	cfg := jobsConfig(t)
	js := startJobsServer(t, cfg, false)
	sum, err := glove(t, cfg).Checksum()
	if err != nil {
		t.Fatal(err)
	}
	h, err := model.NewHead(model.HeadConfig{DIn: 100, DOut: 100, Bias: true, Apply: model.ApplyShared})
	if err != nil {
		t.Fatal(err)
	}
	p := h.Params()
	for i := range 100 {
		p[100*100+i] = 0.5 // the bias, after W
	}
	up := uploadHead(t, js, h, sum)

	r := js.json("POST", "/v1/embeddings", `{"model":"`+up.Model+`","input":["the dog runs","2019"]}`)
	var e struct {
		Data         []struct{ Embedding []float64 }
		Unembeddable []int
	}
	if err := json.Unmarshal(r.Body, &e); err != nil || r.Status != 200 || len(e.Data) != 2 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	if fmt.Sprint(e.Unembeddable) != "[1]" || slices.ContainsFunc(e.Data[1].Embedding, func(x float64) bool { return x != 0 }) {
		t.Fatalf("unembeddable %v, embedding of \"2019\" %v: want it named and zero, not the bias", e.Unembeddable, e.Data[1].Embedding[:3])
	}
}

// A head deleted while a request loads it is a 404 to that request, like
// to any request after the delete, never a 500.
func TestHeadDeletedWhileLoading(t *testing.T) {
	cfg := jobsConfig(t)
	js := startJobsServer(t, cfg, false)
	sum, err := glove(t, cfg).Checksum()
	if err != nil {
		t.Fatal(err)
	}
	hj, w, _ := headFiles(t, "glove-100d", sum, nil)
	for range 50 {
		ct, body := multipartBody(t, formPart{"head", "head.json", hj}, formPart{"weights", "weights.bin", w})
		up := mustJSON[struct{ ID, Model string }](t, js.do("POST", "/v1/heads", ct, body), http.StatusCreated)
		var wg sync.WaitGroup
		statuses := make([]int, 3)
		wg.Go(func() { statuses[0] = js.do("DELETE", "/v1/heads/"+up.ID, "", nil).Status })
		wg.Go(func() {
			statuses[1] = js.json("POST", "/v1/embeddings", `{"model":"`+up.Model+`","input":"the dog runs"}`).Status
		})
		wg.Go(func() {
			statuses[2] = js.json("POST", "/v1/collections",
				`{"model":"glove-100d","head":"`+up.ID+`","documents":[{"id":"a","text":"the dog runs"}]}`).Status
		})
		wg.Wait()
		// The delete is a 409 when the collection was created first.
		if (statuses[0] != 200 && statuses[0] != 409) || slices.Contains(statuses[1:], 500) {
			t.Fatalf("delete %d, embeddings %d, collection %d: want 200 or 409 and no 500", statuses[0], statuses[1], statuses[2])
		}
	}
}

// uploadHead saves h as trained on glove-100d of checksum sum and uploads
// it, returning the stored head's id and model name.
func uploadHead(t *testing.T, js *jobsServer, h *model.Head, sum string) (up struct{ ID, Model string }) {
	t.Helper()
	dir := t.TempDir()
	if err := h.Save(dir, model.HeadMeta{Encoder: "glove-100d", EncoderChecksum: sum}); err != nil {
		t.Fatal(err)
	}
	hj, _ := os.ReadFile(filepath.Join(dir, "head.json"))
	w, _ := os.ReadFile(filepath.Join(dir, "weights.bin"))
	ct, body := multipartBody(t, formPart{"head", "head.json", string(hj)}, formPart{"weights", "weights.bin", string(w)})
	return mustJSON[struct{ ID, Model string }](t, js.do("POST", "/v1/heads", ct, body), http.StatusCreated)
}
