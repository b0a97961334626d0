package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestJobRequestErrors: each refused job request answers its status and a
// message that names the problem, and creates no job.
func TestJobRequestErrors(t *testing.T) {
	js := startJobsServer(t, jobsConfig(t), false)
	ds := mustJSON[datasetJSON](t, js.upload(newBEIRFixture().parts("")...), http.StatusCreated)
	body := func(extra string) string {
		return fmt.Sprintf(`{"dataset":%q,"model":"glove-100d"%s}`, ds.ID, extra)
	}
	const unknownDS = "ds-aaaaaaaaaaaaaaaaaaaaaaaa"
	cases := []struct {
		name, body string
		status     int
		msg        string
	}{
		{"unknown field", body(`,"suffix":"x"`), 400, `unknown field "suffix"`},
		{"unknown hyperparameter", body(`,"hyperparameters":{"epoch":3}`), 400, `unknown field "hyperparameters.epoch"`},
		{"empty hyperparameter key", body(`,"hyperparameters":{"":3}`), 400, `unknown field hyperparameters."" (an empty key)`},
		{"a key ending in a dot", body(`,"hyperparameters":{"lr.":3}`), 400, `unknown field "hyperparameters.lr."`},
		{"unknown llm field", body(`,"negatives":"generated","generator":"causal","llm":{"url":"x"}`), 400, `unknown field "llm.url"`},
		{"wrong type", body(`,"hyperparameters":{"epochs":"many"}`), 400, `field "hyperparameters.epochs" must be an integer, not string`},
		{"wrong type, number", body(`,"hyperparameters":{"lr":"fast"}`), 400, `field "hyperparameters.lr" must be a number, not string`},
		{"a fraction for an integer", body(`,"hyperparameters":{"epochs":1.5}`), 400, `field "hyperparameters.epochs" must be an integer, not number 1.5`},
		{"an integer written as a float beyond 2^53", body(`,"hyperparameters":{"seed":1.5e18}`), 400,
			`field "hyperparameters.seed": an integer beyond 2^53 (9007199254740992) must be written in plain digits: 1500000000000000000, not 1.5e18`},
		{"an integer out of range", body(`,"hyperparameters":{"seed":1e30}`), 400,
			`field "hyperparameters.seed": number 1e30 is out of range: an integer here is from -9223372036854775808 to 9223372036854775807`},
		{"a number out of range", body(`,"hyperparameters":{"temperature":1e400}`), 400,
			`field "hyperparameters.temperature": number 1e400 is out of range: a number here is at most 1.7976931348623157e+308 in magnitude`},
		{"a fraction too small for a float64", body(`,"hyperparameters":{"epochs":1e-400}`), 400, `field "hyperparameters.epochs" must be an integer, not number 1e-400`},
		{"not an object", `[]`, 400, "the body must be an object, not array"},
		{"empty negatives", body(`,"negatives":""`), 400, `negatives must be one of none, mined, generated, mined+generated; got ""`},
		{"empty generator", body(`,"negatives":"generated","generator":""`), 400, `generator must be offline, causal or naive; got ""`},
		{"missing dataset", `{"model":"glove-100d"}`, 400, `"dataset" is required`},
		{"malformed dataset", `{"dataset":"ds-1","model":"glove-100d"}`, 400, "malformed dataset id"},
		{"unknown dataset", fmt.Sprintf(`{"dataset":%q,"model":"glove-100d"}`, unknownDS), 404, "dataset " + unknownDS + " not found"},
		{"missing model", fmt.Sprintf(`{"dataset":%q}`, ds.ID), 400, `"model" is required`},
		{"unknown model", fmt.Sprintf(`{"dataset":%q,"model":"nope"}`, ds.ID), 404, `model "nope" not found`},
		{"fine-tuned model", fmt.Sprintf(`{"dataset":%q,"model":"glove-100d:ft-head-aaaaaaaaaaaaaaaaaaaaaaaa"}`, ds.ID), 400, `fine-tune its encoder "glove-100d"`},
		{"bad hyperparameters", body(`,"hyperparameters":{"epochs":0,"lr":-1}`), 400, "epochs must be in [1, 10000], got 0; lr must be in (0, 10), got -1"},
		{"a temperature that overflows", body(`,"negatives":"mined+generated","hyperparameters":{"temperature":1e-44,"entropy_weight":1e300}`), 400,
			"temperature must be >= 0.0001, got 1e-44; entropy_weight must be in [0, 1000], got 1e+300"},
		{"bad apply", body(`,"hyperparameters":{"apply":"docs"}`), 400, `apply must be "shared" or "query", got "docs"`},
		{"rank past the encoder's width", body(`,"hyperparameters":{"rank":101}`), 400, `rank 101 exceeds the width 100 of encoder "glove-100d"`},
		{"bad mining", body(`,"hyperparameters":{"mined_per_query":0,"margin":0}`), 400, "mined_per_query must be in [1, 1000], got 0; margin must be > 0"},
		{"no negatives at all", body(`,"negatives":"none","hyperparameters":{"in_batch":false}`), 400, "leaves InfoNCE nothing to contrast"},
		{"bad negatives", body(`,"negatives":"random"`), 400, "negatives must be one of none, mined, generated, mined+generated"},
		{"bad gen_max_cos", body(`,"negatives":"generated","hyperparameters":{"gen_max_cos":0}`), 400, "gen_max_cos (the generated-negative cosine limit) must be in (0, 1]"},
		{"bad gen_min_words", body(`,"negatives":"generated","hyperparameters":{"gen_min_words":0}`), 400, "gen_min_words (the generated-negative minimum length) must be >= 1"},
		{"causal without LLM", body(`,"negatives":"generated","generator":"causal"`), 400, "the causal generator needs an LLM"},
		{"naive without model", body(`,"negatives":"mined+generated","generator":"naive","llm":{"base_url":"http://127.0.0.1:9/v1"}`), 400, "the naive generator needs an LLM"},
		{"huge LLM URL", body(`,"negatives":"generated","generator":"causal","llm":{"base_url":"http://` + strings.Repeat("a", 3000) + `/v1","model":"m"}`), 400, "llm.base_url is 3010 bytes; at most 2048"},
		{"huge LLM model", body(`,"negatives":"generated","generator":"causal","llm":{"base_url":"http://h/v1","model":"` + strings.Repeat("m", 300) + `"}`), 400, "llm.model is 300 bytes; at most 256"},
		{"Azure deployment URL naming another model", body(`,"negatives":"generated","generator":"causal","llm":{"base_url":"https://res.openai.azure.com/openai/deployments/dep","model":"other"}`),
			400, `the base URL names the Azure deployment "dep" but the model is "other"`},
		{"bad LLM URL", body(`,"negatives":"generated","generator":"causal","llm":{"base_url":"ftp://x","model":"m"}`), 400, `llm.base_url: LLM base URL "ftp://x" is not an http(s) URL`},
		{"bad LLM URL with a password", body(`,"negatives":"generated","generator":"causal","llm":{"base_url":"http://u:p%zz@h/v1","model":"m"}`), 400, `LLM base URL "http://h/v1" is not`},
		{"unknown generator", body(`,"negatives":"generated","generator":"gpt"`), 400, `generator must be offline, causal or naive; got "gpt"`},
		{"generator without generation", body(`,"generator":"offline"`), 400, `apply only to negatives "generated" or "mined+generated", not "mined"`},
		{"unknown train split", body(`,"hyperparameters":{"train_split":"dev"}`), 400, `train_split: dataset ` + ds.ID + ` has no split "dev" (it has test, train)`},
		{"unknown test split", body(`,"hyperparameters":{"test_split":"dev"}`), 400, `test_split: dataset ` + ds.ID + ` has no split "dev"`},
		{"test split is the train split", body(`,"hyperparameters":{"test_split":"train"}`), 400, `test_split must differ from train_split (both "train")`},
		{"mining settings without mining", body(`,"negatives":"none","hyperparameters":{"mined_per_query":5,"margin":0.9}`), 400,
			`hyperparameters mined_per_query, margin apply only to jobs that mine negatives, not negatives "none"`},
		{"generation settings without generation", body(`,"negatives":"none","hyperparameters":{"per_query":50,"gen_max_cos":0.5}`), 400,
			`hyperparameters per_query, gen_max_cos apply only to negatives "generated" or "mined+generated", not "none"`},
		{"a generation setting with mining", body(`,"negatives":"mined","hyperparameters":{"gen_min_words":4}`), 400,
			`hyperparameters gen_min_words applies only to negatives "generated" or "mined+generated", not "mined"`},
		{"the entropy term without generation", body(`,"negatives":"mined","hyperparameters":{"entropy_weight":0.2}`), 400,
			`hyperparameters entropy_weight applies only to negatives "generated" or "mined+generated", not "mined"`},
		{"wrong type, mining", body(`,"hyperparameters":{"mined_per_query":"five"}`), 400, `field "hyperparameters.mined_per_query" must be an integer, not string`},
		{"every problem listed", body(`,"hyperparameters":{"epochs":0,"lr":-1,"train_split":""}`), 400, "train_split is empty; epochs must be in [1, 10000], got 0; lr must be in (0, 10)"},
		{"trailing data", body(``) + `{}`, 400, "after the JSON object"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			js.use(t)
			wantAPIError(t, js.json("POST", "/v1/fine_tuning/jobs", tc.body), tc.status, tc.msg)
		})
	}
	js.use(t)
	// Problems with one hyperparameter name it; several, their object. An
	// empty key is named as JSON writes it.
	for extra, param := range map[string]string{`,"hyperparameters":{"":1}`: `hyperparameters.\"\"`, `,"":1`: `\"\"`, `,"hyperparameters":{"epochs":0}`: "hyperparameters.epochs", `,"negatives":"x"`: "negatives",
		`,"hyperparameters":{"test_split":"dev"}`: "hyperparameters.test_split", `,"hyperparameters":{"epochs":0,"lr":-1}`: "hyperparameters",
		`,"hyperparameters":{"train_split":""}`: "hyperparameters.train_split"} {
		if r := js.json("POST", "/v1/fine_tuning/jobs", body(extra)); !strings.Contains(string(r.Body), `"param":"`+param+`"`) {
			t.Errorf("%s: %s, want param %q", extra, r.Body, param)
		}
	}
	// A test split that judges a training query: refused up front, by
	// default too (the default test split is used when the dataset has one).
	leaky := newBEIRFixture()
	leaky.qrelsTest += "q3\tdoc3\t1\n"
	leak := mustJSON[datasetJSON](t, js.upload(leaky.parts("")...), http.StatusCreated)
	wantParamError(t, js.json("POST", "/v1/fine_tuning/jobs", fmt.Sprintf(`{"dataset":%q,"model":"glove-100d"}`, leak.ID)),
		400, "hyperparameters.test_split", `query "q3" has relevant documents in both split "train" and split "test"`)
	mustJSON[jobJSON](t, js.json("POST", "/v1/fine_tuning/jobs",
		fmt.Sprintf(`{"dataset":%q,"model":"glove-100d","hyperparameters":{"test_split":""}}`, leak.ID)), http.StatusCreated)
	// A byte-order mark before the JSON is ignored, and an integer may be
	// written as 2.0.
	bom := mustJSON[jobJSON](t, js.json("POST", "/v1/fine_tuning/jobs", "\ufeff"+fmt.Sprintf(`{"dataset":%q,"model":"glove-100d","hyperparameters":{"test_split":"","epochs":2.0}}`, leak.ID)), http.StatusCreated)
	if bom.Hyperparameters["epochs"] != 2.0 {
		t.Errorf("epochs sent as 2.0: %v", bom.Hyperparameters["epochs"])
	}
	// A job's hyperparameters as it shows them, every setting included, can
	// be sent again with another negatives mode: the mining and generation
	// defaults, which do not apply to it, pass.
	again, err := json.Marshal(map[string]any{"dataset": leak.ID, "model": "glove-100d", "negatives": "none", "hyperparameters": bom.Hyperparameters})
	if err != nil {
		t.Fatal(err)
	}
	mustJSON[jobJSON](t, js.json("POST", "/v1/fine_tuning/jobs", string(again)), http.StatusCreated)
	wantAPIError(t, js.do("POST", "/v1/fine_tuning/jobs", "text/plain", []byte(body(""))), http.StatusUnsupportedMediaType, "application/json")
	wantAPIError(t, js.json("POST", "/v1/fine_tuning/jobs", body(`,"llm":{"model":"`+strings.Repeat("m", 70<<10)+`"}`)),
		http.StatusRequestEntityTooLarge, "too large")
	if list := mustJSON[listJSON[jobJSON]](t, js.do("GET", "/v1/fine_tuning/jobs", "", nil), http.StatusOK); len(list.Data) != 3 {
		t.Fatalf("want only the three accepted jobs, got %+v", list.Data)
	}
}

// TestLookupErrors: malformed ids are 400, unknown ones 404, bad paging 400.
func TestLookupErrors(t *testing.T) {
	js := startJobsServer(t, jobsConfig(t), false)
	const (
		job  = "ftjob-aaaaaaaaaaaaaaaaaaaaaaaa"
		head = "head-aaaaaaaaaaaaaaaaaaaaaaaa"
		ds   = "ds-aaaaaaaaaaaaaaaaaaaaaaaa"
	)
	cases := []struct {
		method, path string
		status       int
		msg          string
	}{
		{"GET", "/v1/fine_tuning/jobs/ftjob-x", 400, `malformed job id "ftjob-x"`},
		{"GET", "/v1/fine_tuning/jobs/" + ds, 400, "malformed job id"},
		{"GET", "/v1/fine_tuning/jobs/" + job, 404, "job " + job + " not found"},
		{"POST", "/v1/fine_tuning/jobs/" + job + "/cancel", 404, "not found"},
		{"POST", "/v1/fine_tuning/jobs/x/cancel", 400, "malformed job id"},
		{"GET", "/v1/fine_tuning/jobs/" + job + "/events", 404, "not found"},
		{"GET", "/v1/fine_tuning/jobs/" + job + "/checkpoints", 404, "not found"},
		{"GET", "/v1/fine_tuning/jobs/x/events", 400, "malformed job id"},
		{"GET", "/v1/fine_tuning/jobs/" + job + "/events?after=-1", 400, "after must be an event seq"},
		{"GET", "/v1/fine_tuning/jobs/" + job + "/events?after=%2B3", 400, "after must be an event seq"},
		{"GET", "/v1/heads/" + job + "/export?format=onnx&format=bogus", 400, "is given 2 times"},
		{"GET", "/v1/fine_tuning/jobs/" + job + "/events?limit=1001", 400, "limit must be an integer from 1 to 1000"},
		{"GET", "/v1/fine_tuning/jobs?limit=0", 400, "limit must be an integer from 1 to 100"},
		{"GET", "/v1/fine_tuning/jobs?after=" + ds, 400, "after: malformed job id"},
		{"GET", "/v1/fine_tuning/jobs?after=" + job, 400, "after: job " + job + " not found"},
		{"GET", "/v1/datasets?limit=x", 400, "limit must be"},
		{"GET", "/v1/datasets/" + ds, 404, "dataset " + ds + " not found"},
		{"GET", "/v1/datasets/x", 400, "malformed dataset id"},
		{"DELETE", "/v1/datasets/x", 400, "malformed dataset id"},
		{"DELETE", "/v1/datasets/" + ds, 404, "not found"},
		{"GET", "/v1/heads/" + head, 404, "head " + head + " not found"},
		{"GET", "/v1/heads/" + job, 400, "malformed head id"},
		{"DELETE", "/v1/heads/" + head, 404, "not found"},
		{"GET", "/v1/heads?after=x", 400, "after: malformed head id"},
		{"GET", "/v1/heads?limt=5", 400, `unknown query parameter "limt": GET /v1/heads takes limit, after`},
		{"GET", "/v1/models?limit=5", 400, `unknown query parameter "limit": GET /v1/models takes no query parameters`},
		{"DELETE", "/v1/heads/" + head + "?force=1", 400, `unknown query parameter "force": DELETE /v1/heads/{head_id} takes no query parameters`},
		// Routes are named by the spec's paths, not Gin's patterns.
		{"GET", "/v1/fine_tuning/jobs/" + job + "/events?foo=1", 400, `unknown query parameter "foo": GET /v1/fine_tuning/jobs/{job_id}/events takes after, limit`},
		{"GET", "/v1/heads/" + head + "/export?foo=1", 400, `unknown query parameter "foo": GET /v1/heads/{head_id}/export takes format`},
		{"POST", "/v1/fine_tuning/jobs/" + job + "/cancel?foo=1", 400, `unknown query parameter "foo": POST /v1/fine_tuning/jobs/{job_id}/cancel takes no query parameters`},
		{"GET", "/v1/collections/col-aaaaaaaaaaaaaaaaaaaaaaaa?foo=1", 400, `unknown query parameter "foo": GET /v1/collections/{id} takes no query parameters`},
		{"GET", "/v1/fine_tuning/jobs?limit=1;x", 400, "malformed query string"},
		{"GET", "/v1/heads?limit=1&limt%zz=5", 400, "malformed query string"},
	}
	for _, tc := range cases {
		wantAPIError(t, js.do(tc.method, tc.path, "", nil), tc.status, tc.msg)
	}
	for _, tc := range []struct{ path, param, msg string }{
		{"/v1/heads?=5", `""`, `unknown query parameter ""`},
		{"/v1/heads?after=", "after", `after: malformed head id ""`},
		{"/v1/fine_tuning/jobs?after=" + job, "after", "not found (deleted since that page? list again from the first page)"},
		{"/v1/fine_tuning/jobs/" + job + "/events?after=", "after", `after must be an event seq (an integer >= 0), got ""`},
		{"/v1/heads/" + head + "/export?format=tflite", "format", `format "tflite"`},
	} {
		wantParamError(t, js.do("GET", tc.path, "", nil), 400, tc.param, tc.msg)
	}
	js.hdr.Set("Accept", "text/event-stream")
	wantAPIError(t, js.do("GET", "/v1/fine_tuning/jobs/"+job+"/events", "", nil), http.StatusNotFound, "not found")
	js.hdr.Set("Last-Event-ID", "x")
	wantParamError(t, js.do("GET", "/v1/fine_tuning/jobs/"+job+"/events", "", nil), http.StatusBadRequest, "Last-Event-ID", `the Last-Event-ID header must be an event seq (an integer >= 0), got "x"`)
}

// TestJobFailure: a job on a dataset whose files were removed, truncated or
// edited on the server since the upload fails with a message saying so (and
// no server path), in its status and in an error event; a collection of it
// fails with the same reason instead of indexing what is left.
func TestJobFailure(t *testing.T) {
	damages := map[string]func(path string) error{
		"removed":   os.Remove,
		"truncated": func(p string) error { return os.Truncate(p, 200) },
		"edited": func(p string) error {
			f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.WriteString(`{"_id":"extra","text":"a document nobody uploaded"}` + "\n")
			return err
		},
	}
	js := startJobsServer(t, jobsConfig(t), true)
	for name, damage := range damages {
		t.Run(name, func(t *testing.T) {
			js.use(t)
			ds := mustJSON[datasetJSON](t, js.upload(newBEIRFixture().parts("")...), http.StatusCreated)
			if err := damage(filepath.Join(js.cfg.DataDir, "datasets", ds.ID, "corpus.jsonl")); err != nil {
				t.Fatal(err)
			}
			job := js.createJob(fmt.Sprintf(`{"dataset":%q,"model":"glove-100d"}`, ds.ID))
			evs := js.stream("/v1/fine_tuning/jobs/" + job.ID + "/events")
			job = js.job(job.ID)
			want := "dataset " + ds.ID + ": its files on the server were edited, truncated or removed since the upload"
			if job.Status != "failed" || job.Error == nil || !strings.Contains(job.Error.Message, want) || job.Head != nil || job.FinishedAt == nil {
				t.Fatalf("failed job: %+v", job)
			}
			last := evs[len(evs)-1]
			if last.Level != "error" || last.status() != "failed" || !strings.Contains(last.Message, want) {
				t.Fatalf("last event: %+v", last)
			}
			if strings.Contains(string(js.do("GET", "/v1/fine_tuning/jobs/"+job.ID, "", nil).Body), js.cfg.DataDir) {
				t.Fatal("the job's error shows a server path")
			}
			create := js.do("POST", "/v1/collections", "application/json", []byte(fmt.Sprintf(`{"model":"glove-100d","dataset":%q}`, ds.ID)))
			if name == "removed" { // found at once
				wantAPIError(t, create, http.StatusConflict, "dataset "+ds.ID+" has no readable corpus to index")
				mustJSON[map[string]any](t, js.do("DELETE", "/v1/datasets/"+ds.ID, "", nil), http.StatusOK)
				return
			}
			col := mustJSON[collectionJSON](t, create, http.StatusAccepted)
			for col.Status == "indexing" {
				time.Sleep(20 * time.Millisecond)
				col = mustJSON[collectionJSON](t, js.do("GET", "/v1/collections/"+col.ID, "", nil), http.StatusOK)
			}
			if col.Status != "failed" || col.Error == nil || !strings.Contains(*col.Error, want) {
				t.Fatalf("collection of the damaged dataset: %+v (error %s)", col, deref(col.Error))
			}
			// The dataset is still there and deletable once its collection goes.
			mustJSON[map[string]any](t, js.do("DELETE", "/v1/collections/"+col.ID, "", nil), http.StatusOK)
			mustJSON[map[string]any](t, js.do("DELETE", "/v1/datasets/"+ds.ID, "", nil), http.StatusOK)
		})
	}
}

// TestJobWithUnembeddableTexts: a document and a test query with no word
// GloVe knows ("2019") get an all-zero vector. The job leaves them out and
// says so instead of failing on them: the query scores 0 in the test mean.
func TestJobWithUnembeddableTexts(t *testing.T) {
	js := startJobsServer(t, jobsConfig(t), true)
	f := newBEIRFixture()
	f.corpus += `{"_id":"doc-year","text":"2019"}` + "\n"
	f.queries += `{"_id":"q-year","text":"2019"}` + "\n"
	f.qrelsTest += "q-year\tdoc-year\t1\n"
	ds := mustJSON[datasetJSON](t, js.upload(f.parts("")...), http.StatusCreated)
	job := js.createJob(fmt.Sprintf(`{"dataset":%q,"model":"glove-100d","hyperparameters":{"epochs":3}}`, ds.ID))
	evs := js.stream("/v1/fine_tuning/jobs/" + job.ID + "/events")
	job = js.job(job.ID)
	if job.Status != "succeeded" {
		t.Fatalf("job: %+v", job)
	}
	u := job.Result.Unembeddable
	if u == nil || u.Docs != 1 || u.Queries != 1 || u.DocIDs[0] != "doc-year" || u.QueryIDs[0] != "q-year" {
		t.Fatalf("unembeddable: %+v", u)
	}
	if job.Result.TestQueries != 11 || job.Result.Base["recall@100"] > 10.0/11 {
		t.Fatalf("the unembeddable test query must count as a miss: %d test queries, base %v", job.Result.TestQueries, job.Result.Base)
	}
	if !slices.ContainsFunc(evs, func(e eventJSON) bool {
		return strings.Contains(e.Message, "left out 1 documents (doc-year) and 1 queries (q-year)")
	}) {
		t.Fatal("no event says what was left out")
	}
}

// Without "generator", a job generating negatives uses the LLM pipeline
// when an LLM is configured (the server's, or the job's own), as retune
// train does, and the offline generator otherwise.
func TestJobGeneratorDefault(t *testing.T) {
	cfg := jobsConfig(t)
	cfg.LLM.BaseURL, cfg.LLM.Model = "http://127.0.0.1:9/v1", "server-model"
	withLLM := startJobsServer(t, cfg, false) // workers off: jobs stay queued
	without := startJobsServer(t, jobsConfig(t), false)
	for _, tc := range []struct {
		js    *jobsServer
		extra string
		want  string
	}{
		{withLLM, ``, "causal"},
		{withLLM, `,"generator":"offline"`, "offline"},
		{without, ``, "offline"},
		{without, `,"llm":{"base_url":"http://127.0.0.1:9/v1","model":"m"}`, "causal"},
		{without, `,"llm":{"base_url":"http://user:s3cret@127.0.0.1:9/v1","model":"m"}`, "causal"},
	} {
		ds := mustJSON[datasetJSON](t, tc.js.upload(newBEIRFixture().parts("")...), http.StatusCreated)
		job := tc.js.createJob(fmt.Sprintf(`{"dataset":%q,"model":"glove-100d","negatives":"generated"%s}`, ds.ID, tc.extra))
		if job.Generator == nil || *job.Generator != tc.want {
			t.Errorf("server LLM %v, request %s: generator %v, want %q", tc.js == withLLM, tc.extra, job.Generator, tc.want)
		}
		if tc.want == "causal" {
			// The model is pinned at creation, the server's when the job
			// names none: a restart with another model leaves the job's.
			var v struct {
				LLM *struct {
					Model string `json:"model"`
				} `json:"llm"`
			}
			json.Unmarshal(tc.js.do("GET", "/v1/fine_tuning/jobs/"+job.ID, "", nil).Body, &v)
			want := "m"
			if tc.js == withLLM {
				want = "server-model"
			}
			if v.LLM == nil || v.LLM.Model != want {
				t.Errorf("request %s: job llm %+v, want model %q", tc.extra, v.LLM, want)
			}
		}
		if r := tc.js.do("GET", "/v1/fine_tuning/jobs/"+job.ID, "", nil); strings.Contains(string(r.Body), "s3cret") {
			t.Errorf("credentials in the base URL come back: %s", r.Body)
		}
		if strings.Contains(tc.extra, "s3cret") {
			// Kept beside the API key (0600), not in the database.
			b, err := os.ReadFile(filepath.Join(tc.js.cfg.DataDir, "jobs", job.ID, "llm-base-url"))
			if err != nil || string(b) != "http://user:s3cret@127.0.0.1:9/v1" {
				t.Errorf("URL credentials file: %q, %v", b, err)
			}
			for _, f := range []string{"retune.db", "retune.db-wal"} {
				db, err := os.ReadFile(filepath.Join(tc.js.cfg.DataDir, f))
				if err != nil {
					t.Fatalf("read the database (the check would pass vacuously): %v", err)
				}
				if strings.Contains(string(db), "s3cret") {
					t.Errorf("%s holds the URL's password", f)
				}
			}
			// The credentials go with the job's end, here a cancel while queued.
			mustJSON[jobJSON](t, tc.js.do("POST", "/v1/fine_tuning/jobs/"+job.ID+"/cancel", "", nil), http.StatusOK)
			if _, err := os.Stat(filepath.Join(tc.js.cfg.DataDir, "jobs", job.ID)); !os.IsNotExist(err) {
				t.Errorf("a cancelled job's folder (credentials) survived: %v", err)
			}
		}
	}
}
