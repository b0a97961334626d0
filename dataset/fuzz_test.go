package dataset

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// The fuzz targets run their seeds (f.Add plus testdata/fuzz/<name>/) as
// ordinary tests; `go test -fuzz FuzzReadPairs ./dataset/` explores further.
// Beyond "never panics" they check the contract every caller relies on:
// either every record is valid, or the error is an Errors whose entries point
// at real lines of the input.

func FuzzReadPairs(f *testing.F) {
	f.Add([]byte(`{"query": "q", "pos": ["p"], "neg": ["n"]}` + "\n"))
	f.Add([]byte(`{"anchor": "a", "positive": "p", "negative_1": "n"}`))
	f.Add([]byte("{\"query\": \"q\", \"pos\": [\"p\"]}\r\n\n{\"anchor\": \"\xff\"}"))
	f.Fuzz(func(t *testing.T, in []byte) {
		pairs, err := ReadPairs(bytes.NewReader(in))
		if err != nil {
			checkFuzzErr(t, in, err)
			if pairs != nil {
				t.Fatalf("pairs returned alongside an error")
			}
			return
		}
		for i, p := range pairs {
			if strings.TrimSpace(p.Query) == "" || len(p.Pos) == 0 {
				t.Fatalf("pair %d accepted without query or positive: %+v", i, p)
			}
			for _, s := range append(append([]string(nil), p.Pos...), p.Neg...) {
				if strings.TrimSpace(s) == "" {
					t.Fatalf("pair %d accepted with a blank passage: %+v", i, p)
				}
			}
		}
	})
}

func FuzzReadCorpus(f *testing.F) {
	f.Add([]byte(`{"_id": "1", "title": "t", "text": "x", "metadata": {}}` + "\n"))
	f.Add([]byte(`{"_id": 12e3, "text": "x"}` + "\n" + `{"_id": "12e3", "text": "y"}`))
	f.Add([]byte("{\"_id\": \"1\", \"text\": \"\"}\n\n[1]\nnull\n{\"_id\": \"2\", \"te"))
	f.Fuzz(func(t *testing.T, in []byte) {
		docs, err := ReadCorpus(bytes.NewReader(in))
		if err != nil {
			checkFuzzErr(t, in, err)
			if docs != nil {
				t.Fatalf("docs returned alongside an error")
			}
			return
		}
		seen := make(map[string]bool)
		for i, d := range docs {
			if d.ID == "" || d.Content() == "" || seen[d.ID] {
				t.Fatalf("doc %d accepted with empty or duplicate id or no content: %+v", i, d)
			}
			seen[d.ID] = true
		}
	})
}

func checkFuzzErr(t *testing.T, in []byte, err error) {
	t.Helper()
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("error is not an Errors: %v", err) // readers over bytes have no I/O errors
	}
	lines := bytes.Count(in, []byte("\n")) + 1
	if len(es) == 0 || len(es) > MaxErrors+1 {
		t.Fatalf("%d errors", len(es))
	}
	for _, e := range es {
		if e.Line < 1 || e.Line > lines || e.Reason == "" {
			t.Fatalf("error %+v outside the input's %d lines or without a reason", e, lines)
		}
	}
}
