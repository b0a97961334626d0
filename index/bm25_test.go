package index

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"retune/eval"
)

// The 3-document corpus of the hand computations below. After analysis
// (lowercase, "the" is a stop word):
//
//	d1: apple apple banana     |d1| = 3
//	d2: banana cherry          |d2| = 2
//	d3: cherry×3 date          |d3| = 4   ("the" dropped, not counted)
//
// N = 3, avgdl = 9/3 = 3. df: apple 1, banana 2, cherry 2, date 1.
//
//	idf(df=1) = ln(1 + (3−1+0.5)/(1+0.5)) = ln(8/3) = 0.9808292530117263
//	idf(df=2) = ln(1 + (3−2+0.5)/(2+0.5)) = ln(1.6) = 0.47000362924573563
//
// With k1 = 0.9, b = 0.4, norm(d) = k1·(1 − b + b·|d|/avgdl):
//
//	norm(d1) = 0.9·(0.6 + 0.4·3/3) = 0.9
//	norm(d2) = 0.9·(0.6 + 0.4·2/3) = 0.78
//	norm(d3) = 0.9·(0.6 + 0.4·4/3) = 1.02
//
// and a term contributes idf·qtf·tf·(k1+1)/(tf + norm(d)).
var handIDs, handTexts = []string{"d1", "d2", "d3"}, []string{
	"Apple banana APPLE",
	"banana, cherry",
	"cherry cherry the Cherry date",
}

func TestBM25HandComputed(t *testing.T) {
	tests := []struct {
		name  string
		opts  []BM25Option
		query string
		want  []eval.Scored
	}{
		{
			// d2: 0.47000362924573563·1.9/(1+0.78); d1: ·1.9/(1+0.9) = idf.
			// The shorter document wins at equal tf.
			name: "length normalisation", query: "banana",
			want: []eval.Scored{{ID: "d2", Score: 0.5016892671724144}, {ID: "d1", Score: 0.47000362924573563}},
		},
		{
			// d3: idf(2)·3·1.9/(3+1.02); d2: idf(2)·1.9/1.78.
			name: "term frequency", query: "cherry",
			want: []eval.Scored{{ID: "d3", Score: 0.6664230563932072}, {ID: "d2", Score: 0.5016892671724144}},
		},
		{
			// d1: idf(1)·2·1.9/(2+0.9); d3: idf(1)·1.9/(1+1.02).
			name: "two terms, disjoint documents", query: "apple date",
			want: []eval.Scored{{ID: "d1", Score: 1.2852245384291585}, {ID: "d3", Score: 0.9225621686743959}},
		},
		{
			// d2 matches both: 2 × 0.5016892671724144.
			name: "scores add over terms", query: "banana cherry",
			want: []eval.Scored{
				{ID: "d2", Score: 1.0033785343448287},
				{ID: "d3", Score: 0.6664230563932072},
				{ID: "d1", Score: 0.47000362924573563},
			},
		},
		{
			// A repeated query term counts twice: 2 × 1.2852245384291585.
			name: "query term frequency", query: "apple APPLE",
			want: []eval.Scored{{ID: "d1", Score: 2.570449076858317}},
		},
		{
			// k1 = 1.2, b = 0.75: norm(d2) = 1.2·(0.25 + 0.75·2/3) = 0.9,
			// norm(d3) = 1.2·(0.25 + 0.75·4/3) = 1.5;
			// d3: idf(2)·3·2.2/(3+1.5), d2: idf(2)·2.2/(1+0.9).
			name: "k1 and b options", query: "cherry", opts: []BM25Option{WithK1(1.2), WithB(0.75)},
			want: []eval.Scored{{ID: "d3", Score: 0.6893386562270789}, {ID: "d2", Score: 0.5442147286003255}},
		},
		{
			// Without a stop list "the" is a term (df 1) and |d3| = 5,
			// avgdl = 10/3, norm(d3) = 0.9·(0.6 + 0.4·5/(10/3)) = 1.08;
			// d3: idf(1)·1.9/(1+1.08).
			name: "no stop words", query: "the", opts: []BM25Option{WithStopWords(nil)},
			want: []eval.Scored{{ID: "d3", Score: 0.895949798424173}},
		},
		{
			// b = 0 removes length normalisation: d1 and d2 both score
			// idf(2)·1.9/(1+0.9) = idf(2) and tie, broken by id.
			name: "b=0 tie", query: "banana", opts: []BM25Option{WithB(0)},
			want: []eval.Scored{{ID: "d1", Score: 0.47000362924573563}, {ID: "d2", Score: 0.47000362924573563}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ix, err := NewBM25(handIDs, handTexts, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			got := ix.Search(tt.query, 10)
			if len(got) != len(tt.want) {
				t.Fatalf("Search(%q) = %v, want %v", tt.query, got, tt.want)
			}
			for i := range got {
				if got[i].ID != tt.want[i].ID || !near(got[i].Score, tt.want[i].Score) {
					t.Errorf("hit %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// near compares computed scores with hand-derived ones to 1e-12 relative:
// the order of floating-point operations may differ from the derivation.
func near(a, b float64) bool {
	return math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b))
}

func TestBM25TiesByID(t *testing.T) {
	// Five identical documents inserted out of id order: every score ties,
	// so the top k must be the k smallest ids, also when the heap has to
	// evict a tied document to make room.
	ids := []string{"e", "c", "a", "d", "b"}
	texts := slices.Repeat([]string{"same words here"}, len(ids))
	ix, err := NewBM25(ids, texts)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[int][]string{1: {"a"}, 2: {"a", "b"}, 5: {"a", "b", "c", "d", "e"}, 9: {"a", "b", "c", "d", "e"}} {
		got := ix.Search("words", k)
		if gotIDs := idsOf(got); !slices.Equal(gotIDs, want) {
			t.Errorf("k=%d: ids %v, want %v", k, gotIDs, want)
		}
		for _, h := range got {
			if h.Score != got[0].Score {
				t.Errorf("k=%d: scores differ: %v", k, got)
			}
		}
	}
}

func TestBM25NoMatch(t *testing.T) {
	ix, err := NewBM25(handIDs, handTexts)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"kiwi", "the of and", "", "   ", "?!", "cherry"} {
		k := 10
		if q == "cherry" {
			k = 0 // a known term, but no room for hits
		}
		if got := ix.Search(q, k); got != nil {
			t.Errorf("Search(%q, %d) = %v, want nil", q, k, got)
		}
	}
}

func TestBM25KClipsToMatches(t *testing.T) {
	ix, err := NewBM25(handIDs, handTexts)
	if err != nil {
		t.Fatal(err)
	}
	if got := idsOf(ix.Search("banana cherry", 2)); !slices.Equal(got, []string{"d2", "d3"}) {
		t.Errorf("k=2: %v, want [d2 d3]", got)
	}
	// Only documents containing a query term are returned, however large k.
	if got := idsOf(ix.Search("apple", 1000)); !slices.Equal(got, []string{"d1"}) {
		t.Errorf("k=1000: %v, want [d1]", got)
	}
}

func TestBM25EmptyDocuments(t *testing.T) {
	// Documents without terms are legal; they never match and count as
	// length 0 in avgdl. With no terms anywhere, nothing matches at all.
	ix, err := NewBM25([]string{"x", "y"}, []string{"", "the of"})
	if err != nil {
		t.Fatal(err)
	}
	if got := ix.Search("anything", 5); got != nil {
		t.Errorf("got %v", got)
	}
	ix, err = NewBM25([]string{"x", "y"}, []string{"", "word"})
	if err != nil {
		t.Fatal(err)
	}
	// avgdl = 1/2, |y| = 1: norm = 0.9·(0.6 + 0.4·2) = 1.26;
	// idf(df=1, N=2) = ln(1 + 1.5/1.5) = ln 2; score = ln2·1.9/2.26.
	got := ix.Search("word", 5)
	if len(got) != 1 || got[0].ID != "y" || !near(got[0].Score, math.Ln2*1.9/2.26) {
		t.Errorf("got %v, want y with %v", got, math.Ln2*1.9/2.26)
	}
}

func TestNewBM25Errors(t *testing.T) {
	tests := []struct {
		name  string
		ids   []string
		texts []string
		opts  []BM25Option
		want  string
	}{
		{"no documents", nil, nil, nil, "no documents"},
		{"length mismatch", []string{"a", "b"}, []string{"x"}, nil, "2 ids but 1 texts"},
		{"empty id", []string{"a", ""}, []string{"x", "y"}, nil, "id 1 is empty"},
		{"duplicate id", []string{"a", "a"}, []string{"x", "y"}, nil, `duplicate id "a"`},
		{"negative k1", []string{"a"}, []string{"x"}, []BM25Option{WithK1(-0.1)}, "k1"},
		{"infinite k1", []string{"a"}, []string{"x"}, []BM25Option{WithK1(math.Inf(1))}, "k1"},
		{"b above 1", []string{"a"}, []string{"x"}, []BM25Option{WithB(1.01)}, "b="},
		{"NaN b", []string{"a"}, []string{"x"}, []BM25Option{WithB(math.NaN())}, "b="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewBM25(tt.ids, tt.texts, tt.opts...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestBM25Params(t *testing.T) {
	ix, err := NewBM25(handIDs, handTexts)
	if err != nil {
		t.Fatal(err)
	}
	p := ix.Params()
	if p.K1 != 0.9 || p.B != 0.4 || !slices.Equal(p.StopWords, EnglishStopWords) {
		t.Errorf("defaults = %+v", p)
	}
	// Params returns a copy: editing it must not change the index.
	p.StopWords[0] = "banana"
	if got := ix.Params().StopWords[0]; got != EnglishStopWords[0] {
		t.Errorf("Params aliases the index's stop list: %q", got)
	}
}

func TestCustomStopWordsAreNormalised(t *testing.T) {
	// "Café" in the list must remove the analysed term "cafe".
	ix, err := NewBM25([]string{"a", "b"}, []string{"café crème", "cafe"}, WithStopWords([]string{"Café"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := ix.Search("cafe", 5); got != nil {
		t.Errorf("stop word matched: %v", got)
	}
	if got := idsOf(ix.Search("creme", 5)); !slices.Equal(got, []string{"a"}) {
		t.Errorf("creme: %v", got)
	}
}

func idsOf(hits []eval.Scored) []string {
	out := make([]string, len(hits))
	for i, h := range hits {
		out[i] = h.ID
	}
	return out
}

// TestBM25ParallelBuildIsSequentialBuild: pass 1 split into runs (terms
// first seen in different runs, stop words, empty and repeated texts)
// builds the same index as one run.
func TestBM25ParallelBuildIsSequentialBuild(t *testing.T) {
	defer func(m, p int) { bm25MinRun = m; runtime.GOMAXPROCS(p) }(bm25MinRun, runtime.GOMAXPROCS(4))
	r := rand.New(rand.NewPCG(41, 42))
	words := []string{"the", "Rocket", "rockets", "fuel", "orbit", "bread", "oven", "of", "ÉCOLE", "naïve", "x2", "data"}
	ids := make([]string, 997)
	texts := make([]string, len(ids))
	for i := range texts {
		ids[i] = fmt.Sprintf("d%d", i)
		var b strings.Builder
		for range r.IntN(12) {
			b.WriteString(words[r.IntN(len(words))] + " ")
		}
		if i%97 == 0 {
			b.WriteString(fmt.Sprintf("rare%d", i)) // a term only one run sees
		}
		texts[i] = b.String()
	}
	build := func(minRun int) *BM25 {
		bm25MinRun = minRun
		ix, err := NewBM25(ids, texts)
		if err != nil {
			t.Fatal(err)
		}
		return ix
	}
	one, four := build(len(ids)+1), build(100)
	if bm25Workers(len(ids)) != 4 {
		t.Fatalf("the split build used %d runs, want 4", bm25Workers(len(ids)))
	}
	for name, pair := range map[string][2]any{
		"terms": {one.terms, four.terms}, "idf": {one.idf, four.idf},
		"postStart": {one.postStart, four.postStart}, "postDoc": {one.postDoc, four.postDoc}, "postTF": {one.postTF, four.postTF},
		"docLen": {one.docLen, four.docLen}, "docNorm": {one.docNorm, four.docNorm}, "avgdl": {one.avgdl, four.avgdl},
	} {
		if !reflect.DeepEqual(pair[0], pair[1]) {
			t.Errorf("%s differs between one run and four", name)
		}
	}
}

func TestSplitRuns(t *testing.T) {
	texts := []string{"aaaa", "", "bb", "cccccc", "d", "eeee"}
	for k := 1; k <= 4; k++ {
		runs := splitRuns(texts, k)
		if len(runs) != k || runs[0][0] != 0 || runs[k-1][1] != len(texts) {
			t.Fatalf("k=%d: runs %v", k, runs)
		}
		for i := 1; i < k; i++ {
			if runs[i][0] != runs[i-1][1] {
				t.Fatalf("k=%d: runs %v are not consecutive", k, runs)
			}
		}
	}
}
