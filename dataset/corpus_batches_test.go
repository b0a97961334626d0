package dataset

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

// sequentialCorpus is readCorpus as one sequential pass (what it was before
// it parsed batches in parallel): the reference the batched reader must
// match line for line.
func sequentialCorpus(r io.Reader, c *collector) ([]Doc, error) {
	var docs []Doc
	firstLine := make(map[string]int)
	err := forEachLine(r, MaxLineBytes, c, func(l line) bool {
		doc, reason := parseDoc(l.text)
		if reason != "" {
			return c.addf(l.n, "%s%s", reason, truncatedHint(l))
		}
		if first, dup := firstLine[doc.ID]; dup {
			return c.addf(l.n, "duplicate _id %q (first on line %d)", doc.ID, first)
		}
		firstLine[doc.ID] = l.n
		docs = append(docs, doc)
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("read corpus: %w", err)
	}
	return docs, nil
}

// batchCorpus is n lines spanning many batches: documents, with blank
// lines, invalid JSON, missing text and duplicate ids (also across batches)
// every so often, and a last line without a newline.
func batchCorpus(n, badEvery int) string {
	var b strings.Builder
	for i := range n {
		switch {
		case badEvery > 0 && i%badEvery == 7:
			b.WriteString(`{"_id": "broken`)
		case badEvery > 0 && i%badEvery == 11:
			fmt.Fprintf(&b, `{"_id": "d%d", "title": "no text"}`, i)
		case badEvery > 0 && i%badEvery == 13:
			fmt.Fprintf(&b, `{"_id": "d%d", "text": "duplicate"}`, i-900)
		case i%50 == 3:
			b.WriteString("   ")
		default:
			fmt.Fprintf(&b, `{"_id": "d%d", "title": "t%d", "text": "text of document %d"}`, i, i, i)
		}
		if i < n-1 {
			b.WriteString("\n")
		}
	}
	return b.String()
}

func TestReadCorpusBatchesMatchSequential(t *testing.T) {
	for _, tc := range []struct {
		name     string
		lines    int
		badEvery int
	}{
		{"clean", 3000, 0},
		{"a few errors", 3000, 400},
		{"stops at MaxErrors", 6000, 37},
		{"unterminated bad last line", 1025, 1017}, // lines 7 and 1024 (the last) are broken
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := batchCorpus(tc.lines, tc.badEvery)
			wantC, gotC := &collector{file: "c"}, &collector{file: "c"}
			want, wantErr := sequentialCorpus(strings.NewReader(text), wantC)
			got, gotErr := readCorpus(iotest.HalfReader(strings.NewReader(text)), gotC)
			if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(gotErr, wantErr) {
				t.Fatalf("%d docs (err %v), sequential %d docs (err %v)", len(got), gotErr, len(want), wantErr)
			}
			if !reflect.DeepEqual(gotC.errs, wantC.errs) {
				t.Fatalf("errors differ:\n got %v\nwant %v", gotC.errs, wantC.errs)
			}
		})
	}
}

// TestReadCorpusReadError: a read error after some batches is returned, as
// one pass would, and nothing reads r afterwards.
func TestReadCorpusReadError(t *testing.T) {
	boom := errors.New("connection reset")
	text := batchCorpus(2000, 0)
	r := &afterError{r: io.MultiReader(strings.NewReader(text[:len(text)/2]), iotest.ErrReader(boom))}
	docs, err := readCorpus(r, &collector{})
	if !errors.Is(err, boom) || docs != nil {
		t.Fatalf("docs %d, err %v; want nil and the read error", len(docs), err)
	}
	if r.readsAfterError != 0 {
		t.Fatalf("%d reads after the error", r.readsAfterError)
	}
}

type afterError struct {
	r               io.Reader
	failed          bool
	readsAfterError int
}

func (a *afterError) Read(p []byte) (int, error) {
	if a.failed {
		a.readsAfterError++
	}
	n, err := a.r.Read(p)
	if err != nil && err != io.EOF {
		a.failed = true
	}
	return n, err
}

// BenchmarkReadCorpus reads 100,000 documents of about 500 bytes, one
// sequential pass against the batched reader.
func BenchmarkReadCorpus(b *testing.B) {
	var sb strings.Builder
	filler := strings.Repeat("the quick brown fox jumps over the lazy dog ", 10)
	for i := range 100_000 {
		fmt.Fprintf(&sb, `{"_id": "d%d", "title": "title %d", "text": "%s%d"}`+"\n", i, i, filler, i)
	}
	text := sb.String()
	for name, read := range map[string]func(io.Reader, *collector) ([]Doc, error){
		"sequential": sequentialCorpus, "batched": readCorpus,
	} {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				if docs, err := read(strings.NewReader(text), &collector{}); err != nil || len(docs) != 100_000 {
					b.Fatal(len(docs), err)
				}
			}
		})
	}
}
