package eval

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// topicCorpus draws n documents and nq queries around `topics` random
// directions, as embeddings of texts on a few hundred subjects sit: the
// structure an IVF's lists follow.
func topicCorpus(r *rand.Rand, n, nq, topics, dim int, spread float64) (ids []string, docs, queries [][]float32) {
	centers := make([][]float64, topics)
	for t := range centers {
		centers[t] = make([]float64, dim)
		for j := range centers[t] {
			centers[t][j] = r.NormFloat64()
		}
	}
	draw := func() []float32 {
		c := centers[r.IntN(topics)]
		v := make([]float32, dim)
		for j := range v {
			v[j] = float32(c[j] + spread*r.NormFloat64())
		}
		return v
	}
	for i := range n {
		ids = append(ids, fmt.Sprintf("d%06d", i))
		docs = append(docs, draw())
	}
	for range nq {
		queries = append(queries, draw())
	}
	return ids, docs, queries
}

func hitIDs(hits []Scored) []string {
	out := make([]string, len(hits))
	for i, h := range hits {
		out[i] = h.ID
	}
	return out
}

// Every document is in exactly one list, and the same seed builds the same
// index.
func TestIVFListsPartitionTheDocuments(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	ids, docs, _ := topicCorpus(r, 3000, 0, 40, 16, 0.5)
	ix, err := NewIndex(ids, docs)
	if err != nil {
		t.Fatal(err)
	}
	v := NewIVF(ix, 50, 5, 7)
	seen := make([]int, len(ids))
	for _, d := range v.docs {
		seen[d]++
	}
	for d, n := range seen {
		if n != 1 {
			t.Fatalf("document %d is in %d lists", d, n)
		}
	}
	if v.offsets[v.nlist] != len(ids) || v.Lists() != 50 || v.Probe() != 5 {
		t.Fatalf("offsets end at %d of %d; %d lists, probe %d", v.offsets[v.nlist], len(ids), v.Lists(), v.Probe())
	}
	again := NewIVF(ix, 50, 5, 7)
	if !slices.Equal(v.docs, again.docs) || !slices.Equal(v.centroids, again.centroids) {
		t.Fatal("the same seed built another index")
	}
	// More lists than documents, and one list: both still search.
	small, _ := NewIndex(ids[:3], docs[:3])
	if got := NewIVF(small, 10, 10, 1).SearchBatch(docs[:1], 5, 0); len(got[0]) != 3 {
		t.Fatalf("3 documents in up to 10 lists: %v", got)
	}
}

// Probing every list is exhaustive: the same documents in the same order
// as exact search. Probing a few finds most of the exact top 100 on
// clustered data, and the scores are the documents' own.
func TestIVFSearch(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	ids, docs, queries := topicCorpus(r, 20000, 200, 200, 32, 0.6)
	ix, err := NewIndex(ids, docs)
	if err != nil {
		t.Fatal(err)
	}
	exact := ix.SearchBatch(queries, 100, 0)

	all := NewIVF(ix, 64, 64, 1).SearchBatch(queries, 100, 0)
	for i := range queries {
		if got, want := hitIDs(all[i]), hitIDs(exact[i]); !slices.Equal(got, want) {
			t.Fatalf("query %d, all lists probed: %v\nwant %v", i, got[:10], want[:10])
		}
	}

	v := NewIVF(ix, 128, 12, 1)
	approx := v.SearchBatch(queries, 100, 3)
	var found, total int
	for i := range queries {
		want := map[string]bool{}
		for _, h := range exact[i] {
			want[h.ID] = true
		}
		for j, h := range approx[i] {
			if j > 0 && approx[i][j-1].Score < h.Score {
				t.Fatalf("query %d: hits out of order at %d", i, j)
			}
			if want[h.ID] {
				found++
			}
		}
		total += len(exact[i])
	}
	if recall := float64(found) / float64(total); recall < 0.9 {
		t.Fatalf("recall@100 of 12 of 128 lists: %.3f, want >= 0.9", recall)
	} else {
		t.Logf("recall@100 probing 12 of 128 lists: %.3f", recall)
	}
	// A hit's score is its document's dot product with the query.
	q := queries[0]
	for _, h := range approx[0][:10] {
		d := slices.Index(ids, h.ID)
		row := ix.data[d*ix.dim : (d+1)*ix.dim]
		var dot float64
		for j := range q {
			dot += float64(q[j]) * float64(row[j])
		}
		if diff := dot - h.Score; diff > 1e-4 || diff < -1e-4 {
			t.Fatalf("hit %s scored %g, its dot product is %g", h.ID, h.Score, dot)
		}
	}
}

// nearest finds the same positions as sorting all scores.
func TestNearest(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	for range 200 {
		n := 1 + r.IntN(60)
		scores := make([]float32, n)
		for i := range scores {
			scores[i] = float32(r.IntN(10)) // many ties
		}
		k := 1 + r.IntN(n)
		got := make([]int32, k)
		nearest(scores, got)
		order := make([]int32, n)
		for i := range order {
			order[i] = int32(i)
		}
		slices.SortStableFunc(order, func(a, b int32) int {
			switch {
			case scores[a] > scores[b]:
				return -1
			case scores[a] < scores[b]:
				return 1
			}
			return 0
		})
		want := slices.Clone(order[:k])
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("scores %v, k %d: got %v, want %v", scores, k, got, want)
		}
	}
}
