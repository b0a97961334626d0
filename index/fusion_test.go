package index

import (
	"testing"

	"retune/eval"
)

// Hand-made lists over documents 0..3 with ids a..d:
//
//	dense: a 0.9, b 0.8, c 0.5     (ranks 1, 2, 3)
//	bm25:  c 12,  d 7,   a 3       (ranks 1, 2, 3)
var (
	fusionIDOrder = eval.IDRanks([]string{"a", "b", "c", "d"})
	fusionDense   = []scoredDoc{{Score: 0.9, Doc: 0}, {Score: 0.8, Doc: 1}, {Score: 0.5, Doc: 2}}
	fusionBM25    = []scoredDoc{{Score: 12, Doc: 2}, {Score: 7, Doc: 3}, {Score: 3, Doc: 0}}
)

type fusedWant struct {
	doc                 int32
	score               float64
	denseRank, bm25Rank int
}

func TestFusion(t *testing.T) {
	tests := []struct {
		name        string
		dense, bm25 []scoredDoc
		fuse        func(dense, bm25 []scoredDoc) []fusedHit
		want        []fusedWant
	}{
		{
			// a: 1/61 + 1/63 = 124/3843; c: 1/63 + 1/61, the same sum, so
			// the tie goes to the smaller id; b and d: 1/62 each, tied.
			name: "rrf k=60", dense: fusionDense, bm25: fusionBM25,
			fuse: func(d, b []scoredDoc) []fusedHit { return fuseRRF(d, b, 60) },
			want: []fusedWant{
				{0, 0.032266458495966696, 1, 3},
				{2, 0.032266458495966696, 3, 1},
				{1, 0.016129032258064516, 2, 0},
				{3, 0.016129032258064516, 0, 2},
			},
		},
		{
			// A small rrf_k sharpens the top: a 1/(1+1) + 1/(1+3),
			// c 1/(1+3) + 1/(1+1), b and d 1/(1+2).
			name: "rrf k=1", dense: fusionDense, bm25: fusionBM25,
			fuse: func(d, b []scoredDoc) []fusedHit { return fuseRRF(d, b, 1) },
			want: []fusedWant{
				{0, 1.0/2 + 1.0/4, 1, 3},
				{2, 1.0/4 + 1.0/2, 3, 1},
				{1, 1.0 / 3, 2, 0},
				{3, 1.0 / 3, 0, 2},
			},
		},
		{
			// Dense min-max over [0.5, 0.9]: a 1, b 0.75, c 0.
			// BM25 over [3, 12]: c 1, d 4/9, a 0.
			// alpha 0.5: a 0.5, c 0.5 (tie → id), b 0.375, d 2/9.
			name: "score alpha=0.5", dense: fusionDense, bm25: fusionBM25,
			fuse: func(d, b []scoredDoc) []fusedHit { return fuseScores(d, b, 0.5) },
			want: []fusedWant{
				{0, 0.5, 1, 3},
				{2, 0.5, 3, 1},
				{1, 0.375, 2, 0},
				{3, 0.2222222222222222, 0, 2},
			},
		},
		{
			// alpha 0.8: a 0.8, b 0.8·0.75 = 0.6, c 0.2·1 = 0.2,
			// d 0.2·4/9 = 0.0888….
			name: "score alpha=0.8", dense: fusionDense, bm25: fusionBM25,
			fuse: func(d, b []scoredDoc) []fusedHit { return fuseScores(d, b, 0.8) },
			want: []fusedWant{
				{0, 0.8, 1, 3},
				{1, 0.6, 2, 0},
				{2, 0.2, 3, 1},
				{3, 0.08888888888888889, 0, 2},
			},
		},
		{
			// A list whose candidates all score the same normalises to 1
			// (here the one-document BM25 list), and with the other list
			// empty it ranks alone, at weight 1.
			name: "score single and empty list", dense: nil, bm25: []scoredDoc{{Score: 4.2, Doc: 3}},
			fuse: func(d, b []scoredDoc) []fusedHit { return fuseScores(d, b, 0.5) },
			want: []fusedWant{{3, 1, 0, 1}},
		},
		{
			// alpha 1 weighs BM25 by 0: with no dense list its order must
			// survive (every score 0 would fall into id order).
			name: "score alpha=1, no dense list", dense: nil, bm25: []scoredDoc{{Score: 4, Doc: 2}, {Score: 2, Doc: 0}, {Score: 1, Doc: 1}},
			fuse: func(d, b []scoredDoc) []fusedHit { return fuseScores(d, b, 1) },
			want: []fusedWant{{2, 1, 0, 1}, {0, 1.0 / 3, 0, 2}, {1, 0, 0, 3}},
		},
		{
			// Symmetrically, no lexical match leaves the dense order at weight 1.
			name: "score alpha=0.5, no BM25 list", dense: fusionDense, bm25: nil,
			fuse: func(d, b []scoredDoc) []fusedHit { return fuseScores(d, b, 0.5) },
			want: []fusedWant{{0, 1, 1, 0}, {1, 0.75, 2, 0}, {2, 0, 3, 0}},
		},
		{
			name: "rrf one list", dense: fusionDense, bm25: nil,
			fuse: func(d, b []scoredDoc) []fusedHit { return fuseRRF(d, b, 60) },
			want: []fusedWant{{0, 1.0 / 61, 1, 0}, {1, 1.0 / 62, 2, 0}, {2, 1.0 / 63, 3, 0}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.fuse(tt.dense, tt.bm25)
			sortFused(got, fusionIDOrder)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d hits %+v, want %d", len(got), got, len(tt.want))
			}
			for i, w := range tt.want {
				g := got[i]
				if g.doc != w.doc || !near(g.score, w.score) || g.denseRank != w.denseRank || g.bm25Rank != w.bm25Rank {
					t.Errorf("hit %d = %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

func TestUnionKeepsEachListsScore(t *testing.T) {
	for _, h := range union(fusionDense, fusionBM25) {
		switch h.doc {
		case 0: // in both lists
			if h.dense != 0.9 || h.bm25 != 3 {
				t.Errorf("a: %+v", h)
			}
		case 3: // BM25 only
			if h.denseRank != 0 || h.bm25 != 7 {
				t.Errorf("d: %+v", h)
			}
		}
	}
}
