package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"retune/internal/testenv"
	"retune/model"
)

// One started server per fuzzing process: glove-100d, a ready collection
// and an uploaded pairs dataset, so requests can name real ids.
type fuzzEnv struct {
	s     *Server
	h     http.Handler
	colID string
	dsID  string
}

func newFuzzEnv(f *testing.F) *fuzzEnv {
	f.Helper()
	testenv.InitORT(f)
	testenv.Glove(f)
	dir := f.TempDir()
	cfg := Config{Models: model.NewRegistry(testenv.ModelsRoot(f)), MaxInputs: 8, MaxBodyBytes: 64 << 10,
		DataDir: dir, Logger: slog.New(slog.DiscardHandler), Workers: 1, MaxDocuments: 20, MaxUploadBytes: 1 << 20}
	s, err := New(cfg)
	if err != nil {
		f.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		s.Close()
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	env := &fuzzEnv{s: s, h: s.Handler()}
	// A ready collection.
	body := `{"name":"fz","model":"glove-100d","documents":[{"id":"cats","text":"Cats are small domesticated felines that purr."},{"id":"rockets","text":"Rockets burn fuel to launch satellites into orbit."},{"id":"bread","text":"Bakers knead dough and bake bread in a hot oven."}]}`
	st, out := fuzzDo(env.h, "POST", "/v1/collections", "application/json", []byte(body))
	if st != http.StatusAccepted {
		f.Fatalf("create collection: %d %s", st, out)
	}
	var col struct{ ID, Status string }
	json.Unmarshal(out, &col)
	env.colID = col.ID
	for deadline := time.Now().Add(60 * time.Second); ; {
		_, out = fuzzDo(env.h, "GET", "/v1/collections/"+col.ID, "", nil)
		json.Unmarshal(out, &col)
		if col.Status == "ready" {
			break
		}
		if time.Now().After(deadline) || col.Status == "failed" {
			f.Fatalf("collection: %s", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// A pairs dataset.
	var pairs strings.Builder
	for i := range 12 {
		fmt.Fprintf(&pairs, `{"query":"topic %d question","pos":["Passage about topic %d and more words."],"neg":["Other passage %d."]}`+"\n", i, i, i)
	}
	var mb bytes.Buffer
	mw := multipart.NewWriter(&mb)
	pw, _ := mw.CreateFormFile("train", "train.jsonl")
	pw.Write([]byte(pairs.String()))
	mw.Close()
	st, out = fuzzDo(env.h, "POST", "/v1/datasets", mw.FormDataContentType(), mb.Bytes())
	if st != http.StatusCreated {
		f.Fatalf("upload dataset: %d %s", st, out)
	}
	var ds struct{ ID string }
	json.Unmarshal(out, &ds)
	env.dsID = ds.ID
	return env
}

func fuzzDo(h http.Handler, method, path, ct string, body []byte) (int, []byte) {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w.Code, w.Body.Bytes()
}

// checkAPIAnswer: a 2xx, or a 4xx with a JSON error message; never a 5xx.
func checkAPIAnswer(t *testing.T, what string, body []byte, status int, out []byte) {
	t.Helper()
	switch {
	case status >= 200 && status < 300:
		if !json.Valid(out) {
			t.Fatalf("%s %q: %d with invalid JSON %q", what, body, status, out)
		}
	case status >= 400 && status < 500:
		var e errorBody
		if err := json.Unmarshal(out, &e); err != nil || e.Error.Message == "" {
			t.Fatalf("%s %q: %d without a JSON error: %q", what, body, status, out)
		}
	default:
		t.Fatalf("%s %q: status %d: %s", what, body, status, out)
	}
}

const fuzzColPlaceholder, fuzzDSPlaceholder = "COLID", "DSID"

// FuzzAPIJSON sends a fuzzed JSON body to one of the JSON routes: the
// embeddings and search routes through the whole handler, job creation
// and collection creation through decodeJSON and their validation (not
// the submission, which would start work). Any body gets a 2xx, or a 4xx
// with a JSON error: never a 5xx (it found "Ⱥ" answered with a 500).
func FuzzAPIJSON(f *testing.F) {
	env := newFuzzEnv(f)
	for _, s := range []string{
		`{"model":"glove-100d","input":"hello world"}`,
		`{"model":"glove-100d","input":["a cat","the dog runs",""],"encoding_format":"base64","dimensions":100}`,
		`{"model":"glove-100d","input":["\u023a","x"]}`,
		`{"model":"glove-100d","input":[[1,2,3]],"user":"u"}`,
		`{"model":"glove-100d","INPUT":"a","input":"b"}`,
		`{"model":"glove-100d","input":"a","encoding_format":null}`,
		`{"model":"glove-100d:head-x","input":"a"}`,
		"\ufeff{\"model\":\"glove-100d\",\"input\":1e3}",
	} {
		f.Add(uint8(0), []byte(s))
	}
	for _, s := range []string{
		`{"query":"cats"}`,
		`{"queries":["cats","rockets orbit"],"k":2,"mode":"hybrid","fusion":"weighted","alpha":0.5,"include_text":false}`,
		`{"query":"bread","mode":"bm25","k":1000,"rrf_k":60,"fusion":"rrf"}`,
		`{"query":"x","k":1e3,"alpha":1.5}`,
		`{"query":"x","head":"head-00000000000000000000000000"}`,
	} {
		f.Add(uint8(1), []byte(s))
	}
	for _, s := range []string{
		`{"dataset":"DSID","model":"glove-100d","hyperparameters":{"epochs":2,"dev_fraction":0}}`,
		`{"dataset":"DSID","model":"glove-100d","negatives":"mined+generated","generator":"offline","hyperparameters":{"epochs":1,"lr":0.01,"batch_size":65536,"temperature":1e-300,"rank":100,"test_split":"train"}}`,
		`{"dataset":"DSID","model":"glove-100d","negatives":"generated","generator":"causal","llm":{"base_url":"http://127.0.0.1:1/v1","model":"m","api_key":"k"}}`,
		`{"dataset":"DSID","model":"bert-tiny-fixture","hyperparameters":{"train_split":"train","test_split":null}}`,
	} {
		f.Add(uint8(2), []byte(s))
	}
	for _, s := range []string{
		`{"name":"n","model":"glove-100d","documents":[{"id":"a","text":"t","title":"x"},{"id":"b","text":"u"}]}`,
		`{"name":"n","model":"glove-100d","dataset":"DSID"}`,
		`{"name":"n","model":"glove-100d","documents":[{"id":" a\u2028","text":"\u0000"},{"id":1,"text":"u"}]}`,
		`{"model":"glove-100d","head":"","documents":[]}`,
	} {
		f.Add(uint8(3), []byte(s))
	}
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		body = bytes.ReplaceAll(body, []byte(fuzzDSPlaceholder), []byte(env.dsID))
		body = bytes.ReplaceAll(body, []byte(fuzzColPlaceholder), []byte(env.colID))
		switch route % 4 {
		case 0:
			st, out := fuzzDo(env.h, "POST", "/v1/embeddings", "application/json", body)
			checkAPIAnswer(t, "embeddings", body, st, out)
			if st == 200 {
				var r struct {
					Data []struct {
						Embedding json.RawMessage `json:"embedding"`
					} `json:"data"`
				}
				if err := json.Unmarshal(out, &r); err != nil || len(r.Data) == 0 {
					t.Fatalf("embeddings answer %s", out)
				}
			}
		case 1:
			st, out := fuzzDo(env.h, "POST", "/v1/collections/"+env.colID+"/search", "application/json", body)
			checkAPIAnswer(t, "search", body, st, out)
			if st == 200 {
				var r searchResponse
				if err := json.Unmarshal(out, &r); err != nil {
					t.Fatalf("search answer %s: %v", out, err)
				}
				for _, d := range r.Data {
					for _, h := range d.Hits {
						if math.IsNaN(h.Score) || math.IsInf(h.Score, 0) {
							t.Fatalf("score %v", h.Score)
						}
					}
				}
			}
		case 2:
			w := httptest.NewRecorder()
			c, _ := gin.CreateTestContext(w)
			c.Request = httptest.NewRequest("POST", "/v1/fine_tuning/jobs", bytes.NewReader(body))
			req := newJobRequest()
			if decodeJSON(c, &req) {
				if _, _, err := env.s.checkJobRequest(c.Request.Context(), req); err != nil {
					env.s.abortRequest(c, err)
				} else {
					c.JSON(http.StatusCreated, gin.H{"ok": true})
				}
			}
			checkAPIAnswer(t, "job", body, w.Code, w.Body.Bytes())
		case 3:
			w := httptest.NewRecorder()
			c, _ := gin.CreateTestContext(w)
			c.Request = httptest.NewRequest("POST", "/v1/collections", bytes.NewReader(body))
			var req createCollectionRequest
			if decodeJSON(c, &req) {
				req.Name = strings.TrimSpace(req.Name)
				docs, err := env.s.checkCreateRequest(req)
				if err != nil {
					env.s.writeCollectionError(c, err)
				} else {
					c.JSON(http.StatusAccepted, gin.H{"ok": true})
					if docs != nil {
						// Accepted documents must read back as the indexer reads them.
						dir := t.TempDir()
						if err := writeCollectionCorpus(dir, docs); err != nil {
							t.Fatalf("write corpus: %v", err)
						}
						back, err := readCorpusFile(filepath.Join(dir, collectionCorpusFile))
						if err != nil {
							t.Fatalf("accepted documents %q do not read back: %v", body, err)
						}
						if len(back) != len(docs) {
							t.Fatalf("%d docs read back from %d", len(back), len(docs))
						}
						for i := range docs {
							if back[i] != docs[i] {
								t.Fatalf("doc %d read back as %+v, posted %+v", i, back[i], docs[i])
							}
						}
					}
				}
			}
			checkAPIAnswer(t, "collection", body, w.Code, w.Body.Bytes())
		}
	})
}
