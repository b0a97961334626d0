package train

import (
	"strings"
	"testing"
)

func TestPipelineConfigValidate(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*PipelineConfig)
		want   string
	}{
		{"negatives", func(c *PipelineConfig) { c.Negatives = "hard" }, "negatives must be one of"},
		{"same splits", func(c *PipelineConfig) { c.TestSplit = c.TrainSplit }, "test_split must differ"},
		{"mined count", func(c *PipelineConfig) { c.Mine.PerQuery = 0 }, "mined_per_query must be in [1, 1000]"},
		{"margin", func(c *PipelineConfig) { c.Mine.Margin = 0 }, "margin must be > 0"},
		{"generated count", func(c *PipelineConfig) { c.Generation.PerQuery = 51 }, "per_query must be in [1, 50]"},
		{"generation concurrency", func(c *PipelineConfig) { c.Generation.Concurrency = 0 }, "generation concurrency must be in [1, 256]"},
		{"min words", func(c *PipelineConfig) { c.Generation.Filter.MinWords = 0 }, "gen_min_words (the generated-negative minimum length) must be >= 1"},
		{"cosine limit", func(c *PipelineConfig) { c.Generation.Filter.MaxCosToPositive = 5 }, "gen_max_cos (the generated-negative cosine limit) must be in (0, 1]"},
		{"nothing to contrast", func(c *PipelineConfig) { c.Negatives, c.Train.InBatch = NegNone, false }, "nothing to contrast"},
		{"train settings", func(c *PipelineConfig) { c.Train.Epochs = 0 }, "epochs must be in"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultPipelineConfig()
			tt.mutate(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
	ok := DefaultPipelineConfig()
	ok.Negatives, ok.Train.InBatch = NegMined, false // mined negatives alone are enough
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid config refused: %v", err)
	}
}
