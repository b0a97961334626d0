package api_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"retune/api"
	"retune/negatives"
)

// naiveLLM is an OpenAI-compatible chat endpoint for the naive generator:
// each request gets two negatives, or, once refuse is set, a 401 that
// echoes the Authorization header, as some servers do.
type naiveLLM struct {
	srv      *httptest.Server
	requests atomic.Int64
	refuse   atomic.Bool
	failNext atomic.Int64 // requests still to answer with a 503
	authSeen atomic.Value // the last Authorization header
	delay    atomic.Int64 // nanoseconds each request waits before its answer

	mu      sync.Mutex
	prompts map[string]int // requests by their last message
}

// naiveJob is the body of a one-epoch job whose naive generator asks l,
// on dataset dsID.
func naiveJob(dsID string, l *naiveLLM) string {
	return fmt.Sprintf(`{"dataset":%q,"model":"glove-100d","negatives":"generated","generator":"naive",
		"llm":{"base_url":%q,"model":"m"},"hyperparameters":{"epochs":1,"per_query":2,"gen_max_cos":1}}`, dsID, l.srv.URL+"/v1")
}

// waitRequest waits until the endpoint has received a request.
func (l *naiveLLM) waitRequest(t *testing.T) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); l.requests.Load() == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the job sent no LLM request")
		}
	}
}

// sentTwice lists the prompts the endpoint was asked more than once.
func (l *naiveLLM) sentTwice() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var twice []string
	for p, n := range l.prompts {
		if n > 1 {
			twice = append(twice, p)
		}
	}
	return twice
}

func newNaiveLLM(t *testing.T) *naiveLLM {
	l := &naiveLLM{prompts: map[string]int{}}
	l.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := l.requests.Add(1)
		l.authSeen.Store(r.Header.Get("Authorization"))
		var req struct {
			Messages []struct{ Content string } `json:"messages"`
		}
		if json.NewDecoder(r.Body).Decode(&req) == nil && len(req.Messages) > 0 {
			l.mu.Lock()
			l.prompts[req.Messages[len(req.Messages)-1].Content]++
			l.mu.Unlock()
		}
		if d := time.Duration(l.delay.Load()); d > 0 {
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path != "/v1/chat/completions" {
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"error":{"message":"unknown path","type":"invalid_request_error"}}`)
			return
		}
		if l.failNext.Add(-1) >= 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `{"error":{"message":"overloaded","type":"server_error"}}`)
			return
		}
		if l.refuse.Load() {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, `{"error":{"message":"Invalid token: %s","type":"invalid_request_error"}}`, r.Header.Get("Authorization"))
			return
		}
		content, _ := json.Marshal(map[string]any{"negatives": []map[string]string{
			{"text": fmt.Sprintf("Bakers in the old market sell warm bread and sweet cakes every morning %d.", n)},
			{"text": fmt.Sprintf("The river floods the valley fields after heavy spring rain in year %d.", n)},
		}})
		json.NewEncoder(w).Encode(map[string]any{
			"id": fmt.Sprint("chatcmpl-", n), "object": "chat.completion", "created": 1, "model": "m",
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
				"message": map[string]any{"role": "assistant", "content": string(content)}}},
			"usage": map[string]int{"prompt_tokens": 50, "completion_tokens": 30, "total_tokens": 80},
		})
	}))
	t.Cleanup(l.srv.Close)
	return l
}

// A job can bring its own OpenAI-compatible endpoint and key: the LLM's
// negatives train the head and travel with it with their provenance; an
// endpoint refusing the key fails the next job at once, with what it spent
// and without the key in anything the API shows.
func TestJobWithOwnLLM(t *testing.T) {
	llm := newNaiveLLM(t)
	js := startJobsServer(t, ownLLMConfig(t), true)
	ds := mustJSON[datasetJSON](t, js.upload(newBEIRFixture().parts("")...), http.StatusCreated)
	body := func(model string) string {
		return fmt.Sprintf(`{"dataset":%q,"model":"glove-100d","negatives":"mined+generated","generator":"naive",
			"llm":{"base_url":%q,"model":%q,"api_key":"sk-JOBSECRET"},
			"hyperparameters":{"epochs":1,"per_query":2,"mined_per_query":5,"gen_max_cos":1}}`, ds.ID, llm.srv.URL+"/v1", model)
	}

	job := js.createJob(body("m"))
	js.stream("/v1/fine_tuning/jobs/" + job.ID + "/events")
	r := js.do("GET", "/v1/fine_tuning/jobs/"+job.ID, "", nil)
	var done struct {
		Status string `json:"status"`
		Head   string `json:"head"`
		Result struct {
			Generation struct {
				Kept int `json:"kept"`
				LLM  struct {
					BaseURL string   `json:"base_url"`
					Model   string   `json:"model"`
					Prompts []string `json:"prompts"`
				} `json:"llm"`
				Usage struct {
					LLM struct {
						Requests    int64 `json:"requests"`
						TotalTokens int64 `json:"total_tokens"`
					} `json:"llm"`
				} `json:"usage"`
			} `json:"generation"`
		} `json:"result"`
	}
	json.Unmarshal(r.Body, &done)
	g := done.Result.Generation
	if done.Status != "succeeded" || g.Kept == 0 || g.LLM.Model != "m" || g.LLM.BaseURL != llm.srv.URL+"/v1" ||
		strings.Join(g.LLM.Prompts, ",") != "naive.v1" || g.Usage.LLM.Requests != llm.requests.Load() || g.Usage.LLM.TotalTokens != 80*llm.requests.Load() {
		t.Fatalf("job with its own LLM: %s (endpoint saw %d requests)", r.Body, llm.requests.Load())
	}
	if auth := llm.authSeen.Load(); auth != "Bearer sk-JOBSECRET" {
		t.Fatalf("the endpoint saw Authorization %q, want the job's key", auth)
	}
	negs := mustJSON[struct {
		Negatives []struct{ Generator, Text string } `json:"negatives"`
	}](t, js.do("GET", "/v1/heads/"+done.Head+"/negatives", "", nil), http.StatusOK)
	if len(negs.Negatives) != g.Kept || negs.Negatives[0].Generator != "naive" {
		t.Fatalf("head negatives: %+v", negs)
	}

	// Another model (so no cached reply answers) on an endpoint that now
	// refuses the key.
	llm.refuse.Store(true)
	before := llm.requests.Load()
	failed := js.createJob(body("m2"))
	evs := js.stream("/v1/fine_tuning/jobs/" + failed.ID + "/events")
	final := evs[len(evs)-1]
	var data struct {
		Status   string `json:"status"`
		Error    string `json:"error"`
		LLMUsage struct {
			LLM struct {
				Requests int64 `json:"requests"`
			} `json:"llm"`
		} `json:"llm_usage"`
	}
	json.Unmarshal(final.Data, &data)
	// A refusal stops the run: at most the requests already in flight
	// (the default LLM concurrency, 4) were started, all are reported (one
	// cancelled before it reached the endpoint included).
	sent, reported := llm.requests.Load()-before, data.LLMUsage.LLM.Requests
	if data.Status != "failed" || !strings.Contains(data.Error, "answered 401") || sent < 1 || reported < sent || reported > 4 {
		t.Fatalf("final event of the refused job (endpoint saw %d requests): %s", sent, final.Data)
	}
	for _, path := range []string{"/v1/fine_tuning/jobs/" + failed.ID, "/v1/fine_tuning/jobs/" + failed.ID + "/events"} {
		if b := js.do("GET", path, "", nil).Body; strings.Contains(string(b), "JOBSECRET") {
			t.Fatalf("GET %s shows the job's API key: %s", path, b)
		}
	}
}

// A retried LLM request shows in the job's events, not only in the server
// log: a Retry-After can hold generation for minutes.
func TestJobEventsShowLLMRetries(t *testing.T) {
	llm := newNaiveLLM(t)
	llm.failNext.Store(1)
	js := startJobsServer(t, ownLLMConfig(t), true)
	ds := mustJSON[datasetJSON](t, js.upload(newBEIRFixture().parts("")...), http.StatusCreated)
	job := js.createJob(naiveJob(ds.ID, llm))
	if j := js.waitFinished(job.ID); j.Status != "succeeded" {
		t.Fatalf("job %s: %+v", j.Status, j.Error)
	}
	var retries []string
	for _, e := range js.events(job.ID) {
		if strings.Contains(e.Message, "LLM request failed") {
			retries = append(retries, e.Message)
		}
	}
	if len(retries) != 1 || !strings.Contains(retries[0], "attempt 1") || !strings.Contains(retries[0], "overloaded") {
		t.Fatalf("retry events %q, want one naming the attempt and the endpoint's message", retries)
	}
}

// ownLLMConfig is jobsConfig for jobs naming the fake LLM on 127.0.0.1,
// which the server refuses unless its operator allows private addresses.
func ownLLMConfig(t *testing.T) api.Config {
	cfg := jobsConfig(t)
	cfg.LLMAllowPrivate = true
	return cfg
}

// By default a job may not name an endpoint on the server's own network:
// it fails at its first request, having sent nothing there, and says how
// the operator allows it (a security probe read a loopback service's reply
// through a job's error). The server's own endpoint may be anywhere.
func TestJobLLMOnThePrivateNetworkIsRefused(t *testing.T) {
	llm := newNaiveLLM(t)
	js := startJobsServer(t, jobsConfig(t), true)
	ds := mustJSON[datasetJSON](t, js.upload(newBEIRFixture().parts("")...), http.StatusCreated)
	job := js.createJob(naiveJob(ds.ID, llm))
	j := js.waitFinished(job.ID)
	if j.Status != "failed" || j.Error == nil || !strings.Contains(j.Error.Message, "--llm-allow-private") {
		t.Fatalf("job %s (%+v), want failed naming --llm-allow-private", j.Status, j.Error)
	}
	if n := llm.requests.Load(); n != 0 {
		t.Errorf("the private endpoint received %d requests, want none", n)
	}

	cfg := jobsConfig(t)
	cfg.LLM = negatives.LLMConfig{BaseURL: llm.srv.URL + "/v1", Model: "m"}
	own := startJobsServer(t, cfg, true)
	ds = mustJSON[datasetJSON](t, own.upload(newBEIRFixture().parts("")...), http.StatusCreated)
	job = own.createJob(fmt.Sprintf(`{"dataset":%q,"model":"glove-100d","negatives":"generated","generator":"naive",
		"hyperparameters":{"epochs":1,"per_query":2,"gen_max_cos":1}}`, ds.ID))
	if j := own.waitFinished(job.ID); j.Status != "succeeded" {
		t.Fatalf("a job on the server's own endpoint: %s (%+v)", j.Status, j.Error)
	}
}

// A graceful stop lets a job's LLM requests in flight reply before it
// interrupts the job: their replies are cached, so the resumed job pays
// for no prompt twice (before, the 4 requests in flight were cut off and
// sent again after the restart).
func TestShutdownLetsLLMRequestsFinish(t *testing.T) {
	llm := newNaiveLLM(t)
	llm.delay.Store(int64(500 * time.Millisecond))
	js := startJobsServer(t, ownLLMConfig(t), true)
	ds := mustJSON[datasetJSON](t, js.upload(newBEIRFixture().parts("")...), http.StatusCreated)
	job := js.createJob(naiveJob(ds.ID, llm))
	llm.waitRequest(t)
	js.restart() // the requests in flight are some 500 ms from their answers
	llm.delay.Store(0)
	if j := js.waitFinished(job.ID); j.Status != "succeeded" || j.Attempts != 2 {
		t.Fatalf("job %s after %d attempts (%+v), want succeeded after 2", j.Status, j.Attempts, j.Error)
	}
	if twice := llm.sentTwice(); len(twice) > 0 {
		t.Fatalf("%d prompts were sent twice (of %d requests): %q", len(twice), llm.requests.Load(), twice[0])
	}
}

// Hurry (an operator's second stop signal) ends that grace: the stop
// interrupts the job without waiting for the LLM's replies.
func TestHurryCutsLLMRequests(t *testing.T) {
	llm := newNaiveLLM(t)
	llm.delay.Store(int64(time.Minute))
	js := startJobsServer(t, ownLLMConfig(t), true)
	ds := mustJSON[datasetJSON](t, js.upload(newBEIRFixture().parts("")...), http.StatusCreated)
	js.createJob(naiveJob(ds.ID, llm))
	llm.waitRequest(t)
	start := time.Now()
	js.srv.Hurry()
	js.stop()
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("the stop took %v after Hurry, want the LLM requests cut off at once", took)
	}
}
