package negatives

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"testing"

	"retune/eval"
)

// mineFixture is a 2-d index of 12 unit vectors d00…d11 at 0°, 5°, …, 55°
// from the query (1,0), so document i has rank i and score cos(5i°):
//
//	d00 1.0000  d01 0.9962  d02 0.9848  d03 0.9659  d04 0.9397  d05 0.9063
//	d06 0.8660  d07 0.8192  d08 0.7660  d09 0.7071  d10 0.6428  d11 0.5736
func mineFixture(t *testing.T) (*eval.Index, func(string) []float32) {
	t.Helper()
	var ids []string
	var vecs [][]float32
	byID := map[string][]float32{}
	for i := range 12 {
		a := float64(5*i) * math.Pi / 180
		id, v := fmt.Sprintf("d%02d", i), []float32{float32(math.Cos(a)), float32(math.Sin(a))}
		ids, vecs, byID[id] = append(ids, id), append(vecs, v), v
	}
	ix, err := eval.NewIndex(ids, vecs)
	if err != nil {
		t.Fatal(err)
	}
	return ix, func(id string) []float32 { return byID[id] }
}

func TestMine(t *testing.T) {
	ix, docVec := mineFixture(t)
	tests := []struct {
		name      string
		cfg       MineConfig
		positives map[string]int
		want      []string
		report    MineReport
	}{
		{
			name:      "window [2,5) with the margin out of reach",
			cfg:       MineConfig{RankFrom: 2, RankTo: 5, Margin: 1, PerQuery: 10},
			positives: map[string]int{"d00": 1},
			want:      []string{"d02", "d03", "d04"},
			report:    MineReport{Queries: 1, Negatives: 3},
		},
		{
			name:      "judged positives in the window are skipped, grade-0 judgments are not",
			cfg:       MineConfig{RankFrom: 2, RankTo: 6, Margin: 1, PerQuery: 10},
			positives: map[string]int{"d00": 1, "d03": 2, "d04": 0},
			want:      []string{"d02", "d04", "d05"},
			report:    MineReport{Queries: 1, Negatives: 3, PositivesSkipped: 1},
		},
		{
			// Positive d04 scores 0.9397; 0.95 × that = 0.8927 rejects d00–d03 and d05 (0.9063).
			name:      "margin rejects candidates scoring near the positive",
			cfg:       MineConfig{RankFrom: 0, RankTo: 8, Margin: 0.95, PerQuery: 2},
			positives: map[string]int{"d04": 1},
			want:      []string{"d06", "d07"},
			report:    MineReport{Queries: 1, Negatives: 2, MarginRejected: 5, PositivesSkipped: 1},
		},
		{
			name:      "too few survivors: filled with the lowest-scoring rejected, counted as fallback",
			cfg:       MineConfig{RankFrom: 0, RankTo: 8, Margin: 0.95, PerQuery: 4},
			positives: map[string]int{"d04": 1},
			want:      []string{"d06", "d07", "d05", "d03"},
			report:    MineReport{Queries: 1, Negatives: 4, MarginRejected: 5, PositivesSkipped: 1, FallbackQueries: 1, FallbackNegs: 2},
		},
		{
			name:      "fallback takes only what was rejected",
			cfg:       MineConfig{RankFrom: 0, RankTo: 3, Margin: 0.95, PerQuery: 5},
			positives: map[string]int{"d04": 1},
			want:      []string{"d02", "d01", "d00"},
			report:    MineReport{Queries: 1, Negatives: 3, MarginRejected: 3, FallbackQueries: 1, FallbackNegs: 3},
		},
		{
			name:      "PerQuery caps the list, best first",
			cfg:       MineConfig{RankFrom: 1, RankTo: 12, Margin: 0.95, PerQuery: 3},
			positives: nil,
			want:      []string{"d01", "d02", "d03"},
			report:    MineReport{Queries: 1, Negatives: 3},
		},
		{
			// 12 documents: ranks 10-11 alone would give 2 of 15.
			name:      "a corpus smaller than the window: the window starts higher, counted",
			cfg:       MineConfig{RankFrom: 10, RankTo: 100, Margin: 0.95, PerQuery: 15},
			positives: nil,
			want:      []string{"d00", "d01", "d02", "d03", "d04", "d05", "d06", "d07", "d08", "d09", "d10", "d11"},
			report:    MineReport{Queries: 1, Negatives: 12, ShallowQueries: 1},
		},
		{
			// Window [8,12): d09 is the positive, d08 scores above it.
			name:      "as far up as PerQuery needs",
			cfg:       MineConfig{RankFrom: 10, RankTo: 100, Margin: 0.95, PerQuery: 4},
			positives: map[string]int{"d09": 1},
			want:      []string{"d10", "d11", "d08"},
			report:    MineReport{Queries: 1, Negatives: 3, PositivesSkipped: 1, MarginRejected: 1, FallbackQueries: 1, FallbackNegs: 1, ShallowQueries: 1},
		},
		{
			name:      "a window from rank 0 has nowhere higher to start: not counted",
			cfg:       MineConfig{RankFrom: 0, RankTo: 100, Margin: 1, PerQuery: 15},
			positives: nil,
			want:      []string{"d00", "d01", "d02", "d03", "d04", "d05", "d06", "d07", "d08", "d09", "d10", "d11"},
			report:    MineReport{Queries: 1, Negatives: 12},
		},
		{
			name:      "a ranking that fills the window is not shifted",
			cfg:       MineConfig{RankFrom: 10, RankTo: 12, Margin: 0.95, PerQuery: 4},
			positives: nil,
			want:      []string{"d10", "d11"},
			report:    MineReport{Queries: 1, Negatives: 2},
		},
		{
			name:      "a positive without a vector disables the margin",
			cfg:       MineConfig{RankFrom: 0, RankTo: 3, Margin: 0.5, PerQuery: 5},
			positives: map[string]int{"elsewhere": 1},
			want:      []string{"d00", "d01", "d02"},
			report:    MineReport{Queries: 1, Negatives: 3},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, rep, err := Mine(t.Context(), ix, docVec, []string{"q"}, [][]float32{{1, 0}}, map[string]map[string]int{"q": tc.positives}, tc.cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got["q"], tc.want) {
				t.Errorf("mined %v, want %v", got["q"], tc.want)
			}
			if rep != tc.report {
				t.Errorf("report %+v, want %+v", rep, tc.report)
			}
		})
	}
}

// TestMineMarginIgnoresVectorLengths: an encoder that does not normalise
// gives the same negatives as one that does, the margin case of TestMine.
func TestMineMarginIgnoresVectorLengths(t *testing.T) {
	var ids []string
	var vecs [][]float32
	byID := map[string][]float32{}
	for i := range 12 {
		a := float64(5*i) * math.Pi / 180
		id, v := fmt.Sprintf("d%02d", i), []float32{3 * float32(math.Cos(a)), 3 * float32(math.Sin(a))}
		ids, vecs, byID[id] = append(ids, id), append(vecs, slices.Clone(v)), v
	}
	ix, err := eval.NewIndex(ids, vecs)
	if err != nil {
		t.Fatal(err)
	}
	cfg := MineConfig{RankFrom: 0, RankTo: 8, Margin: 0.95, PerQuery: 2}
	got, rep, err := Mine(t.Context(), ix, func(id string) []float32 { return byID[id] }, []string{"q"}, [][]float32{{2, 0}},
		map[string]map[string]int{"q": {"d04": 1}}, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := MineReport{Queries: 1, Negatives: 2, MarginRejected: 5, PositivesSkipped: 1}
	if !reflect.DeepEqual(got["q"], []string{"d06", "d07"}) || rep != want {
		t.Errorf("mined %v with report %+v, want [d06 d07] with %+v", got["q"], rep, want)
	}
}

// TestMineSeveralQueries: each query gets its own list; the report sums.
func TestMineSeveralQueries(t *testing.T) {
	ix, docVec := mineFixture(t)
	// q2 points at 55°, so its ranking is the fixture reversed: d11 first.
	a := 55 * math.Pi / 180
	qv := [][]float32{{1, 0}, {float32(math.Cos(a)), float32(math.Sin(a))}}
	pos := map[string]map[string]int{"q1": {"d01": 1}, "q2": {"d11": 1}}
	got, rep, err := Mine(t.Context(), ix, docVec, []string{"q1", "q2"}, qv, pos, MineConfig{RankFrom: 0, RankTo: 3, Margin: 1, PerQuery: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// q1: d00 (score 1) is above 1 × 0.9962 (positive d01), d01 is skipped,
	// d02 is picked, and the fallback adds d00 back for the second slot.
	// q2: its positive d11 ranks first and is skipped; d10 and d09 follow.
	want := map[string][]string{"q1": {"d02", "d00"}, "q2": {"d10", "d09"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("mined %v, want %v", got, want)
	}
	wantRep := MineReport{Queries: 2, Negatives: 4, PositivesSkipped: 2, MarginRejected: 1, FallbackQueries: 1, FallbackNegs: 1}
	if rep != wantRep {
		t.Errorf("report %+v, want %+v", rep, wantRep)
	}
}

func TestMineErrors(t *testing.T) {
	ix, docVec := mineFixture(t)
	q := [][]float32{{1, 0}}
	for _, cfg := range []MineConfig{
		{RankFrom: 5, RankTo: 5, PerQuery: 1},
		{RankFrom: -1, RankTo: 5, PerQuery: 1},
		{RankFrom: 0, RankTo: 5, PerQuery: 0},
	} {
		if _, _, err := Mine(t.Context(), ix, docVec, []string{"q"}, q, nil, cfg, nil); err == nil {
			t.Errorf("config %+v: no error", cfg)
		}
	}
	if _, _, err := Mine(t.Context(), ix, docVec, []string{"q", "r"}, q, nil, DefaultMineConfig(), nil); err == nil {
		t.Error("2 ids, 1 vector: no error")
	}
	if got, want := DefaultMineConfig(), (MineConfig{RankFrom: 10, RankTo: 100, Margin: 0.95, PerQuery: 15}); got != want {
		t.Errorf("DefaultMineConfig() = %+v, want %+v", got, want)
	}
}

// Mine works through its queries in chunks: progress after each, and a
// cancel stops it between them with the context's error.
func TestMineChunksProgressAndCancel(t *testing.T) {
	ix, docVec := mineFixture(t)
	n := mineChunk + 10
	ids, qv := make([]string, n), make([][]float32, n)
	for i := range ids {
		ids[i], qv[i] = fmt.Sprint("q", i), []float32{1, 0}
	}
	var done []int
	got, rep, err := Mine(t.Context(), ix, docVec, ids, qv, nil, DefaultMineConfig(), func(d int) { done = append(done, d) })
	if err != nil || len(got) != n || rep.Queries != n {
		t.Fatalf("mined %d queries (report %+v, err %v), want %d", len(got), rep, err, n)
	}
	if !slices.Equal(done, []int{mineChunk, n}) {
		t.Errorf("progress %v, want [%d %d]", done, mineChunk, n)
	}
	ctx, cancel := context.WithCancel(t.Context())
	_, _, err = Mine(ctx, ix, docVec, ids, qv, nil, DefaultMineConfig(), func(int) { cancel() })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled after the first chunk: err %v", err)
	}
}

// Mining searches an IVF only when many queries rank a large corpus, and
// never when asked to be exact.
func TestMineUseIVF(t *testing.T) {
	for _, tt := range []struct {
		docs, queries int
		exact         bool
		lists, probe  int
		ok            bool
	}{
		{5183, 809, false, 0, 0, false},              // SciFact: exact
		{99_999, 1_000_000, false, 0, 0, false},      // small corpus
		{1_000_000, 19_999, false, 0, 0, false},      // few queries
		{100_000, 20_000, false, 632, 39, true},      // 2·√100,000
		{1_299_820, 699_959, false, 2280, 142, true}, // the million-pair run
		{1_299_820, 699_959, true, 0, 0, false},      // --mine-exact
		{10_000, 20_000, false, 0, 0, false},
		{50_000_000, 1_000_000, false, 8192, 512, true}, // capped
	} {
		cfg := DefaultMineConfig()
		cfg.Exact = tt.exact
		lists, probe, ok := cfg.UseIVF(tt.docs, tt.queries)
		if lists != tt.lists || probe != tt.probe || ok != tt.ok {
			t.Errorf("UseIVF(%d docs, %d queries, exact %v) = %d, %d, %v; want %d, %d, %v",
				tt.docs, tt.queries, tt.exact, lists, probe, ok, tt.lists, tt.probe, tt.ok)
		}
	}
}
