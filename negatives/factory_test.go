package negatives

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func TestNewGenerator(t *testing.T) {
	corpus := []string{"the protein increases cell growth", "the gene decreases tumour risk"}
	cases := []struct {
		kind, model, want, err string
	}{
		{"", "", KindOffline, ""},
		{"", "gpt-x", KindCausal, ""},
		{KindOffline, "gpt-x", KindOffline, ""},
		{KindNaive, "gpt-x", KindNaive, ""},
		{KindCausal, "", "", "needs an LLM"},
		{"magic", "", "", "offline, causal or naive"},
	}
	for _, c := range cases {
		g, err := NewGenerator(c.kind, corpus, 1, LLMConfig{Model: c.model, BaseURL: "http://127.0.0.1:1/v1"})
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q/%q: err %v, want %q", c.kind, c.model, err, c.err)
			}
			continue
		}
		if err != nil || g.Name() != c.want {
			t.Errorf("%q/%q: got %v %v, want %s", c.kind, c.model, g, err, c.want)
		}
	}
}

func TestGeneratorSettingsNameWhatShapesOutput(t *testing.T) {
	llm := LLMConfig{BaseURL: "http://127.0.0.1:1/v1", Model: "m1", APIKey: "sk-secret", Temperature: 0.7}
	causal, err := NewGenerator(KindCausal, nil, 1, llm)
	if err != nil {
		t.Fatal(err)
	}
	s := SettingsOf(causal)
	if s.Generator != KindCausal || s.Model != "m1" || s.BaseURL != llm.BaseURL || *s.Temperature != 0.7 ||
		!slices.Equal(s.Prompts, []string{"causal_analysis.v1", "causal_generate.v1"}) {
		t.Fatalf("causal settings %+v", s)
	}
	if b, _ := json.Marshal(s); strings.Contains(string(b), "sk-secret") {
		t.Fatalf("settings carry the API key: %s", b)
	}
	off := SettingsOf(NewOfflineGenerator(OfflineSeed(7), OfflineTypes(EntityShift)))
	if *off.Seed != 7 || *off.Rewrite || !slices.Equal(off.Types, []ViolationType{EntityShift}) {
		t.Fatalf("offline settings %+v", off)
	}
}
