package api

import (
	"testing"

	"retune/negatives"
)

// The server's key and organisation go only to the server's own endpoint
// (with or without a trailing slash); a job's key replaces them.
func TestLLMConfigKeepsServerCredentialsHome(t *testing.T) {
	s := &Server{cfg: Config{LLM: negatives.LLMConfig{BaseURL: "http://llm.internal/v1", Model: "server-model",
		APIKey: "sk-server", Org: "org-server", APIType: "azure"}}}
	for _, tt := range []struct {
		name       string
		llm        *llmSettings
		jobKey     string
		url, model string
		key, org   string
	}{
		{"server's settings", nil, "", "http://llm.internal/v1", "server-model", "sk-server", "org-server"},
		{"server's URL, another model", &llmSettings{Model: "m2"}, "", "http://llm.internal/v1", "m2", "sk-server", "org-server"},
		{"server's URL with a slash", &llmSettings{BaseURL: "http://llm.internal/v1/"}, "", "http://llm.internal/v1", "server-model", "sk-server", "org-server"},
		{"another endpoint", &llmSettings{BaseURL: "http://elsewhere/v1"}, "", "http://elsewhere/v1", "server-model", "", ""},
		{"another endpoint, own key", &llmSettings{BaseURL: "http://elsewhere/v1"}, "sk-job", "http://elsewhere/v1", "server-model", "sk-job", ""},
		{"own key, server's endpoint", nil, "sk-job", "http://llm.internal/v1", "server-model", "sk-job", ""},
		// Found by a review: the server's model was pinned over the
		// deployment the job's own Azure URL names.
		{"an Azure deployment URL", &llmSettings{BaseURL: "https://res.openai.azure.com/openai/deployments/dep"}, "",
			"https://res.openai.azure.com/openai/deployments/dep", "dep", "", ""},
	} {
		c := s.llmConfig(jobSpec{LLM: tt.llm}, tt.jobKey)
		if c.BaseURL != tt.url || c.Model != tt.model || c.APIKey != tt.key || c.Org != tt.org {
			t.Errorf("%s: url %q model %q key %q org %q; want %q %q %q %q", tt.name, c.BaseURL, c.Model, c.APIKey, c.Org,
				tt.url, tt.model, tt.key, tt.org)
		}
		// The server's OPENAI_API_TYPE is about its own endpoint too.
		if wantType := map[bool]string{true: "azure", false: ""}[tt.url == "http://llm.internal/v1"]; c.APIType != wantType {
			t.Errorf("%s: API type %q, want %q", tt.name, c.APIType, wantType)
		}
	}
}

// A job stored before gen_max_cos and gen_min_words existed resumes with
// their defaults, not with zeros its settings would be refused for.
func TestDecodeJobSpecFillsNewSettings(t *testing.T) {
	old := `{"negatives":"mined+generated","generator":"offline","hyperparameters":{"epochs":7,"lr":0.001,"batch_size":64,
		"temperature":0.05,"entropy_weight":0.05,"entropy_temperature":0.1,"weight_decay":0.01,"in_batch":true,"seed":1,
		"dev_fraction":0.1,"patience":10,"apply":"shared","bias":false,"rank":0,"mined_per_query":15,"margin":0.95,
		"per_query":3,"train_split":"train","test_split":""}}`
	spec, err := decodeJobSpec([]byte(old))
	if err != nil {
		t.Fatal(err)
	}
	h, d := spec.Hyperparameters, defaultHyperparameters()
	if h.Epochs != 7 || h.TestSplit != "" || h.GenMaxCos != d.GenMaxCos || h.GenMinWords != d.GenMinWords {
		t.Fatalf("decoded %+v", h)
	}
	if err := spec.pipelineConfig().Validate(); err != nil {
		t.Fatalf("an old job's settings no longer validate: %v", err)
	}
}
