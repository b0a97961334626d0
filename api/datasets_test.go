package api_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

func TestDatasetUploadBEIR(t *testing.T) {
	js := startJobsServer(t, jobsConfig(t), false)
	fx := newBEIRFixture()
	ds := mustJSON[datasetJSON](t, js.upload(fx.parts("fixture")...), http.StatusCreated)
	if ds.Name != "fixture" || ds.Format != "beir" || ds.Docs != 40 || ds.Queries != 40 ||
		ds.Splits["train"]["queries"] != 30 || ds.Splits["train"]["pairs"] != 30 || ds.Splits["test"]["queries"] != 10 {
		t.Fatalf("dataset: %+v", ds)
	}
	// The parts are stored as sent, and the checksum is the manifest's.
	dir := filepath.Join(js.cfg.DataDir, "datasets", ds.ID)
	files := map[string]string{"corpus.jsonl": fx.corpus, "queries.jsonl": fx.queries,
		"qrels/train.tsv": fx.qrelsTrain, "qrels/test.tsv": fx.qrelsTest}
	if want, total := manifestChecksum(t, dir, files); ds.Checksum != want || ds.Bytes != total {
		t.Fatalf("checksum %s bytes %d; want %s and %d", ds.Checksum, ds.Bytes, want, total)
	}

	// A name is trimmed, and its length counted in characters, as the
	// spec's maxLength counts (768 bytes here).
	long := strings.Repeat("日", 256)
	again := fx.parts(" " + long + "\n")
	again[4].filename = `C:\Users\me\scifact\qrels\test.tsv` // some Windows clients send the path
	second := mustJSON[datasetJSON](t, js.upload(again...), http.StatusCreated)
	if second.Checksum != ds.Checksum {
		t.Fatal("the same files got a different checksum")
	}
	if second.Name != long {
		t.Fatalf("name %q, want the 256 characters sent, trimmed", second.Name)
	}
	if got := mustJSON[datasetJSON](t, js.do("GET", "/v1/datasets/"+ds.ID, "", nil), http.StatusOK); !reflect.DeepEqual(got, ds) {
		t.Fatalf("get: %+v, want %+v", got, ds)
	}
	page := mustJSON[listJSON[datasetJSON]](t, js.do("GET", "/v1/datasets?limit=1", "", nil), http.StatusOK)
	if len(page.Data) != 1 || page.Data[0].ID != second.ID || !page.HasMore {
		t.Fatalf("first page: %+v", page)
	}
	page = mustJSON[listJSON[datasetJSON]](t, js.do("GET", "/v1/datasets?limit=1&after="+second.ID, "", nil), http.StatusOK)
	if len(page.Data) != 1 || page.Data[0].ID != ds.ID || page.HasMore {
		t.Fatalf("second page: %+v", page)
	}

	del := mustJSON[map[string]any](t, js.do("DELETE", "/v1/datasets/"+ds.ID, "", nil), http.StatusOK)
	if del["id"] != ds.ID || del["deleted"] != true {
		t.Fatalf("delete: %v", del)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("files of a deleted dataset remain: %v", err)
	}
	wantAPIError(t, js.do("GET", "/v1/datasets/"+ds.ID, "", nil), http.StatusNotFound, "not found")
	wantAPIError(t, js.do("DELETE", "/v1/datasets/"+ds.ID, "", nil), http.StatusNotFound, "not found")
}

// manifestChecksum checks the stored files and computes the documented
// checksum: SHA-256 over "<sha256>  <path>\n" lines sorted by path.
func manifestChecksum(t *testing.T, dir string, files map[string]string) (string, int64) {
	t.Helper()
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	h := sha256.New()
	var total int64
	for _, p := range paths {
		got, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil || string(got) != files[p] {
			t.Fatalf("stored %s differs from the upload (err %v)", p, err)
		}
		sum := sha256.Sum256(got)
		fmt.Fprintf(h, "%s  %s\n", hex.EncodeToString(sum[:]), p)
		total += int64(len(got))
	}
	return hex.EncodeToString(h.Sum(nil)), total
}

// TestDatasetUploadPairs converts training pairs in both JSONL forms and
// trains on their negatives in place of mined ones.
func TestDatasetUploadPairs(t *testing.T) {
	js := startJobsServer(t, jobsConfig(t), true)
	var b strings.Builder
	for i := range 24 {
		s, t1, t2 := fixtureSubjects[i], fixtureTraits[2*i], fixtureTraits[2*i+1]
		pos := fmt.Sprintf("The %s is famous for its %s and its %s.", s, t1, t2)
		neg := fmt.Sprintf("The %s is famous for its %s.", fixtureSubjects[i+1], t1)
		if i%2 == 0 {
			writeJSONLine(&b, map[string]any{"query": s + " " + t1, "pos": []string{pos}, "neg": []string{neg}})
		} else {
			writeJSONLine(&b, map[string]any{"anchor": s + " " + t1, "positive": pos, "negative_1": neg})
		}
	}
	// A repeated query merges, and its new negative joins the first ones.
	writeJSONLine(&b, map[string]any{"query": "cat speed", "pos": []string{"Cats run fast."}, "neg": []string{"Dogs bark."}})

	ds := mustJSON[datasetJSON](t, js.upload(formPart{"train", "train.jsonl", b.String()}), http.StatusCreated)
	// 24 positives + 24 negatives (the negative of line i is never a
	// positive: it pairs subject i+1 with trait 2i) + 2 passages of the
	// last line.
	if ds.Format != "pairs" || ds.Queries != 24 || ds.Docs != 50 || len(ds.Splits) != 1 ||
		ds.Splits["train"]["queries"] != 24 || ds.Splits["train"]["pairs"] != 25 {
		t.Fatalf("dataset: %+v", ds)
	}
	dir := filepath.Join(js.cfg.DataDir, "datasets", ds.ID)
	for _, f := range []string{"train.jsonl", "corpus.jsonl", "queries.jsonl", "qrels/train.tsv", "negatives.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatalf("converted dataset lacks %s: %v", f, err)
		}
	}

	// The default test split is dropped (the dataset has none); the 25
	// provided negatives replace mining.
	job := js.createJob(fmt.Sprintf(`{"dataset":%q,"model":"glove-100d","hyperparameters":{"epochs":2,"dev_fraction":0}}`, ds.ID))
	if job.Hyperparameters["test_split"] != "" {
		t.Fatalf("test_split %v, want none", job.Hyperparameters["test_split"])
	}
	job = js.waitFinished(job.ID)
	if job.Status != "succeeded" || job.Result.Mining == nil || job.Result.Mining.Negatives != 25 ||
		job.Result.Mining.Queries != 24 || job.Result.TestQueries != 0 || job.Result.Base != nil {
		t.Fatalf("job on pairs: %+v, result %+v", job, job.Result)
	}
	evs := js.events(job.ID)
	if !containsMessage(evs, "25 provided hard negatives") || containsMessage(evs, "previous attempt") {
		t.Fatalf("events misreport the provided negatives: %v", eventMessages(evs))
	}

	// Held-out pairs become the split test, which jobs report on by default.
	var held strings.Builder
	for i := 24; i < 30; i++ {
		s, t1, t2 := fixtureSubjects[i], fixtureTraits[2*i], fixtureTraits[2*i+1]
		writeJSONLine(&held, map[string]any{"query": s + " " + t2, "pos": []string{fmt.Sprintf("The %s is famous for its %s and its %s.", s, t1, t2)}})
	}
	ds = mustJSON[datasetJSON](t, js.upload(formPart{"train", "train.jsonl", b.String()}, formPart{"test", "test.jsonl", held.String()}), http.StatusCreated)
	if ds.Docs != 56 || len(ds.Splits) != 2 || ds.Splits["train"]["queries"] != 24 || ds.Splits["test"]["queries"] != 6 || ds.Splits["test"]["pairs"] != 6 {
		t.Fatalf("dataset with held-out pairs: %+v", ds)
	}
	job = js.waitFinished(js.createJob(fmt.Sprintf(`{"dataset":%q,"model":"glove-100d","hyperparameters":{"epochs":2,"dev_fraction":0}}`, ds.ID)).ID)
	if job.Status != "succeeded" || job.Hyperparameters["test_split"] != "test" || job.Result.TestQueries != 6 || job.Result.Base == nil ||
		job.Result.Mining == nil || job.Result.Mining.Queries != 24 {
		t.Fatalf("job on pairs with held-out pairs: %+v, result %+v", job, job.Result)
	}
	for _, tc := range []struct {
		parts []formPart
		want  string
	}{
		{[]formPart{{"test", "test.jsonl", held.String()}}, `part "test" (held-out pairs) goes with a part "train"`},
		{[]formPart{{"train", "train.jsonl", b.String()}, {"test", "test.jsonl", b.String()}}, `test.jsonl: line 1: the query "cat speed" is also in train.jsonl (line 1, split train)`},
		{[]formPart{{"train", "train.jsonl", b.String()}, {"test", "test.jsonl", "\n"}}, "test.jsonl: no pairs"},
		{[]formPart{{"train", "train.jsonl", b.String()}, {"test", "test.jsonl", "{}\n"}}, "test.jsonl: line 1:"},
	} {
		wantAPIError(t, js.upload(tc.parts...), http.StatusBadRequest, tc.want)
	}

	// A text both positive and negative for one query, on different lines.
	var bad strings.Builder
	writeJSONLine(&bad, map[string]any{"query": "q", "pos": []string{"a"}, "neg": []string{"b"}})
	writeJSONLine(&bad, map[string]any{"query": "q", "pos": []string{"b"}})
	wantAPIError(t, js.upload(formPart{"train", "train.jsonl", bad.String()}), http.StatusBadRequest,
		`train.jsonl: line 2: the passage "b" is a positive of the query "q" here and a negative on line 1`)
}

func eventMessages(evs []eventJSON) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Message
	}
	return out
}

func containsMessage(evs []eventJSON, s string) bool {
	for _, e := range evs {
		if strings.Contains(e.Message, s) {
			return true
		}
	}
	return false
}

// TestDatasetUploadErrors: every rejected upload answers its status with a
// message naming the problem, and leaves nothing stored.
func TestDatasetUploadErrors(t *testing.T) {
	js := startJobsServer(t, jobsConfig(t), false)
	fx := newBEIRFixture()
	with := func(replace ...formPart) []formPart {
		parts := fx.parts("")
		for _, r := range replace {
			found := false
			for i := range parts {
				if parts[i].field == r.field {
					parts[i], found = r, true
				}
			}
			if !found {
				parts = append(parts, r)
			}
		}
		return parts
	}
	without := func(field string) []formPart {
		var parts []formPart
		for _, p := range fx.parts("") {
			if p.field != field {
				parts = append(parts, p)
			}
		}
		return parts
	}
	lines := strings.SplitAfter(fx.corpus, "\n")
	badLine3 := strings.Join(lines[:2], "") + "{\"_id\": \"x\", \"text\": oops}\n" + strings.Join(lines[3:], "")
	dupID := fx.corpus + `{"_id":"doc1","text":"again"}` + "\n"
	emptyText := `{"_id":"doc0","title":"","text":"  "}` + "\n" + strings.Join(lines[1:], "")
	badUTF8 := fx.queries + "{\"_id\":\"q99\",\"text\":\"caf\xe9\"}\n"
	unknownDoc := fx.qrelsTest + "q30\tdoc999\t1\n"
	unjudged := strings.ReplaceAll(fx.qrelsTest, "\t1\n", "\t0\n")
	var manySplits []formPart // a security probe sent 20,000
	for i := range 70 {
		manySplits = append(manySplits, formPart{fmt.Sprintf("qrels_s%d", i), "", fx.qrelsTrain})
	}

	cases := []struct {
		name   string
		parts  []formPart
		status int
		msg    string
		detail string // file and line of the first details entry, when any
	}{
		{"missing corpus", without("corpus"), 400, `missing part "corpus"`, ""},
		{"missing queries", without("queries"), 400, `missing part "queries"`, ""},
		{"missing qrels", without("qrels_train")[:3], 400, "missing qrels", ""},
		{"bad corpus line", with(formPart{"corpus", "corpus.jsonl", badLine3}), 400, "corpus.jsonl: line 3: ", "corpus.jsonl:3"},
		{"duplicate id", with(formPart{"corpus", "", dupID}), 400, `corpus.jsonl: line 41: duplicate _id "doc1"`, "corpus.jsonl:41"},
		{"empty text", with(formPart{"corpus", "", emptyText}), 400, "corpus.jsonl: line 1: empty title and text", "corpus.jsonl:1"},
		{"invalid UTF-8", with(formPart{"queries", "", badUTF8}), 400, "queries.jsonl: line 41: invalid UTF-8", "queries.jsonl:41"},
		{"qrels unknown doc", with(formPart{"qrels", "test.tsv", unknownDoc}), 400, `qrels/test.tsv: line 12: unknown corpus id "doc999"`, "qrels/test.tsv:12"},
		{"too many splits", with(manySplits...), 413, "more than 64 qrels splits", ""},
		{"no relevant judgement", with(formPart{"qrels", "test.tsv", unjudged}), 400, `split "test" has no relevant judgement (every score is 0 or below)`, ""},
		{"qrels without .tsv", with(formPart{"qrels", "test.txt", fx.qrelsTest}), 400, "<split>.tsv", ""},
		{"bad split name", with(formPart{"qrels_../x", "", fx.qrelsTest}), 400, "split name", ""},
		{"qrels twice", append(fx.parts(""), formPart{"qrels_test", "", fx.qrelsTest}), 400, "sent twice", ""},
		{"name twice", append(fx.parts(""), formPart{"name", "", "a"}, formPart{"name", "", "b"}), 400, `part "name" sent twice`, ""},
		{"unknown part", with(formPart{"extra", "", "x"}), 400, `unknown part "extra"`, ""},
		{"both forms", with(formPart{"train", "", `{"query":"q","pos":["p"]}`}), 400, "not both", ""},
		{"bad train line", []formPart{{"train", "t.jsonl", `{"query":"q","pos":["p"]}` + "\n" + `{"query":"q2"}` + "\n"}}, 400, "train.jsonl: line 2: no positives", "train.jsonl:2"},
		{"empty body", nil, 400, "missing part", ""},
		{"long name", with(formPart{"name", "", strings.Repeat("日", 257)}), 400, "name is longer than 256 characters", ""},
		{"too large", with(formPart{"corpus", "", strings.Repeat(fx.corpus, 100)}), 413, "this route takes at most 262144 bytes (0.2 MiB); the server's operator can raise it with retune serve --max-upload-mb", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			js.use(t)
			r := js.upload(tc.parts...)
			wantAPIError(t, r, tc.status, tc.msg)
			if tc.detail != "" {
				var e struct {
					Error struct {
						Details []struct {
							File string `json:"file"`
							Line int    `json:"line"`
						} `json:"details"`
					} `json:"error"`
				}
				json.Unmarshal(r.Body, &e)
				if len(e.Error.Details) == 0 || fmt.Sprintf("%s:%d", e.Error.Details[0].File, e.Error.Details[0].Line) != tc.detail {
					t.Fatalf("details %+v, want first %s", e.Error.Details, tc.detail)
				}
			}
		})
	}
	js.use(t)

	wantAPIError(t, js.do("POST", "/v1/datasets", "application/json", []byte(`{}`)), http.StatusUnsupportedMediaType, "multipart/form-data")
	wantAPIError(t, js.do("POST", "/v1/datasets", "multipart/form-data; boundary=x; charset=latin1", []byte("--x--\r\n")),
		http.StatusUnsupportedMediaType, `charset "latin1": send the files as UTF-8`)
	wantAPIError(t, js.do("POST", "/v1/datasets", "multipart/form-data", []byte("x")), http.StatusBadRequest, "malformed multipart")
	wantAPIError(t, js.do("POST", "/v1/datasets", "multipart/form-data; boundary=zz", []byte("--zz\r\nContent-Disposition: form-data; name=\"corpus\"\r\n\r\nabc")),
		http.StatusBadRequest, "malformed multipart")
	// Without a Content-Length only the reader's limit can catch the size.
	ct, body := multipartBody(t, with(formPart{"corpus", "", strings.Repeat(fx.corpus, 100)})...)
	wantAPIError(t, js.chunked("POST", "/v1/datasets", ct, body), http.StatusRequestEntityTooLarge, "upload too large: the limit is 262144 bytes")

	if list := mustJSON[listJSON[datasetJSON]](t, js.do("GET", "/v1/datasets", "", nil), http.StatusOK); len(list.Data) != 0 {
		t.Fatalf("a rejected upload was recorded: %+v", list.Data)
	}
	entries, _ := os.ReadDir(filepath.Join(js.cfg.DataDir, "datasets"))
	for _, e := range entries {
		t.Errorf("a rejected upload left %s", e.Name())
	}
}

// A multipart body that never uses the boundary its Content-Type names is
// refused as such on both upload routes: the multipart reader skips what
// precedes a first delimiter, so such a body read as one with no part
// (`missing part "corpus"`), or failed on a first line past its buffer
// ("multipart: NextPart: bufio: buffer full").
func TestUploadBoundaryNotInBody(t *testing.T) {
	js := startJobsServer(t, jobsConfig(t), false)
	_, otherBoundary := multipartBody(t, formPart{"corpus", "corpus.jsonl", "{}"}, formPart{"head", "head.json", "{}"})
	const ct = "multipart/form-data; boundary=OTHER"
	const notUsed = `no part delimited by boundary "OTHER" was found: the body does not use the boundary its Content-Type names`
	for _, path := range []string{"/v1/datasets", "/v1/heads"} {
		missing := map[string]string{"/v1/datasets": `missing part "corpus"`, "/v1/heads": `missing part "head"`}[path]
		for _, tc := range []struct {
			name string
			body string
			msg  string
		}{
			{"5,000 bytes on one line", strings.Repeat("x", 5000), notUsed},
			{"a few bytes", strings.Repeat("x", 50), notUsed},
			{"lines", "x\r\ny\r\n", notUsed},
			{"parts with another boundary", string(otherBoundary), notUsed},
			// A body that closes on its boundary without any part lacks them.
			{"no part", "--OTHER--\r\n", missing},
		} {
			t.Run(path+"/"+tc.name, func(t *testing.T) {
				js.use(t)
				wantAPIError(t, js.do("POST", path, ct, []byte(tc.body)), http.StatusBadRequest, tc.msg)
			})
		}
	}
}

// chunked sends body without a Content-Length (chunked encoding).
func (c *client) chunked(method, path, contentType string, body []byte) response {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, io.NopCloser(bytes.NewReader(body)))
	if err != nil {
		c.t.Fatal(err)
	}
	req.ContentLength = -1
	req.Header.Set("Content-Type", contentType)
	return c.send(req)
}
