package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	ort "github.com/yalue/onnxruntime_go"

	"retune/internal/testenv"
	"retune/model"
	"retune/models"
	"retune/store"
)

// saveHead stores a head with random non-identity weights and a bias as if a
// job had produced it, trained on the installed glove-100d.
func saveHead(t *testing.T, st *store.Store, encoder, checksum string) string {
	t.Helper()
	h, err := model.NewHead(model.HeadConfig{DIn: 100, DOut: 100, Bias: true})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewSource(3))
	for i := range h.Params() {
		h.Params()[i] += 0.2 * r.NormFloat64()
	}
	id := store.NewID(store.PrefixHead)
	dir, err := st.Dir(store.KindHeads, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Save(dir, model.HeadMeta{Encoder: encoder, EncoderChecksum: checksum}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateHead(context.Background(), store.Head{ID: id, Encoder: encoder, EncoderChecksum: checksum,
		DIn: 100, DOut: 100, Apply: "shared"}); err != nil {
		t.Fatal(err)
	}
	return id
}

func embedVia(t *testing.T, js *jobsServer, modelName string, texts []string) [][]float32 {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"model": modelName, "input": texts})
	r := js.json("POST", "/v1/embeddings", string(body))
	var resp struct {
		Data []struct {
			Embedding []float32 `json:"embedding"`
		} `json:"data"`
	}
	if r.Status != http.StatusOK || json.Unmarshal(r.Body, &resp) != nil {
		t.Fatalf("embeddings %s: %d %s", modelName, r.Status, r.Body)
	}
	out := make([][]float32, len(resp.Data))
	for i, d := range resp.Data {
		out[i] = d.Embedding
	}
	return out
}

func unzip(t *testing.T, body []byte, dir string) []string {
	t.Helper()
	var names []string
	for _, f := range testenv.ReadZip(t, body) {
		names = append(names, f.Name)
		if err := os.WriteFile(filepath.Join(dir, f.Name), f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sort.Strings(names)
	return names
}

func maxDiff(a, b []float32) float64 {
	m := 0.0
	for i := range a {
		m = math.Max(m, math.Abs(float64(a[i]-b[i])))
	}
	return m
}

// TestExportHead downloads each format over HTTP and checks it against the
// service itself: the head ONNX applied to base embeddings and the fused
// model opened as an ordinary encoder both reproduce the service's tuned
// embeddings (glove-100d:ft-<id>) within 1e-5, padded batches included.
func TestExportHead(t *testing.T) {
	cfg := jobsConfig(t)
	st, err := store.Open(context.Background(), cfg.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg.Store = st
	js := startJobsServer(t, cfg, false)
	sum, err := model.EncoderChecksum(testenv.Glove(t))
	if err != nil {
		t.Fatal(err)
	}
	id := saveHead(t, st, "glove-100d", sum)
	texts := []string{"the dog runs", "protein folding in living cells is studied with many methods today", "café"}
	tuned := embedVia(t, js, "glove-100d:ft-"+id, texts)
	base := embedVia(t, js, "glove-100d", texts)

	t.Run("onnx", func(t *testing.T) {
		r := js.do("GET", "/v1/heads/"+id+"/export?format=onnx", "", nil)
		if r.Status != http.StatusOK || !strings.Contains(r.Header.Get("Content-Disposition"), id+".onnx") ||
			r.Header.Get("Content-Type") != "application/octet-stream" || r.Header.Get("Content-Length") != fmt.Sprint(len(r.Body)) {
			t.Fatalf("export: %d %v", r.Status, r.Header)
		}
		// The file is made per request: no partial or conditional answers.
		js.hdr.Set("Range", "bytes=999999-")
		js.hdr.Set("If-Modified-Since", "Mon, 01 Jan 2035 00:00:00 GMT")
		r2 := js.do("GET", "/v1/heads/"+id+"/export?format=onnx", "", nil)
		js.hdr.Del("Range")
		js.hdr.Del("If-Modified-Since")
		if r2.Status != http.StatusOK || len(r2.Body) != len(r.Body) {
			t.Fatalf("export with Range and If-Modified-Since: %d, %d bytes", r2.Status, len(r2.Body))
		}
		in := make([]float32, 0, 300)
		for _, v := range base {
			in = append(in, v...)
		}
		x, err := ort.NewTensor(ort.NewShape(3, 100), in)
		if err != nil {
			t.Fatal(err)
		}
		defer x.Destroy()
		sess, err := ort.NewDynamicAdvancedSessionWithONNXData(r.Body, []string{"embedding"}, []string{"sentence_embedding"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer sess.Destroy()
		outs := []ort.Value{nil}
		if err := sess.Run([]ort.Value{x}, outs); err != nil {
			t.Fatal(err)
		}
		defer outs[0].Destroy()
		got := outs[0].(*ort.Tensor[float32]).GetData()
		for i := range tuned {
			if d := maxDiff(got[i*100:(i+1)*100], tuned[i]); d > 1e-5 {
				t.Fatalf("text %d: head ONNX differs from the service by %g", i, d)
			}
		}
	})

	t.Run("fused-onnx", func(t *testing.T) {
		r := js.do("GET", "/v1/heads/"+id+"/export?format=fused-onnx", "", nil)
		if r.Status != http.StatusOK || r.Header.Get("Content-Type") != "application/zip" {
			t.Fatalf("export: %d %s", r.Status, r.Header.Get("Content-Type"))
		}
		dir := t.TempDir()
		if names := unzip(t, r.Body, dir); strings.Join(names, ",") != "encoder.json,model.onnx,tokenizer.json" {
			t.Fatalf("zip holds %v", names)
		}
		enc, err := model.Open(context.Background(), dir)
		if err != nil {
			t.Fatal(err)
		}
		defer enc.Close()
		if cfg, _, err := models.ReadEncoderConfig(dir); err != nil || cfg.Name != id {
			t.Errorf("encoder.json name %q (%v), want the head id %s", cfg.Name, err, id)
		}
		got, err := enc.Embed(context.Background(), texts)
		if err != nil {
			t.Fatal(err)
		}
		for i := range tuned {
			if d := maxDiff(got[i], tuned[i]); d > 1e-5 {
				t.Fatalf("text %d: fused model differs from the service by %g", i, d)
			}
		}
	})

	t.Run("safetensors", func(t *testing.T) {
		r := js.do("GET", "/v1/heads/"+id+"/export?format=safetensors", "", nil)
		if r.Status != http.StatusOK {
			t.Fatalf("export: %d %s", r.Status, r.Body)
		}
		if names := unzip(t, r.Body, t.TempDir()); strings.Join(names, ",") != "config.json,model.safetensors" {
			t.Fatalf("zip holds %v", names)
		}
		// Built anew for each request, but dated by the head: the same bytes.
		time.Sleep(1100 * time.Millisecond) // entries keep their time to the second (the extended timestamp)
		if again := js.do("GET", "/v1/heads/"+id+"/export?format=safetensors", "", nil); !bytes.Equal(again.Body, r.Body) {
			t.Error("two downloads of the same export differ")
		}
	})

	t.Run("errors", func(t *testing.T) {
		wantAPIError(t, js.do("GET", "/v1/heads/head-bbbbbbbbbbbbbbbbbbbbbbbb/export", "", nil), http.StatusNotFound, "not found")
		wantAPIError(t, js.do("GET", "/v1/heads/nothead/export", "", nil), http.StatusBadRequest, "malformed head id")
		wantAPIError(t, js.do("GET", "/v1/heads/"+id+"/export?format=pickle", "", nil), http.StatusBadRequest, "format")
		stale := saveHead(t, st, "glove-100d", strings.Repeat("0", 64))
		r := js.do("GET", "/v1/heads/"+stale+"/export?format=fused-onnx", "", nil)
		wantAPIError(t, r, http.StatusConflict, "differs from the one head")
		if strings.Contains(string(r.Body), js.cfg.DataDir) || strings.Contains(string(r.Body), js.cfg.Models.Root()) {
			t.Errorf("the 409 shows the server's folders: %s", r.Body)
		}
		orphan := saveHead(t, st, "glove-300d", sum)
		wantAPIError(t, js.do("GET", "/v1/heads/"+orphan+"/export?format=fused-onnx", "", nil), http.StatusConflict, "does not have")
		// HEAD answers as GET would, without building the zip.
		for _, format := range []string{"fused-onnx", "safetensors"} {
			r := js.do("HEAD", "/v1/heads/"+id+"/export?format="+format, "", nil)
			if r.Status != http.StatusOK || r.Header.Get("Content-Type") != "application/zip" || len(r.Body) != 0 ||
				r.Header.Get("Content-Disposition") != `attachment; filename="`+id+`-`+format+`.zip"` {
				t.Fatalf("HEAD %s: %d %v", format, r.Status, r.Header)
			}
		}
		if r := js.do("HEAD", "/v1/heads/"+stale+"/export?format=fused-onnx", "", nil); r.Status != http.StatusConflict {
			t.Fatalf("HEAD fused-onnx of a head on another encoder: %d, want 409 as GET", r.Status)
		}
		if r := js.do("HEAD", "/v1/heads/"+orphan+"/export?format=fused-onnx", "", nil); r.Status != http.StatusConflict {
			t.Fatalf("HEAD fused-onnx without the encoder: %d, want 409 as GET", r.Status)
		}
		// A head whose files were damaged on disk fails every export, and
		// its HEAD says so too rather than promising a zip.
		damaged := saveHead(t, st, "glove-100d", sum)
		dir, err := st.Dir(store.KindHeads, damaged)
		if err != nil {
			t.Fatal(err)
		}
		w, err := os.ReadFile(filepath.Join(dir, "weights.bin"))
		if err != nil {
			t.Fatal(err)
		}
		w[len(w)/2] ^= 0xff
		if err := os.WriteFile(filepath.Join(dir, "weights.bin"), w, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, format := range []string{"onnx", "fused-onnx", "safetensors"} {
			for _, method := range []string{"GET", "HEAD"} {
				if r := js.do(method, "/v1/heads/"+damaged+"/export?format="+format, "", nil); r.Status != http.StatusInternalServerError {
					t.Errorf("%s %s export of a damaged head: %d, want 500", method, format, r.Status)
				}
			}
		}
		// The head ONNX does not need the encoder, so it still exports.
		if r := js.do("GET", "/v1/heads/"+stale+"/export?format=onnx", "", nil); r.Status != http.StatusOK {
			t.Fatalf("onnx export of a head with another encoder: %d %s", r.Status, r.Body)
		}
	})
}
