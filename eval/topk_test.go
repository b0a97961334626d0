package eval

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

// TestTopK checks TopK against a full sort, with many ties (scores drawn from
// a few values) so that the id tie-break decides who survives the cut.
func TestTopK(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	for _, tc := range []struct {
		name   string
		n, k   int
		values int // distinct scores
	}{
		{"k=1", 50, 1, 5},
		{"k<n many ties", 200, 10, 3},
		{"k<n few ties", 200, 10, 1000},
		{"k=n", 30, 30, 4},
		{"k>n", 5, 10, 2},
		{"all tied", 40, 7, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ids := make([]string, tc.n)
			for i := range ids {
				ids[i] = strconv.Itoa(r.IntN(1 << 20)) // random id order, not position order
			}
			ids = slices.Compact(slices.Sorted(slices.Values(ids)))
			r.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
			all := make([]Candidate, len(ids))
			for i := range all {
				all[i] = Candidate{Score: float64(r.IntN(tc.values)), Doc: int32(i)}
			}
			h := NewTopK(tc.k, len(all), IDRanks(ids))
			for _, c := range all {
				h.Offer(c.Score, c.Doc)
			}
			got := h.Sorted()
			want := slices.Clone(all)
			slices.SortFunc(want, func(a, b Candidate) int {
				if c := cmp.Compare(b.Score, a.Score); c != 0 {
					return c
				}
				return cmp.Compare(ids[a.Doc], ids[b.Doc])
			})
			want = want[:min(tc.k, len(want))]
			if !slices.Equal(got, want) {
				t.Errorf("TopK = %v\nwant %v", got, want)
			}
		})
	}
}
