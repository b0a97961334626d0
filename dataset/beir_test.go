package dataset

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"retune/eval"
)

// writeBEIR lays out a BEIR directory from file name -> content.
func writeBEIR(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const (
	tinyCorpus = `{"_id": "d1", "title": "T1", "text": "one"}
{"_id": "d2", "title": "", "text": "two"}
{"_id": "d3", "title": "T3", "text": "three"}
`
	tinyQueries = `{"_id": "q1", "text": "first"}
{"_id": "q2", "text": "second"}
{"_id": "q3", "text": "third"}
`
	tinyTrain = "query-id\tcorpus-id\tscore\nq2\td1\t1\nq2\td2\t2\n"
	tinyTest  = "query-id\tcorpus-id\tscore\nq3\td3\t1\nq1\td2\t1\n"
)

// tinyBEIR writes the tiny dataset with its train and test splits.
func tinyBEIR(t *testing.T) string {
	return writeBEIR(t, map[string]string{
		"corpus.jsonl":    tinyCorpus,
		"queries.jsonl":   tinyQueries,
		"qrels/train.tsv": tinyTrain,
		"qrels/test.tsv":  tinyTest,
	})
}

func TestLoadBEIR(t *testing.T) {
	dir := tinyBEIR(t)
	b, err := LoadBEIR(dir) // no splits named: every qrels/*.tsv
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Corpus) != 3 || len(b.Queries) != 3 {
		t.Fatalf("%d docs, %d queries; want 3, 3", len(b.Corpus), len(b.Queries))
	}
	if got := b.Splits(); !slices.Equal(got, []string{"test", "train"}) {
		t.Errorf("Splits = %v", got)
	}
	if d, ok := b.Doc("d3"); !ok || d.Content() != "T3 three" {
		t.Errorf("Doc(d3) = %+v, %v", d, ok)
	}
	if _, ok := b.Doc("nope"); ok {
		t.Error("Doc(nope) found")
	}
	if q, ok := b.Query("q2"); !ok || q.Text != "second" {
		t.Errorf("Query(q2) = %+v, %v", q, ok)
	}

	qs, qrels, err := b.Split("test")
	if err != nil {
		t.Fatal(err)
	}
	// queries.jsonl order, not qrels order
	if want := []Query{{"q1", "first"}, {"q3", "third"}}; !slices.Equal(qs, want) {
		t.Errorf("test queries = %v, want %v", qs, want)
	}
	if qrels["q3"]["d3"] != 1 || len(qrels) != 2 {
		t.Errorf("test qrels = %v", qrels)
	}
	if _, _, err := b.Split("dev"); err == nil || !strings.Contains(err.Error(), "have test, train") {
		t.Errorf("Split(dev) err = %v", err)
	}

	only, err := LoadBEIR(dir, "train")
	if err != nil {
		t.Fatal(err)
	}
	if got := only.Splits(); !slices.Equal(got, []string{"train"}) {
		t.Errorf("LoadBEIR(train).Splits = %v", got)
	}
}

func TestLoadBEIRReportsEveryFile(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  []string // substrings of the error, in order
	}{
		{
			name: "dangling ids name the qrels file and line",
			files: map[string]string{
				"corpus.jsonl":   tinyCorpus,
				"queries.jsonl":  tinyQueries,
				"qrels/test.tsv": "query-id\tcorpus-id\tscore\nq1\td1\t1\nq9\td1\t1\nq1\td9\t1\nq8\td8\t0\n",
			},
			want: []string{
				`qrels/test.tsv: line 3: unknown query id "q9" (not in queries.jsonl)`,
				`qrels/test.tsv: line 4: unknown corpus id "d9" (not in corpus.jsonl)`,
				`qrels/test.tsv: line 5: unknown query id "q8"`,
				`qrels/test.tsv: line 5: unknown corpus id "d8"`,
			},
		},
		{
			name: "cross-references checked beside a qrels parse error, in line order",
			files: map[string]string{
				"corpus.jsonl":   tinyCorpus,
				"queries.jsonl":  tinyQueries,
				"qrels/test.tsv": "query-id\tcorpus-id\tscore\nq1\td1\t1\nq9\td1\t1\nq2\td2\tabc\nq3\td7\t1\n",
			},
			want: []string{
				`qrels/test.tsv: line 3: unknown query id "q9"`,
				`qrels/test.tsv: line 4: score "abc" is not an integer`,
				`qrels/test.tsv: line 5: unknown corpus id "d7"`,
			},
		},
		{
			name: "a score past the integers",
			files: map[string]string{
				"corpus.jsonl":   tinyCorpus,
				"queries.jsonl":  tinyQueries,
				"qrels/test.tsv": "query-id\tcorpus-id\tscore\nq1\td1\t99999999999999999999\n",
			},
			want: []string{`qrels/test.tsv: line 2: score "99999999999999999999" is out of range`},
		},
		{
			name: "a corpus error leaves corpus ids unchecked, query ids still checked",
			files: map[string]string{
				"corpus.jsonl":   tinyCorpus + `{"_id": "d4"}` + "\n",
				"queries.jsonl":  tinyQueries,
				"qrels/test.tsv": "query-id\tcorpus-id\tscore\nq9\td4\t1\n",
			},
			want: []string{
				`corpus.jsonl: line 4: missing "text"`,
				`qrels/test.tsv: line 2: unknown query id "q9"`,
			},
		},
		{
			name: "parse errors from all files, cross-references not checked against them",
			files: map[string]string{
				"corpus.jsonl":   tinyCorpus + `{"_id": "d1", "text": "dup"}` + "\n",
				"queries.jsonl":  `{"_id": "q1"}` + "\n",
				"qrels/test.tsv": "query-id\tcorpus-id\tscore\nq1\td1\tx\nq7\td1\t1\n",
			},
			want: []string{
				`corpus.jsonl: line 4: duplicate _id "d1" (first on line 1)`,
				`queries.jsonl: line 1: missing "text"`,
				`qrels/test.tsv: line 2: score "x" is not an integer`,
			},
		},
		{
			name: "empty files",
			files: map[string]string{
				"corpus.jsonl":   "\n",
				"queries.jsonl":  tinyQueries,
				"qrels/test.tsv": "query-id\tcorpus-id\tscore\n",
			},
			want: []string{"corpus.jsonl: no documents", "qrels/test.tsv: no judgments"},
		},
	}
	for _, tt := range tests {
		// CheckBEIR, which keeps no text, makes every check LoadBEIR does.
		for name, load := range map[string]func(string, ...string) (*BEIR, error){"LoadBEIR": LoadBEIR, "CheckBEIR": CheckBEIR} {
			t.Run(tt.name+"/"+name, func(t *testing.T) {
				b, err := load(writeBEIR(t, tt.files), "test")
				if b != nil || err == nil {
					t.Fatalf("%s = %v, %v; want an error", name, b, err)
				}
				var es Errors
				if !errors.As(err, &es) || len(es) != len(tt.want) {
					t.Fatalf("err = %v; want %d LineErrors", err, len(tt.want))
				}
				for i, w := range tt.want {
					if !strings.Contains(es[i].Error(), w) {
						t.Errorf("error %d = %q, want %q", i, es[i].Error(), w)
					}
				}
			})
		}
	}
}

// CheckBEIR returns what LoadBEIR does but the texts: the same ids in the
// same order, splits and judgements.
func TestCheckBEIRKeepsIDsOnly(t *testing.T) {
	dir := tinyBEIR(t)
	full, err := LoadBEIR(dir)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := CheckBEIR(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range ids.Corpus {
		if d != (Doc{ID: full.Corpus[i].ID}) {
			t.Errorf("doc %d = %+v, want the id %q alone", i, d, full.Corpus[i].ID)
		}
	}
	for i, q := range ids.Queries {
		if q != (Query{ID: full.Queries[i].ID}) {
			t.Errorf("query %d = %+v, want the id %q alone", i, q, full.Queries[i].ID)
		}
	}
	if len(ids.Corpus) != len(full.Corpus) || len(ids.Queries) != len(full.Queries) || !reflect.DeepEqual(ids.Qrels, full.Qrels) {
		t.Errorf("CheckBEIR: %d docs, %d queries, qrels %v; LoadBEIR: %d, %d, %v",
			len(ids.Corpus), len(ids.Queries), ids.Qrels, len(full.Corpus), len(full.Queries), full.Qrels)
	}
}

func TestLoadBEIRMissingFiles(t *testing.T) {
	dir := writeBEIR(t, map[string]string{"corpus.jsonl": tinyCorpus, "queries.jsonl": tinyQueries})
	if _, err := LoadBEIR(dir); err == nil || !strings.Contains(err.Error(), "no qrels/*.tsv") {
		t.Errorf("no qrels dir: err = %v", err)
	}
	if _, err := LoadBEIR(dir, "test"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing split: err = %v, want fs.ErrNotExist", err)
	}
	if _, err := LoadBEIR(dir, "../corpus"); err == nil || !strings.Contains(err.Error(), "invalid split name") {
		t.Errorf("split with a path: err = %v", err)
	}
	if _, err := LoadBEIR(filepath.Join(dir, "absent"), "test"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing dir: err = %v, want fs.ErrNotExist", err)
	}
	gz := writeBEIR(t, map[string]string{"corpus.jsonl.gz": "\x1f\x8b", "queries.jsonl": tinyQueries, "qrels/test.tsv": "query-id\tcorpus-id\tscore\n"})
	if _, err := LoadBEIR(gz, "test"); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "there is a corpus.jsonl.gz: decompress it first") {
		t.Errorf("compressed corpus only: err = %v, want the .gz named", err)
	}
}

func TestHandBuiltBEIR(t *testing.T) {
	b := &BEIR{
		Corpus:  []Doc{{ID: "d1", Text: "x"}},
		Queries: []Query{{ID: "q1", Text: "y"}},
		Qrels:   map[string]eval.Qrels{"test": {"q1": {"d1": 1}, "q2": {"d1": 1}}},
	}
	if d, ok := b.Doc("d1"); !ok || d.Text != "x" {
		t.Errorf("Doc(d1) = %+v, %v", d, ok)
	}
	if _, _, err := b.Split("test"); err == nil || !strings.Contains(err.Error(), "1 queries that are not in Queries") {
		t.Errorf("Split with a dangling query: err = %v", err)
	}
}
