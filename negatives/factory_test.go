package negatives

import (
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
