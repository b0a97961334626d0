package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"retune/api"
	"retune/model"
)

// testDocs is a corpus whose documents share no topic, so each test query
// has one clearly right answer. Measured with glove-100d: "spacecraft
// astronaut" shares no word with any document yet ranks "rockets" first by
// cosine (0.56 vs 0.21), which is what tells dense from lexical search.
var testDocs = [][2]string{
	{"cats", "Cats are small domesticated felines that purr and chase mice."},
	{"rockets", "Rockets burn fuel to launch satellites into orbit around the planet."},
	{"bread", "Bakers knead dough and bake bread in a hot oven."},
	{"football", "The striker scored a goal in the final minute of the soccer match."},
	{"piano", "She practiced piano sonatas and violin concertos for the orchestra."},
	{"volcano", "Lava erupted from the volcano and ash covered the nearby villages."},
	{"stocks", "Investors sold shares as the stock market fell sharply on inflation fears."},
	{"rain", "Heavy rain and thunderstorms flooded the river valley overnight."},
}

// documentsJSON renders docs as the "documents" array of a create request.
func documentsJSON(docs [][2]string) string {
	parts := make([]string, len(docs))
	for i, d := range docs {
		b, _ := json.Marshal(map[string]string{"id": d[0], "text": d[1]})
		parts[i] = string(b)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// collectionConfig is testConfig with a data directory of the test's own,
// which restarts reuse, and a small posted-documents limit.
func collectionConfig(t *testing.T) api.Config {
	cfg := testConfig(t)
	cfg.Store = nil
	cfg.DataDir = t.TempDir()
	cfg.MaxDocuments = 20
	cfg.Logger = slog.New(slog.DiscardHandler)
	return cfg
}

// liveServer is a started server behind a real HTTP listener, with the
// spec-validating client.
type liveServer struct {
	*client
	srv *api.Server
	ts  *httptest.Server
}

func startServer(t *testing.T, cfg api.Config) *liveServer {
	t.Helper()
	srv, err := api.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		srv.Close()
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	ls := &liveServer{client: &client{t: t, base: ts.URL, hdr: http.Header{}}, srv: srv, ts: ts}
	t.Cleanup(ls.stop)
	return ls
}

// stop shuts the server down as a process exit would (idempotent).
func (ls *liveServer) stop() {
	ls.ts.Close()
	if err := ls.srv.Close(); err != nil {
		ls.t.Errorf("close server: %v", err)
	}
}

type collectionJSON struct {
	ID           string  `json:"id"`
	Object       string  `json:"object"`
	Name         string  `json:"name"`
	Model        string  `json:"model"`
	Head         *string `json:"head"`
	Dataset      *string `json:"dataset"`
	Status       string  `json:"status"`
	Docs         int     `json:"docs"`
	Progress     float64 `json:"progress"`
	Error        *string `json:"error"`
	CreatedAt    int64   `json:"created_at"`
	Unembeddable *struct {
		Docs   int      `json:"docs"`
		DocIDs []string `json:"doc_ids"`
	} `json:"unembeddable"`
	Queued bool `json:"queued"`
}

type hitJSON struct {
	ID         string   `json:"id"`
	Score      float64  `json:"score"`
	Text       string   `json:"text"`
	DenseScore *float64 `json:"dense_score"`
	BM25Score  *float64 `json:"bm25_score"`
	DenseRank  int      `json:"dense_rank"`
	BM25Rank   int      `json:"bm25_rank"`
}

type searchJSON struct {
	Object string `json:"object"`
	Model  string `json:"model"`
	Mode   string `json:"mode"`
	Data   []struct {
		Query        string    `json:"query"`
		Hits         []hitJSON `json:"hits"`
		Unembeddable bool      `json:"unembeddable"`
	} `json:"data"`
}

func decodeBody[T any](t *testing.T, r response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
	return v
}

// createCollection posts body and expects 202.
func (ls *liveServer) createCollection(body string) collectionJSON {
	ls.t.Helper()
	r := ls.json("POST", "/v1/collections", body)
	if r.Status != http.StatusAccepted {
		ls.t.Fatalf("create collection: %d %s", r.Status, r.Body)
	}
	col := decodeBody[collectionJSON](ls.t, r)
	if col.Object != "collection" || col.Status != "indexing" || !strings.HasPrefix(col.ID, "col-") {
		ls.t.Fatalf("create collection returned %+v", col)
	}
	return col
}

// waitStatus polls the collection until it leaves "indexing" and fails
// unless it ends in want.
func (c *client) waitStatus(id, want string) collectionJSON {
	c.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		r := c.do("GET", "/v1/collections/"+id, "", nil)
		if r.Status != http.StatusOK {
			c.t.Fatalf("get collection: %d %s", r.Status, r.Body)
		}
		col := decodeBody[collectionJSON](c.t, r)
		if col.Status != "indexing" {
			if col.Status != want {
				c.t.Fatalf("collection %s ended %q, want %q: %+v (error %v)", id, col.Status, want, col, deref(col.Error))
			}
			return col
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("collection %s still indexing after 2 minutes (progress %g)", id, col.Progress)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// readyCollection creates a collection of docs and waits until it is ready.
func (ls *liveServer) readyCollection(docs [][2]string, extra string) collectionJSON {
	ls.t.Helper()
	col := ls.createCollection(`{"model":"glove-100d","name":"test","documents":` + documentsJSON(docs) + extra + `}`)
	return ls.waitStatus(col.ID, "ready")
}

// search posts body to the collection's search route and expects 200.
func (ls *liveServer) search(id, body string) searchJSON {
	ls.t.Helper()
	r := ls.json("POST", "/v1/collections/"+id+"/search", body)
	if r.Status != http.StatusOK {
		ls.t.Fatalf("search %s: %d %s", body, r.Status, r.Body)
	}
	return decodeBody[searchJSON](ls.t, r)
}

func topIDs(hits []hitJSON) []string {
	ids := make([]string, len(hits))
	for i, h := range hits {
		ids[i] = h.ID
	}
	return ids
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

// glove returns the registry's glove-100d encoder, the very one the server
// embeds with, so tests can count its forward passes.
func glove(t *testing.T, cfg api.Config) *model.Encoder {
	t.Helper()
	enc, err := cfg.Models.Get(context.Background(), "glove-100d")
	if err != nil {
		t.Fatal(err)
	}
	return enc
}

func fmtQueries(n int) string {
	qs := make([]string, n)
	for i := range qs {
		qs[i] = fmt.Sprintf("%q", "query")
	}
	return "[" + strings.Join(qs, ",") + "]"
}
