package negatives

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"
)

const (
	filterQuery    = "Aspirin lowers stroke risk."
	filterPositive = "Aspirin lowers stroke risk in older adults, according to a large trial."
	filterNear     = "Aspirin lowered stroke risk in older adults, according to a large study."
)

var filterPairsFixture = []Pair{
	{QueryID: "q1", Query: filterQuery, PosID: "d1", Positive: filterPositive},
	{QueryID: "q1", Query: filterQuery, PosID: "d2", Positive: "Another abstract about aspirin and vascular events in a cohort."},
	{QueryID: "q2", Query: "Statins lower cholesterol.", PosID: "d3", Positive: "Statins lower LDL cholesterol by a third in most trials reviewed here."},
}

// filterEmbedFake embeds filterPositive as (1,0), filterNear at cosine 0.995
// with it, the other positives as (-1,0) and everything else as (0,1),
// orthogonal to every positive. It records its calls.
type filterEmbedFake struct {
	calls [][]string
	err   error
}

func (f *filterEmbedFake) embed(_ context.Context, texts []string) ([][]float32, error) {
	f.calls = append(f.calls, slices.Clone(texts))
	if f.err != nil {
		return nil, f.err
	}
	out := make([][]float32, len(texts))
	for i, t := range texts {
		switch t {
		case filterPositive:
			out[i] = []float32{1, 0}
		case filterNear:
			out[i] = []float32{1, 0.1}
		case filterPairsFixture[1].Positive, filterPairsFixture[2].Positive:
			out[i] = []float32{-1, 0}
		default:
			out[i] = []float32{0, 1}
		}
	}
	return out, nil
}

func TestFilterReasons(t *testing.T) {
	keep := "Clopidogrel lowers the rate of bleeding in older adults, according to a large trial."
	keepWordsInside := "Low-dose aspirin lowers stroke riskiness scores in older adults, the cohort reported."
	tests := []struct {
		name   string
		neg    Negative
		reason string // "" = kept
	}{
		{"kept", Negative{QueryID: "q1", PosID: "d1", Text: keep}, ""},
		{"empty", Negative{QueryID: "q1", PosID: "d1", Text: " \n\t "}, RejectEmpty},
		{"too short", Negative{QueryID: "q1", PosID: "d1", Text: "Aspirin does nothing at all here."}, RejectTooShort},
		{"identical up to case and spacing", Negative{QueryID: "q1", PosID: "d1",
			Text: "  aspirin LOWERS stroke risk in older adults,\naccording to a large trial. "}, RejectIdentical},
		{"contains the query", Negative{QueryID: "q1", PosID: "d1",
			Text: "In a trial of women, ASPIRIN lowers  stroke\trisk. Men were not studied at all."}, RejectContainsQuery},
		{"contains the query without its full stop", Negative{QueryID: "q1", PosID: "d1",
			Text: "Background: aspirin lowers stroke-risk, as reported; men were not studied at all."}, RejectContainsQuery},
		{"contains the query's words inside longer words only", Negative{QueryID: "q1", PosID: "d1",
			Text: keepWordsInside}, ""},
		{"near-identical", Negative{QueryID: "q1", PosID: "d1", Text: filterNear}, RejectNearIdentical},
		{"duplicate of a kept negative of the same query", Negative{QueryID: "q1", PosID: "d2", Text: keep + " "}, RejectDuplicate},
		{"same text for another query is kept", Negative{QueryID: "q2", PosID: "d3", Text: keep}, ""},
	}
	var negs []Negative
	for _, tc := range tests {
		negs = append(negs, tc.neg)
	}
	f := &filterEmbedFake{}
	kept, rejected, err := Filter(context.Background(), negs, filterPairsFixture, DefaultFilterConfig(), f.embed)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ""
			for _, r := range rejected {
				if reflect.DeepEqual(r.Negative, tc.neg) {
					got = r.Reason
				}
			}
			if got == "" && !slices.Contains(kept, tc.neg) {
				t.Fatal("neither kept nor rejected")
			}
			if got != tc.reason {
				t.Errorf("reason %q, want %q", got, tc.reason)
			}
		})
	}
	if len(kept)+len(rejected) != len(negs) {
		t.Errorf("%d kept + %d rejected != %d", len(kept), len(rejected), len(negs))
	}
	// One embed call, covering the positives and only the negatives that
	// passed the text checks.
	if len(f.calls) != 1 {
		t.Fatalf("embed called %d times, want 1", len(f.calls))
	}
	want := []string{filterPositive, keep, keepWordsInside, filterNear, filterPairsFixture[1].Positive, keep + " ", filterPairsFixture[2].Positive}
	if got := f.calls[0]; !reflect.DeepEqual(got, want) {
		t.Errorf("embedded\n%q\nwant\n%q", got, want)
	}
}

func TestFilterConfig(t *testing.T) {
	if got, want := DefaultFilterConfig(), (FilterConfig{MinWords: 8, MaxCosToPositive: 0.98, RejectQueryCopy: true}); got != want {
		t.Errorf("DefaultFilterConfig() = %+v, want %+v", got, want)
	}
	ctx := context.Background()
	short := Negative{QueryID: "q1", PosID: "d1", Text: "Aspirin does nothing at all here."}
	copyQ := Negative{QueryID: "q1", PosID: "d1", Text: "We found that aspirin lowers stroke risk. Nothing else was reported."}
	// MinWords 3 keeps a 6-word text; RejectQueryCopy false keeps a copy.
	kept, rej, err := Filter(ctx, []Negative{short, copyQ}, filterPairsFixture, FilterConfig{MinWords: 3}, nil)
	if err != nil || len(kept) != 2 || len(rej) != 0 {
		t.Errorf("lenient config: kept %v rejected %v err %v", kept, rej, err)
	}
	// A threshold above the near-identical cosine keeps it.
	f := &filterEmbedFake{}
	near := Negative{QueryID: "q1", PosID: "d1", Text: filterNear}
	kept, _, _ = Filter(ctx, []Negative{near}, filterPairsFixture, FilterConfig{MaxCosToPositive: 0.999, RejectQueryCopy: true}, f.embed)
	if len(kept) != 1 {
		t.Errorf("MaxCosToPositive 0.999 rejected a 0.995 negative")
	}
	// Without an embedder the near-identical check is skipped.
	kept, _, _ = Filter(ctx, []Negative{near}, filterPairsFixture, DefaultFilterConfig(), nil)
	if len(kept) != 1 {
		t.Errorf("nil embed: near-identical rejected anyway")
	}
}

func TestFilterEmbedError(t *testing.T) {
	boom := errors.New("encoder down")
	f := &filterEmbedFake{err: boom}
	negs := []Negative{{QueryID: "q1", PosID: "d1", Text: filterNear}, {QueryID: "q1", PosID: "d1", Text: ""}}
	kept, rej, err := Filter(context.Background(), negs, filterPairsFixture, DefaultFilterConfig(), f.embed)
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want it to wrap %v", err, boom)
	}
	// The text checks' outcome is still returned.
	if len(kept) != 1 || len(rej) != 1 || rej[0].Reason != RejectEmpty {
		t.Errorf("kept %v rejected %v", kept, rej)
	}
}
