package dataset

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func FuzzReadQueries(f *testing.F) {
	f.Add([]byte(`{"_id": "q1", "text": "what purrs", "metadata": {}}` + "\n"))
	f.Add([]byte(`{"_id": 7, "text": "x"}` + "\r\n" + `{"_id": "7", "text": "y"}`))
	f.Add([]byte("\ufeff{\"_id\": \"a\", \"text\": \"\\ud83d\"}\n{\"_id\":\"b\",\"text\":\"t\",\"\\u005fid\":\"c\"}"))
	f.Add([]byte("\x1f\x8b\x08\x00"))
	f.Fuzz(func(t *testing.T, in []byte) {
		qs, err := ReadQueries(bytes.NewReader(in))
		if err != nil {
			checkFuzzErr(t, in, err)
			if qs != nil {
				t.Fatalf("queries returned alongside an error")
			}
			return
		}
		seen := map[string]bool{}
		for i, q := range qs {
			if q.ID == "" || strings.TrimSpace(q.Text) == "" || seen[q.ID] || strings.ContainsAny(q.ID, "\t\r\n") {
				t.Fatalf("query %d accepted: %+v", i, q)
			}
			seen[q.ID] = true
		}
	})
}

func FuzzReadQrels(f *testing.F) {
	f.Add([]byte("query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td2\t0\n"))
	f.Add([]byte("query-id\tcorpus-id\tscore\r\nq1\t0\td1\t1\r\nq2\td\t+2\n"))
	f.Add([]byte("\ufeffquery-id\tcorpus-id\tscore\nq\td\t99999999999999999999\nq\td\t1"))
	f.Fuzz(func(t *testing.T, in []byte) {
		q, err := ReadQrels(bytes.NewReader(in))
		if err != nil {
			checkFuzzErr(t, in, err)
			if q != nil {
				t.Fatalf("qrels returned alongside an error")
			}
			return
		}
		for qid, docs := range q {
			if qid == "" || strings.ContainsAny(qid, "\t\r\n") {
				t.Fatalf("query id %q accepted", qid)
			}
			for did := range docs {
				if did == "" || strings.ContainsAny(did, "\t\r\n") {
					t.Fatalf("doc id %q accepted", did)
				}
			}
		}
	})
}

// FuzzLoadBEIR: the three files of a BEIR folder, split by \x00 in one
// input. A loaded dataset has every judged query and document.
func FuzzLoadBEIR(f *testing.F) {
	corpus := `{"_id":"d1","title":"t","text":"Cats purr."}` + "\n" + `{"_id":2,"text":"Rockets fly."}` + "\n"
	queries := `{"_id":"q1","text":"what purrs"}` + "\n" + `{"_id":"q2","text":"what flies"}` + "\n"
	qrels := "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\t2\t1\n"
	f.Add([]byte(corpus + "\x00" + queries + "\x00" + qrels))
	f.Add([]byte(corpus + "\x00" + queries + "\x00" + "query-id\tcorpus-id\tscore\nq1\td9\t1\nq3\td1\t0\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		parts := bytes.SplitN(in, []byte{0}, 3)
		if len(parts) != 3 {
			return
		}
		dir := t.TempDir()
		os.MkdirAll(filepath.Join(dir, "qrels"), 0o755)
		os.WriteFile(filepath.Join(dir, "corpus.jsonl"), parts[0], 0o644)
		os.WriteFile(filepath.Join(dir, "queries.jsonl"), parts[1], 0o644)
		os.WriteFile(filepath.Join(dir, "qrels", "test.tsv"), parts[2], 0o644)
		b, err := LoadBEIR(dir)
		c, cerr := CheckBEIR(dir)
		if (err == nil) != (cerr == nil) {
			t.Fatalf("LoadBEIR err %v, CheckBEIR err %v", err, cerr)
		}
		if err != nil {
			return
		}
		if len(b.Corpus) != len(c.Corpus) || len(b.Queries) != len(c.Queries) {
			t.Fatalf("Load and Check disagree")
		}
		for qid, docs := range b.Qrels["test"] {
			if _, ok := b.Query(qid); !ok {
				t.Fatalf("judged query %q not in queries", qid)
			}
			for did := range docs {
				if _, ok := b.Doc(did); !ok {
					t.Fatalf("judged doc %q not in corpus", did)
				}
			}
		}
		for _, d := range b.Corpus {
			if got, ok := b.Doc(d.ID); !ok || got != d {
				t.Fatalf("Doc(%q) = %+v %v", d.ID, got, ok)
			}
		}
	})
}

// FuzzFromPairs: ReadPairs then FromPairs; every pair's texts are found
// in the layout, judged as the pair says.
func FuzzFromPairs(f *testing.F) {
	f.Add([]byte(`{"query": "q", "pos": ["p"], "neg": ["n"]}`+"\n"+`{"query": "q", "pos": ["p2"], "neg": ["n"]}`), []byte(`{"anchor": "a", "positive": "p"}`))
	f.Add([]byte(`{"query": "q", "pos": ["p"], "neg": ["n"]}`), []byte(`{"query": "q", "pos": ["n"]}`))
	f.Fuzz(func(t *testing.T, train, test []byte) {
		tp, err := ReadPairs(bytes.NewReader(train))
		if err != nil {
			return
		}
		splits := []PairsSplit{{Name: "train", File: "train.jsonl", Pairs: tp}}
		if sp, err := ReadPairs(bytes.NewReader(test)); err == nil {
			splits = append(splits, PairsSplit{Name: "test", File: "test.jsonl", Pairs: sp})
		}
		b, negs, err := FromPairs(splits...)
		if err != nil {
			return
		}
		for _, s := range splits {
			for _, p := range s.Pairs {
				qid := ContentID(PairsQueryPrefix, p.Query)
				q, ok := b.Query(qid)
				if !ok || q.Text != p.Query {
					t.Fatalf("query %q missing (%+v)", p.Query, q)
				}
				for _, pos := range p.Pos {
					did := ContentID(PairsDocPrefix, pos)
					if d, ok := b.Doc(did); !ok || d.Text != pos {
						t.Fatalf("positive %q missing", pos)
					}
					if b.Qrels[s.Name][qid][did] != 1 {
						t.Fatalf("positive %q of %q not judged 1 in %s", pos, p.Query, s.Name)
					}
				}
				for _, n := range p.Neg {
					did := ContentID(PairsDocPrefix, n)
					if _, ok := b.Doc(did); !ok {
						t.Fatalf("negative %q missing", n)
					}
					if s.Name == "train" && !strings.Contains(strings.Join(negs[qid], ","), did) {
						t.Fatalf("negative %q of %q not listed", n, p.Query)
					}
				}
			}
		}
	})
}
