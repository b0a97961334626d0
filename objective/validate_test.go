package objective

import (
	"errors"
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func TestErrors(t *testing.T) {
	good := func() *Batch {
		return &Batch{
			Queries:  rows([]float64{1, 0}),
			Docs:     rows([]float64{1, 0}, []float64{0, 1}),
			DocIDs:   []string{"a", "b"},
			Examples: []Example{{Query: 0, Positive: 0, Negatives: []Negative{{1, Mined}}}},
		}
	}
	if _, err := Compute(good(), DefaultConfig()); err != nil {
		t.Fatalf("valid batch rejected: %v", err)
	}
	cases := []struct {
		name string
		edit func(*Batch, *Config)
		want error
	}{
		{"nil batch", nil, ErrEmptyBatch},
		{"no examples", func(b *Batch, _ *Config) { b.Examples = nil }, ErrEmptyBatch},
		{"nil queries", func(b *Batch, _ *Config) { b.Queries = nil }, ErrEmptyBatch},
		{"empty docs", func(b *Batch, _ *Config) { b.Docs = &mat.Dense{} }, ErrEmptyBatch},
		{"dim mismatch", func(b *Batch, _ *Config) { b.Docs = mat.NewDense(2, 3, nil) }, ErrShape},
		{"doc IDs short", func(b *Batch, _ *Config) { b.DocIDs = b.DocIDs[:1] }, ErrShape},
		{"query negative", func(b *Batch, _ *Config) { b.Examples[0].Query = -1 }, ErrIndex},
		{"query too big", func(b *Batch, _ *Config) { b.Examples[0].Query = 1 }, ErrIndex},
		{"positive too big", func(b *Batch, _ *Config) { b.Examples[0].Positive = 2 }, ErrIndex},
		{"negative too big", func(b *Batch, _ *Config) { b.Examples[0].Negatives[0].Doc = 2 }, ErrIndex},
		{"negative below 0", func(b *Batch, _ *Config) { b.Examples[0].Negatives[0].Doc = -3 }, ErrIndex},
		{"unknown source", func(b *Batch, _ *Config) { b.Examples[0].Negatives[0].Source = 9 }, ErrSource},
		{"zero temperature", func(_ *Batch, c *Config) { c.Temperature = 0 }, ErrConfig},
		{"NaN temperature", func(_ *Batch, c *Config) { c.Temperature = math.NaN() }, ErrConfig},
		{"negative weight", func(_ *Batch, c *Config) { c.EntropyWeight = -1 }, ErrConfig},
		{"weight without entropy temperature", func(_ *Batch, c *Config) { c.EntropyTemperature = 0 }, ErrConfig},
		{"NaN head output", func(b *Batch, _ *Config) { b.Docs.Set(1, 1, math.NaN()) }, ErrNonFinite},
		{"Inf head output", func(b *Batch, _ *Config) { b.Queries.Set(0, 0, math.Inf(1)) }, ErrNonFinite},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, cfg := good(), DefaultConfig()
			if tc.edit == nil {
				b = nil
			} else {
				tc.edit(b, &cfg)
			}
			_, err := Compute(b, cfg)
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			t.Log(err)
		})
	}
}
