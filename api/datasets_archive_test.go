package api_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Archives made by the system's tar and zip are read as Go's are; a
// password-protected zip is refused as such, not as damaged data.
func TestDatasetBundleSystemTools(t *testing.T) {
	js := startJobsServer(t, jobsConfig(t), false)
	fx := newBEIRFixture()
	want := mustJSON[datasetJSON](t, js.upload(fx.parts("parts")...), http.StatusCreated)
	dir := t.TempDir()
	for _, f := range fx.files("scifact/") {
		p := filepath.Join(dir, filepath.FromSlash(f.name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(f.body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		cmd  []string // writes out.bin
		msg  string   // the error's, or "" for a dataset like want
	}{
		{"GNU tar", []string{"tar", "-cf", "out.bin", "scifact"}, ""},
		{"GNU tar, POSIX format", []string{"tar", "--format=posix", "-cf", "out.bin", "scifact"}, ""},
		{"GNU tar, gzipped", []string{"tar", "-czf", "out.bin", "scifact"}, ""},
		{"zip", []string{"zip", "-qr", "out.bin", "scifact"}, ""},
		{"zip with a password", []string{"zip", "-qr", "-P", "secret", "out.bin", "scifact"},
			`part "bundle": encrypted zip entries are not supported (scifact/`}, // the first file zip read
	} {
		t.Run(tc.name, func(t *testing.T) {
			js.use(t)
			if _, err := exec.LookPath(tc.cmd[0]); err != nil {
				t.Skipf("no %s on this system", tc.cmd[0])
			}
			os.Remove(filepath.Join(dir, "out.bin"))
			cmd := exec.Command(tc.cmd[0], tc.cmd[1:]...)
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%v: %v: %s", tc.cmd, err, out)
			}
			bundle, err := os.ReadFile(filepath.Join(dir, "out.bin"))
			if err != nil {
				t.Fatal(err)
			}
			r := js.upload(formPart{"bundle", "scifact", string(bundle)})
			if tc.msg != "" {
				wantAPIError(t, r, http.StatusBadRequest, tc.msg)
				return
			}
			if ds := mustJSON[datasetJSON](t, r, http.StatusCreated); ds.Checksum != want.Checksum {
				t.Fatalf("bundle gave %+v, want the parts' %+v", ds, want)
			}
		})
	}
}

// An archive holds at most 10,000 entries: each costs memory before the
// upload waits for its turn at validation. Over that is a 413.
func TestDatasetBundleEntryCap(t *testing.T) {
	cfg := jobsConfig(t)
	cfg.MaxUploadBytes = 4 << 20
	js := startJobsServer(t, cfg, false)
	fx := newBEIRFixture()
	withJunk := func(n int) []archiveFile {
		files := fx.files("")
		for i := range n - len(files) {
			files = append(files, archiveFile{fmt.Sprintf("junk/%d", i), ""})
		}
		return files
	}
	for _, tc := range []struct {
		name   string
		bundle string
		status int
	}{
		{"zip at the cap", zipOf(t, withJunk(10_000)...), http.StatusCreated},
		{"zip over the cap", zipOf(t, withJunk(10_001)...), http.StatusRequestEntityTooLarge},
		{"tar.gz at the cap", tarOf(t, true, withJunk(10_000)...), http.StatusCreated},
		{"tar.gz over the cap", tarOf(t, true, withJunk(10_001)...), http.StatusRequestEntityTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			js.use(t)
			r := js.upload(formPart{"bundle", "x", tc.bundle})
			if tc.status == http.StatusCreated {
				mustJSON[datasetJSON](t, r, tc.status)
				return
			}
			wantAPIError(t, r, tc.status, `part "bundle": the archive holds more than 10000 entries`)
			if !strings.Contains(string(r.Body), `"code":"too_large"`) {
				t.Fatalf("code: %s", r.Body)
			}
		})
	}
}

// An upload the server's own shutdown cuts off (http.Server.Close, at the
// end of a graceful stop's wait) is logged and counted as 503, as other
// shutdown paths answer, not as a 400 "malformed multipart body" that
// blames the client; the answer written (which the client, cut off, does
// not read) is one openapi.yaml documents, for datasets and heads alike.
func TestUploadCutByShutdown(t *testing.T) {
	for _, tc := range []struct{ route, part string }{
		{"/v1/datasets", "name=\"corpus\"; filename=\"corpus.jsonl\"\r\n\r\n{\"_id\":\"1\",\"text\":\"a\"}\n"},
		{"/v1/heads", "name=\"head\"; filename=\"head.json\"\r\n\r\n{\"format_version\":1,"},
	} {
		t.Run(tc.route, func(t *testing.T) {
			js := startJobsServer(t, jobsConfig(t), false)
			reading := make(chan struct{})
			var once sync.Once
			answer := &teeWriter{}
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				r.Body = readNotifier{r.Body, func() { once.Do(func() { close(reading) }) }}
				answer.ResponseWriter = w
				js.srv.Handler().ServeHTTP(answer, r)
			}))
			defer ts.Close()
			conn, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n--b\r\nContent-Disposition: form-data; %s", tc.route, tc.part)
			select {
			case <-reading:
			case <-time.After(10 * time.Second):
				t.Fatal("the upload's body was never read")
			}
			ts.Config.Close() // closes every connection, the upload's too
			ts.Close()        // waits for the handler
			metrics := string(js.do("GET", "/metrics", "", nil).Body)
			if want := `retune_http_requests_total{method="POST",route="` + tc.route + `",status="503"} 1`; !strings.Contains(metrics, want) {
				t.Fatalf("metrics lack %s:\n%s", want, grepLines(metrics, tc.route))
			}
			req, err := http.NewRequest("POST", ts.URL+tc.route, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "multipart/form-data; boundary=b")
			js.validate(req, &http.Response{StatusCode: answer.status, Header: answer.Header()}, answer.body.Bytes())
			wantAPIError(t, response{Status: answer.status, Body: answer.body.Bytes()}, http.StatusServiceUnavailable, "the server is shutting down")
		})
	}
}

// teeWriter keeps a copy of the status and body a handler writes.
type teeWriter struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (w *teeWriter) WriteHeader(status int) {
	w.status = status
	w.ResponseWriter.WriteHeader(status)
}

func (w *teeWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.body.Write(b)
	return w.ResponseWriter.Write(b)
}

// readNotifier calls read after each read of the request body.
type readNotifier struct {
	io.ReadCloser
	read func()
}

func (r readNotifier) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	r.read()
	return n, err
}

func grepLines(s, sub string) string {
	var out []string
	for line := range strings.Lines(s) {
		if strings.Contains(line, sub) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "")
}
