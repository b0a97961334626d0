package main

import (
	"context"
	"encoding/json"
	"flag"
	"strings"
	"testing"

	openai "github.com/sashabaranov/go-openai"

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
		{nil, "", negatives.DefaultLLMRetries},
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

// The run summary carries what an LLM run's report says about its source
// and errors (a probe found them only in negatives.json), but not the list
// of failed pairs, which can run to thousands.
func TestGenerationSummaryKeepsLLMSourceAndErrors(t *testing.T) {
	r := &negatives.Report{Generator: "causal", Failures: 2, FailedPairs: []string{"q1/d1", "q2/d2"},
		FailureSamples: []string{"q1/d1: llm: no reply"}, KeptByType: map[string]int{"entity_shift": 3},
		LLM: &negatives.LLMSource{BaseURL: "http://127.0.0.1:8000/v1", Model: "m", Temperature: new(0.7)}, ElapsedS: 1.5}
	b, err := json.Marshal(generationSummary(r))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]json.RawMessage
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"llm", "failure_samples", "kept_by_type", "elapsed_s", "failures", "diagnostics"} {
		if _, ok := got[key]; !ok {
			t.Errorf("summary lacks %q: %s", key, b)
		}
	}
	if _, ok := got["failed_pairs"]; ok {
		t.Errorf("summary lists the failed pairs: %s", b)
	}
}

// A server given a key and a model, and no base URL, talks to OpenAI's own
// endpoint (go-openai's default, where retune train sends such runs).
func TestServerLLMDefaultsToOpenAI(t *testing.T) {
	if got := openai.DefaultConfig("k").BaseURL; got != negatives.OpenAIBaseURL {
		t.Fatalf("go-openai's default base URL %q, negatives.OpenAIBaseURL %q", got, negatives.OpenAIBaseURL)
	}
	for _, tc := range []struct {
		in   negatives.LLMConfig
		want string
	}{
		{negatives.LLMConfig{Model: "gpt-4o-mini", APIKey: "sk-x"}, negatives.OpenAIBaseURL},
		{negatives.LLMConfig{Model: "m", APIKey: "k", BaseURL: "http://vllm:8000/v1"}, "http://vllm:8000/v1"},
		{negatives.LLMConfig{Model: "m"}, ""},     // no key: nothing to reach OpenAI with
		{negatives.LLMConfig{APIKey: "sk-x"}, ""}, // no model: no LLM configured
	} {
		if got := withOpenAIDefault(tc.in).BaseURL; got != tc.want {
			t.Errorf("%+v: base URL %q, want %q", tc.in, got, tc.want)
		}
	}
}

// spendingGen is a generator whose LLM has spent u.
type spendingGen struct{ u negatives.LLMUsage }

func (spendingGen) Name() string { return "causal" }
func (spendingGen) Generate(context.Context, negatives.Pair, []string, int) ([]negatives.Negative, error) {
	return nil, nil
}
func (g spendingGen) LLMUsage() negatives.LLMUsage { return g.u }

// A failed run says what its LLM spent (no report will), and says nothing
// when it sent no request.
func TestReportLLMSpent(t *testing.T) {
	var b strings.Builder
	reportLLMSpent(&b, spendingGen{negatives.LLMUsage{Requests: 12, Retries: 2, Repairs: 1, PromptTokens: 900, CompletionTokens: 300}})
	if want := "LLM spent before the run stopped: 12 requests (2 retries, 1 repairs), 900 prompt + 300 completion tokens\n"; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
	b.Reset()
	reportLLMSpent(&b, spendingGen{})
	reportLLMSpent(&b, negatives.NewOfflineGenerator())
	if b.Len() != 0 {
		t.Errorf("nothing spent, yet: %q", b.String())
	}
}
