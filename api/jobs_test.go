package api_test

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestFineTuningEndToEnd uploads a dataset, fine-tunes a head with mined
// negatives, follows the job's event stream to its end and uses the head.
func TestFineTuningEndToEnd(t *testing.T) {
	js := startJobsServer(t, jobsConfig(t), true)
	ds := mustJSON[datasetJSON](t, js.upload(newBEIRFixture().parts("fixture")...), http.StatusCreated)

	// Without a dev split every epoch counts as the best, so the head is
	// the last epoch's and certainly differs from the identity it starts
	// as (the restart test covers dev metrics).
	job := js.createJob(fmt.Sprintf(`{"dataset":%q,"model":"glove-100d","negatives":"mined",
		"hyperparameters":{"epochs":3,"mined_per_query":5,"dev_fraction":0}}`, ds.ID))
	if job.Status != "queued" || job.Model != "glove-100d" || job.Dataset != ds.ID || job.FineTunedModel != nil {
		t.Fatalf("created job: %+v", job)
	}
	if job.Hyperparameters["epochs"] != 3.0 || job.Hyperparameters["mined_per_query"] != 5.0 ||
		job.Hyperparameters["lr"] != 0.001 || job.Hyperparameters["test_split"] != "test" {
		t.Fatalf("hyperparameters: %v", job.Hyperparameters)
	}

	// The stream starts while the job runs and ends with its final event.
	streamed := js.stream("/v1/fine_tuning/jobs/" + job.ID + "/events")
	checkEventOrder(t, streamed, 3)

	job = js.job(job.ID)
	if job.Status != "succeeded" || job.Head == nil || job.StartedAt == nil || job.FinishedAt == nil || job.Attempts != 1 {
		t.Fatalf("finished job: %+v", job)
	}
	if want := "glove-100d:ft-" + *job.Head; job.FineTunedModel == nil || *job.FineTunedModel != want {
		t.Fatalf("fine_tuned_model %v, want %s", job.FineTunedModel, want)
	}
	// The work files (checkpoint, mined negatives) went with the job's end,
	// and a start removes those a crash (or an older build) kept.
	jobDir := filepath.Join(js.cfg.DataDir, "jobs", job.ID)
	// The folder goes just after the final status is committed, which a
	// stream polling the store can see first: allow the worker a moment.
	gone := false
	for deadline := time.Now().Add(5 * time.Second); !gone && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		_, err := os.Stat(jobDir)
		gone = os.IsNotExist(err)
	}
	if !gone {
		t.Errorf("the finished job's work folder survived its end")
	}
	if err := os.MkdirAll(jobDir, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(jobDir, "llm-api-key"), []byte("sk-x"), 0o600); err != nil {
		t.Fatal(err)
	}
	js.restart()
	if _, err := os.Stat(jobDir); !os.IsNotExist(err) {
		t.Errorf("a start kept a finished job's folder: %v", err)
	}
	res := job.Result
	if res == nil || res.TestQueries != 10 || res.Base["ndcg@10"] <= 0 || res.Tuned["ndcg@10"] <= 0 ||
		res.Mining == nil || res.Mining.Negatives == 0 || res.Training.EpochsRun == 0 {
		t.Fatalf("result: %+v", res)
	}
	// Without dev queries nothing was measured on them: null, as the spec
	// says, not an empty object.
	if raw := string(js.do("GET", "/v1/fine_tuning/jobs/"+job.ID, "", nil).Body); !strings.Contains(raw, `"dev_base":null`) ||
		!strings.Contains(raw, `"dev_best":null`) {
		t.Fatalf("dev metrics without dev queries: %s", raw)
	}

	// Paginated events are the streamed ones.
	page := mustJSON[listJSON[eventJSON]](t, js.do("GET", "/v1/fine_tuning/jobs/"+job.ID+"/events?limit=4", "", nil), http.StatusOK)
	if len(page.Data) != 4 || !page.HasMore || page.Data[0].Seq != 1 {
		t.Fatalf("first page: %+v", page)
	}
	all := js.events(job.ID)
	if len(all) != len(streamed) {
		t.Fatalf("%d events listed, %d streamed", len(all), len(streamed))
	}
	for i := range all {
		if all[i].Seq != int64(i+1) || all[i].Seq != streamed[i].Seq || all[i].Type != streamed[i].Type {
			t.Fatalf("event %d: listed %+v, streamed %+v", i, all[i], streamed[i])
		}
	}
	// A stream resumed with Last-Event-ID replays the rest and ends.
	js.hdr.Set("Last-Event-ID", fmt.Sprint(len(all)-2))
	tail := js.stream("/v1/fine_tuning/jobs/" + job.ID + "/events")
	js.hdr.Del("Last-Event-ID")
	if len(tail) != 2 || tail[0].Seq != int64(len(all)-1) {
		t.Fatalf("resumed stream: %+v", tail)
	}
	// Reconnecting with the last id, as an EventSource does after the
	// stream ends, is a 204 that stops it; a bad limit is a 400 here too.
	js.hdr.Set("Accept", "text/event-stream")
	js.hdr.Set("Last-Event-ID", fmt.Sprint(len(all)))
	if r := js.do("GET", "/v1/fine_tuning/jobs/"+job.ID+"/events", "", nil); r.Status != http.StatusNoContent || len(r.Body) != 0 {
		t.Fatalf("reconnect after the final event: %d %q, want 204", r.Status, r.Body)
	}
	// An EventSource opened at ?after= keeps that URL: its Last-Event-ID
	// is what moves, and the larger cursor wins.
	if r := js.do("GET", "/v1/fine_tuning/jobs/"+job.ID+"/events?after=1", "", nil); r.Status != http.StatusNoContent {
		t.Fatalf("reconnect with ?after=1 and the last id: %d, want 204", r.Status)
	}
	js.hdr.Del("Last-Event-ID")
	wantAPIError(t, js.do("GET", "/v1/fine_tuning/jobs/"+job.ID+"/events?limit=0", "", nil), http.StatusBadRequest, "limit")
	js.hdr.Del("Accept")

	cps := mustJSON[listJSON[struct {
		Epoch   int `json:"epoch"`
		Metrics struct {
			Loss float64            `json:"loss"`
			Dev  map[string]float64 `json:"dev"`
		} `json:"metrics"`
	}]](t, js.do("GET", "/v1/fine_tuning/jobs/"+job.ID+"/checkpoints", "", nil), http.StatusOK)
	if len(cps.Data) != 3 || cps.Data[0].Epoch != 1 || cps.Data[2].Epoch != 3 || cps.Data[0].Metrics.Loss <= 0 {
		t.Fatalf("checkpoints: %+v", cps)
	}
	// Paged as OpenAI's checkpoint list is: limit, then after the last epoch.
	first := mustJSON[listJSON[struct {
		Epoch int `json:"epoch"`
	}]](t, js.do("GET", "/v1/fine_tuning/jobs/"+job.ID+"/checkpoints?limit=2", "", nil), http.StatusOK)
	rest := mustJSON[listJSON[struct {
		Epoch int `json:"epoch"`
	}]](t, js.do("GET", "/v1/fine_tuning/jobs/"+job.ID+"/checkpoints?after=2", "", nil), http.StatusOK)
	if len(first.Data) != 2 || !first.HasMore || len(rest.Data) != 1 || rest.Data[0].Epoch != 3 || rest.HasMore {
		t.Fatalf("checkpoint pages: %+v then %+v", first, rest)
	}
	wantParamError(t, js.do("GET", "/v1/fine_tuning/jobs/"+job.ID+"/checkpoints?after=-1", "", nil), http.StatusBadRequest, "after", "after must be an epoch")
	if past := mustJSON[listJSON[struct{}]](t, js.do("GET", "/v1/fine_tuning/jobs/"+job.ID+"/checkpoints?after=99999999999", "", nil), http.StatusOK); len(past.Data) != 0 || past.HasMore {
		t.Fatalf("checkpoints after every epoch: %+v", past)
	}

	checkHead(t, js, *job.Head, job.ID)
	checkFineTunedEmbeddings(t, js, *job.FineTunedModel)

	list := mustJSON[listJSON[jobJSON]](t, js.do("GET", "/v1/fine_tuning/jobs", "", nil), http.StatusOK)
	if len(list.Data) != 1 || list.Data[0].ID != job.ID || list.HasMore {
		t.Fatalf("job list: %+v", list)
	}
	wantAPIError(t, js.do("POST", "/v1/fine_tuning/jobs/"+job.ID+"/cancel", "", nil), http.StatusConflict, "job "+job.ID+" already succeeded; only an unfinished job (validating, queued or running) can be cancelled")

	// A finished job does not hold its dataset; deleting it leaves the job.
	mustJSON[map[string]any](t, js.do("DELETE", "/v1/datasets/"+ds.ID, "", nil), http.StatusOK)
	if j := js.job(job.ID); j.Status != "succeeded" || j.Dataset != ds.ID {
		t.Fatalf("job after its dataset was deleted: %+v", j)
	}

	// Deleting the head retires its model name.
	mustJSON[map[string]any](t, js.do("DELETE", "/v1/heads/"+*job.Head, "", nil), http.StatusOK)
	wantAPIError(t, js.json("POST", "/v1/embeddings", fmt.Sprintf(`{"model":%q,"input":"x"}`, *job.FineTunedModel)),
		http.StatusNotFound, "no head")
	wantAPIError(t, js.do("GET", "/v1/heads/"+*job.Head, "", nil), http.StatusNotFound, "not found")
}

// checkEventOrder asserts the stages start and complete in pipeline order,
// epochs 1..epochs arrive during training, and the stream ends on success.
func checkEventOrder(t *testing.T, evs []eventJSON, epochs int) {
	t.Helper()
	var got []string
	for i, e := range evs {
		if e.Seq != int64(i+1) {
			t.Fatalf("event %d has seq %d", i, e.Seq)
		}
		switch e.Type {
		case "stage":
			stage, state := e.stage()
			got = append(got, stage+" "+state)
		case "epoch":
			got = append(got, "epoch")
		case "status":
			got = append(got, "status "+e.status())
		}
	}
	want := []string{"status queued", "status running", "embedding started", "embedding completed",
		"mining started", "mining completed", "training started"}
	for range epochs {
		want = append(want, "epoch")
	}
	want = append(want, "training completed", "evaluating started", "evaluating completed", "status succeeded")
	if !slices.Equal(got, want) {
		t.Fatalf("events in order:\n got  %v\n want %v", got, want)
	}
}

// checkHead reads the head through the API and finds it among the models.
func checkHead(t *testing.T, js *jobsServer, id, jobID string) {
	t.Helper()
	h := mustJSON[struct {
		ID              string `json:"id"`
		Model           string `json:"model"`
		Job             string `json:"job"`
		Encoder         string `json:"encoder"`
		EncoderChecksum string `json:"encoder_checksum"`
		DIn             int    `json:"d_in"`
		DOut            int    `json:"d_out"`
		Apply           string `json:"apply"`
		Metrics         struct {
			Tuned map[string]float64 `json:"tuned"`
		} `json:"metrics"`
	}](t, js.do("GET", "/v1/heads/"+id, "", nil), http.StatusOK)
	if h.ID != id || h.Job != jobID || h.Encoder != "glove-100d" || h.Model != "glove-100d:ft-"+id ||
		h.DIn != 100 || h.DOut != 100 || h.Apply != "shared" || len(h.EncoderChecksum) != 64 || h.Metrics.Tuned["ndcg@10"] <= 0 {
		t.Fatalf("head: %+v", h)
	}
	heads := mustJSON[listJSON[struct{ ID string }]](t, js.do("GET", "/v1/heads?limit=1", "", nil), http.StatusOK)
	if len(heads.Data) != 1 || heads.Data[0].ID != id {
		t.Fatalf("heads: %+v", heads)
	}
	if r := js.do("GET", "/v1/models", "", nil); !strings.Contains(string(r.Body), `"glove-100d:ft-`+id+`"`) {
		t.Fatalf("models do not list the head: %s", r.Body)
	}
}

// checkFineTunedEmbeddings embeds with the head: unit vectors that differ
// from the encoder's own.
func checkFineTunedEmbeddings(t *testing.T, js *jobsServer, modelName string) {
	t.Helper()
	embed := func(model string) []float64 {
		e := mustJSON[embResp](t, js.json("POST", "/v1/embeddings", fmt.Sprintf(`{"model":%q,"input":["cat speed"]}`, model)), http.StatusOK)
		if e.Model != model {
			t.Fatalf("embeddings model %q, want %q", e.Model, model)
		}
		var v []float64
		if err := json.Unmarshal(e.Data[0].Embedding, &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	base, tuned := embed("glove-100d"), embed(modelName)
	var norm, diff float64
	for i := range tuned {
		norm += tuned[i] * tuned[i]
		diff += math.Abs(tuned[i] - base[i])
	}
	if len(tuned) != 100 || math.Abs(norm-1) > 1e-4 || diff < 1e-3 {
		t.Fatalf("fine-tuned embedding: %d dims, norm² %g, L1 distance to base %g", len(tuned), norm, diff)
	}
	wantAPIError(t, js.json("POST", "/v1/embeddings", fmt.Sprintf(`{"model":%q,"input":"x","dimensions":64}`, modelName)),
		http.StatusBadRequest, "outputs 100")
}

// TestGeneratedNegatives trains with mined and offline-generated
// negatives: the generating stage runs and its report reaches the result.
func TestGeneratedNegatives(t *testing.T) {
	js := startJobsServer(t, jobsConfig(t), true)
	ds := mustJSON[datasetJSON](t, js.upload(newBEIRFixture().parts("")...), http.StatusCreated)
	job := js.createJob(fmt.Sprintf(`{"dataset":%q,"model":"glove-100d","negatives":"mined+generated",
		"hyperparameters":{"epochs":1,"per_query":2,"mined_per_query":5,"gen_max_cos":1}}`, ds.ID))
	if job.Hyperparameters["per_query"] != 2.0 || job.Hyperparameters["gen_max_cos"] != 1.0 || job.Hyperparameters["gen_min_words"] != 8.0 ||
		job.Hyperparameters["mined_per_query"] != 5.0 || job.Hyperparameters["margin"] != 0.95 {
		t.Fatalf("hyperparameters: %v", job.Hyperparameters)
	}
	evs := js.stream("/v1/fine_tuning/jobs/" + job.ID + "/events")
	r := js.do("GET", "/v1/fine_tuning/jobs/"+job.ID, "", nil)
	var j struct {
		Status    string `json:"status"`
		Generator string `json:"generator"`
		Result    struct {
			Generation *struct {
				Generator string `json:"generator"`
				Pairs     int    `json:"pairs"`
			} `json:"generation"`
		} `json:"result"`
	}
	json.Unmarshal(r.Body, &j)
	if j.Status != "succeeded" || j.Generator != "offline" || j.Result.Generation == nil ||
		j.Result.Generation.Generator != "offline" || j.Result.Generation.Pairs == 0 {
		t.Fatalf("job: %s", r.Body)
	}
	var stages []string
	for _, e := range evs {
		if stage, state := e.stage(); e.Type == "stage" && state == "started" {
			stages = append(stages, stage)
		}
	}
	if !slices.Equal(stages, []string{"embedding", "mining", "generating", "training", "evaluating"}) {
		t.Fatalf("stages: %v", stages)
	}

	// The counterfactuals and their provenance are kept with the head.
	head := *js.job(job.ID).Head
	negs := mustJSON[struct {
		Report struct {
			Generator string `json:"generator"`
			Generated int    `json:"generated"`
			Kept      int    `json:"kept"`
			Surplus   int    `json:"surplus"`
		} `json:"report"`
		Negatives []struct {
			QueryID   string `json:"query_id"`
			Node      string `json:"node"`
			Type      string `json:"type"`
			Generator string `json:"generator"`
		} `json:"negatives"`
		Rejected []struct {
			Reason string `json:"reason"`
		} `json:"rejected"`
	}](t, js.do("GET", "/v1/heads/"+head+"/negatives", "", nil), http.StatusOK)
	if negs.Report.Generator != "offline" || negs.Report.Kept != len(negs.Negatives) || len(negs.Negatives) == 0 ||
		negs.Report.Generated != negs.Report.Kept+len(negs.Rejected)+negs.Report.Surplus {
		t.Fatalf("head negatives: report %+v, %d negatives, %d rejected", negs.Report, len(negs.Negatives), len(negs.Rejected))
	}
	for _, n := range negs.Negatives {
		if n.QueryID == "" || n.Node == "" || n.Type == "" || n.Generator != "offline" {
			t.Fatalf("negative without its provenance: %+v", n)
		}
	}
}

// TestCreatesAnswerLocation: every create (201, or 202 for a collection
// that indexes on) says where its object is in Location, a path the GET of
// which answers that object.
func TestCreatesAnswerLocation(t *testing.T) {
	cfg := jobsConfig(t)
	cfg.MaxUploadBytes = 16 << 20
	js := startJobsServer(t, cfg, false) // the job stays queued
	sum, err := glove(t, cfg).Checksum()
	if err != nil {
		t.Fatal(err)
	}
	hj, w, _ := headFiles(t, "glove-100d", sum, nil)
	upload := func(route string, parts ...formPart) response {
		ct, body := multipartBody(t, parts...)
		return js.do("POST", route, ct, body)
	}
	ds := upload("/v1/datasets", newBEIRFixture().parts("")...)
	dsID := decodeBody[datasetJSON](t, ds).ID
	for _, tc := range []struct {
		what   string
		r      response
		status int
		prefix string
	}{
		{"dataset", ds, http.StatusCreated, "/v1/datasets/"},
		{"head", upload("/v1/heads", formPart{"head", "head.json", hj}, formPart{"weights", "weights.bin", w}), http.StatusCreated, "/v1/heads/"},
		{"job", js.json("POST", "/v1/fine_tuning/jobs", fmt.Sprintf(`{"dataset":%q,"model":"glove-100d"}`, dsID)), http.StatusCreated, "/v1/fine_tuning/jobs/"},
		{"collection", js.json("POST", "/v1/collections", fmt.Sprintf(`{"model":"glove-100d","dataset":%q}`, dsID)), http.StatusAccepted, "/v1/collections/"},
	} {
		obj := mustJSON[struct{ ID string }](t, tc.r, tc.status)
		if loc := tc.r.Header.Get("Location"); loc != tc.prefix+obj.ID {
			t.Errorf("created %s %s: Location %q, want %q", tc.what, obj.ID, loc, tc.prefix+obj.ID)
			continue
		}
		if got := mustJSON[struct{ ID string }](t, js.do("GET", tc.r.Header.Get("Location"), "", nil), http.StatusOK); got.ID != obj.ID {
			t.Errorf("GET Location of %s %s: %+v", tc.what, obj.ID, got)
		}
	}
}
