package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"

	"retune/api"
)

// jobsServer is a started server behind a real listener, with the
// spec-validating client; restart simulates a process restart on the same
// data directory.
type jobsServer struct {
	*client
	t   *testing.T
	cfg api.Config
	srv *api.Server
	ts  *httptest.Server
}

// jobsConfig is testConfig with workers, quiet logs and an upload limit
// small enough to test.
func jobsConfig(t *testing.T) api.Config {
	cfg := testConfig(t)
	cfg.Workers = 1
	cfg.MaxUploadBytes = 256 << 10
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return cfg
}

func startJobsServer(t *testing.T, cfg api.Config, start bool) *jobsServer {
	t.Helper()
	js := &jobsServer{t: t, cfg: cfg}
	js.open(start)
	t.Cleanup(js.stop)
	return js
}

func (js *jobsServer) open(start bool) {
	js.t.Helper()
	srv, err := api.New(js.cfg)
	if err != nil {
		js.t.Fatal(err)
	}
	if start {
		if err := srv.Start(context.Background()); err != nil {
			srv.Close()
			js.t.Fatal(err)
		}
	}
	js.srv, js.ts = srv, httptest.NewServer(srv.Handler())
	js.client = &client{t: js.t, base: js.ts.URL, hdr: http.Header{}}
}

// stop shuts down as a process exit would: jobs are interrupted, not
// cancelled. Idempotent.
func (js *jobsServer) stop() {
	if js.srv == nil {
		return
	}
	js.srv.StopStreams()
	js.ts.Close()
	if err := js.srv.Close(); err != nil {
		js.t.Errorf("close server: %v", err)
	}
	js.srv = nil
}

// use directs failures to t, e.g. a subtest's.
func (js *jobsServer) use(t *testing.T) { js.t, js.client.t = t, t }

func (js *jobsServer) restart() {
	js.t.Helper()
	js.stop()
	js.open(true)
}

// --- request helpers ---

type formPart struct{ field, filename, content string }

// multipartBody encodes parts as multipart/form-data.
func multipartBody(t *testing.T, parts ...formPart) (string, []byte) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		disp := fmt.Sprintf(`form-data; name=%q`, p.field)
		if p.filename != "" {
			disp += fmt.Sprintf(`; filename=%q`, p.filename)
		}
		h.Set("Content-Disposition", disp)
		pw, err := w.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(pw, p.content)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w.FormDataContentType(), b.Bytes()
}

func (js *jobsServer) upload(parts ...formPart) response {
	js.t.Helper()
	ct, body := multipartBody(js.t, parts...)
	return js.do("POST", "/v1/datasets", ct, body)
}

// mustJSON decodes a 2xx response or fails with its body.
func mustJSON[T any](t *testing.T, r response, want int) T {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status %d, want %d: %s", r.Status, want, r.Body)
	}
	var v T
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
	return v
}

// wantError checks an error answer's status and that its message says msg.
func wantAPIError(t *testing.T, r response, status int, msg string) {
	t.Helper()
	wantParamError(t, r, status, "*", msg)
}

// wantParamError is wantAPIError that also checks the error's param ("" for
// null, "*" for any).
func wantParamError(t *testing.T, r response, status int, param, msg string) {
	t.Helper()
	var e struct {
		Error struct {
			Message string  `json:"message"`
			Param   *string `json:"param"`
			Code    string  `json:"code"`
		} `json:"error"`
	}
	err := json.Unmarshal(r.Body, &e)
	got := ""
	if e.Error.Param != nil {
		got = *e.Error.Param
	}
	if err != nil || r.Status != status || !strings.Contains(e.Error.Message, msg) || (param != "*" && got != param) {
		t.Fatalf("got %d %s; want %d with a message containing %q and param %q", r.Status, r.Body, status, msg, param)
	}
}

// --- objects as the tests read them ---

type datasetJSON struct {
	ID       string                    `json:"id"`
	Name     string                    `json:"name"`
	Format   string                    `json:"format"`
	Docs     int                       `json:"docs"`
	Queries  int                       `json:"queries"`
	Splits   map[string]map[string]int `json:"splits"`
	Checksum string                    `json:"checksum"`
	Bytes    int64                     `json:"bytes"`
}

type jobJSON struct {
	ID              string         `json:"id"`
	Status          string         `json:"status"`
	Stage           *string        `json:"stage"`
	StageProgress   float64        `json:"stage_progress"`
	Model           string         `json:"model"`
	Dataset         string         `json:"dataset"`
	Generator       *string        `json:"generator"`
	Hyperparameters map[string]any `json:"hyperparameters"`
	StartedAt       *int64         `json:"started_at"`
	FinishedAt      *int64         `json:"finished_at"`
	Error           *struct {
		Message string `json:"message"`
	} `json:"error"`
	FineTunedModel  *string `json:"fine_tuned_model"`
	Head            *string `json:"head"`
	Attempts        int     `json:"attempts"`
	CancelRequested bool    `json:"cancel_requested"`
	Result          *struct {
		Base        map[string]float64 `json:"base"`
		Tuned       map[string]float64 `json:"tuned"`
		CacheMisses int                `json:"cache_misses"`
		CacheHits   int                `json:"cache_hits"`
		TestQueries int                `json:"test_queries"`
		Mining      *struct {
			Queries   int `json:"queries"`
			Negatives int `json:"negatives"`
		} `json:"mining"`
		Training struct {
			EpochsRun   int `json:"epochs_run"`
			ResumedFrom int `json:"resumed_from"`
		} `json:"training"`
		Unembeddable *struct {
			Docs     int      `json:"docs"`
			Queries  int      `json:"queries"`
			DocIDs   []string `json:"doc_ids"`
			QueryIDs []string `json:"query_ids"`
		} `json:"unembeddable"`
	} `json:"result"`
}

type eventJSON struct {
	ID      string          `json:"id"`
	Seq     int64           `json:"seq"`
	Level   string          `json:"level"`
	Type    string          `json:"type"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
}

// stage returns data.stage and data.state of a "stage" event.
func (e eventJSON) stage() (string, string) {
	var d struct{ Stage, State string }
	json.Unmarshal(e.Data, &d)
	return d.Stage, d.State
}

func (e eventJSON) status() string {
	var d struct{ Status string }
	json.Unmarshal(e.Data, &d)
	return d.Status
}

type listJSON[T any] struct {
	Object  string `json:"object"`
	Data    []T    `json:"data"`
	HasMore bool   `json:"has_more"`
}

func (js *jobsServer) createJob(body string) jobJSON {
	js.t.Helper()
	return mustJSON[jobJSON](js.t, js.json("POST", "/v1/fine_tuning/jobs", body), http.StatusCreated)
}

func (js *jobsServer) job(id string) jobJSON {
	js.t.Helper()
	return mustJSON[jobJSON](js.t, js.do("GET", "/v1/fine_tuning/jobs/"+id, "", nil), http.StatusOK)
}

// events reads all of a job's events through the paginated endpoint.
func (js *jobsServer) events(id string) []eventJSON {
	js.t.Helper()
	var all []eventJSON
	var after int64
	for {
		page := mustJSON[listJSON[eventJSON]](js.t, js.do("GET", fmt.Sprintf("/v1/fine_tuning/jobs/%s/events?after=%d&limit=1000", id, after), "", nil), http.StatusOK)
		all = append(all, page.Data...)
		if !page.HasMore {
			return all
		}
		after = page.Data[len(page.Data)-1].Seq
	}
}

// waitJob polls until cond holds for the job, failing after timeout.
func (js *jobsServer) waitJob(id string, timeout time.Duration, what string, cond func(jobJSON) bool) jobJSON {
	js.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		j := js.job(id)
		if cond(j) {
			return j
		}
		if time.Now().After(deadline) {
			js.t.Fatalf("job %s: not %s after %s (status %s, stage %v, error %+v)", id, what, timeout, j.Status, j.Stage, j.Error)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (js *jobsServer) waitFinished(id string) jobJSON {
	js.t.Helper()
	return js.waitJob(id, 60*time.Second, "finished", func(j jobJSON) bool {
		return j.Status == "succeeded" || j.Status == "failed" || j.Status == "cancelled"
	})
}

// waitEvent polls the job's events until one satisfies cond.
func (js *jobsServer) waitEvent(id string, what string, cond func(eventJSON) bool) {
	js.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		for _, e := range js.events(id) {
			if cond(e) {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	js.t.Fatalf("job %s: no %s event", id, what)
}

// --- Server-Sent Events ---

type sseFrame struct {
	id, event string
	data      []byte
}

// parseSSE splits a text/event-stream body into frames, skipping comments.
func parseSSE(body []byte) ([]sseFrame, error) {
	var frames []sseFrame
	for _, block := range strings.Split(string(body), "\n\n") {
		var f sseFrame
		for _, line := range strings.Split(block, "\n") {
			switch {
			case line == "", strings.HasPrefix(line, ":"), strings.HasPrefix(line, "retry: "):
			case strings.HasPrefix(line, "id: "):
				f.id = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "event: "):
				f.event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				f.data = append(f.data, strings.TrimPrefix(line, "data: ")...)
			default:
				return nil, fmt.Errorf("unexpected line %q", line)
			}
		}
		if f.id != "" || f.data != nil || f.event != "" {
			frames = append(frames, f)
		}
	}
	return frames, nil
}

// The response validator has no decoder for text/event-stream; this one
// checks every frame against the spec (data is a FineTuningJobEvent whose
// seq and type are the frame's id and event) and hands the body on as the
// string the spec declares.
func init() {
	openapi3filter.RegisterBodyDecoder("text/event-stream", func(body io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
		b, err := io.ReadAll(body)
		if err != nil {
			return nil, err
		}
		frames, err := parseSSE(b)
		if err != nil {
			return nil, err
		}
		schema := specDoc.Components.Schemas["FineTuningJobEvent"].Value
		for i, f := range frames {
			var v map[string]any
			if err := json.Unmarshal(f.data, &v); err != nil {
				return nil, fmt.Errorf("frame %s: %w", f.id, err)
			}
			if f.event == "shutdown" { // the documented last frame of a stopped stream
				if msg, _ := v["message"].(string); f.id != "" || msg == "" || i != len(frames)-1 {
					return nil, fmt.Errorf("shutdown frame %+v at %d of %d", f, i, len(frames))
				}
				continue
			}
			if err := schema.VisitJSON(v); err != nil {
				return nil, fmt.Errorf("frame %s: %w", f.id, err)
			}
			if fmt.Sprint(v["seq"]) != f.id || v["type"] != f.event {
				return nil, fmt.Errorf("frame id %s event %s, data seq %v type %v", f.id, f.event, v["seq"], v["type"])
			}
		}
		return string(b), nil
	})
}

// stream reads a job's event stream to its end.
func (js *jobsServer) stream(path string) []eventJSON {
	js.t.Helper()
	js.hdr.Set("Accept", "text/event-stream")
	r := js.do("GET", path, "", nil)
	js.hdr.Del("Accept")
	if r.Status != http.StatusOK || r.Header.Get("Content-Type") != "text/event-stream" {
		js.t.Fatalf("stream: %d %s %s", r.Status, r.Header.Get("Content-Type"), r.Body)
	}
	frames, err := parseSSE(r.Body)
	if err != nil {
		js.t.Fatal(err)
	}
	evs := make([]eventJSON, 0, len(frames))
	for _, f := range frames {
		if f.event == "shutdown" {
			continue
		}
		var e eventJSON
		if err := json.Unmarshal(f.data, &e); err != nil {
			js.t.Fatal(err)
		}
		evs = append(evs, e)
	}
	return evs
}
