package main

import (
	"flag"
	"strings"
	"testing"

	"retune/negatives"
)

// The LLM limits are checked by flag name and mapped onto LLMConfig, whose
// zero retries would mean the default rather than none.
func TestLLMTuning(t *testing.T) {
	tests := []struct {
		args        []string
		want        string // "" = accepted
		wantRetries int
	}{
		{nil, "", 4},
		{[]string{"--llm-retries", "0"}, "", -1},
		{[]string{"--llm-retries", "21"}, "--llm-retries must be in [0, 20]", 0},
		{[]string{"--llm-concurrency", "0"}, "--llm-concurrency must be in [1, 256]", 0},
		{[]string{"--llm-concurrency", "257"}, "--llm-concurrency must be in [1, 256]", 0},
		{[]string{"--llm-temperature", "-1"}, "--llm-temperature must be in [0, 2]", 0},
		{[]string{"--llm-temperature", "NaN"}, "--llm-temperature must be in [0, 2]", 0},
		{[]string{"--llm-timeout", "0s"}, "--llm-timeout must be positive", 0},
	}
	for _, tt := range tests {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		var tu llmTuning
		tu.register(fs, "")
		if err := fs.Parse(tt.args); err != nil {
			t.Fatal(err)
		}
		err := tu.check()
		if tt.want != "" {
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%q: err %v, want %q", tt.args, err, tt.want)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%q: %v", tt.args, err)
		}
		var c negatives.LLMConfig
		tu.apply(&c)
		if c.MaxRetries != tt.wantRetries || c.Temperature != float32(negatives.DefaultLLMTemperature) || c.Concurrency != 4 {
			t.Errorf("%q: applied %+v", tt.args, c)
		}
	}
}
