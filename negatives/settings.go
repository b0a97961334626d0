package negatives

import (
	"fmt"
	"net/url"
	"strings"
)

// RedactURL drops the user information (credentials) from a URL, so a base
// URL can be shown, logged and stored. A URL Go cannot parse (a password
// with an unescaped '#', '%' or space) loses everything between "://" and
// its last '@' instead; other text comes back unchanged.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err == nil {
		if u.User == nil {
			return raw
		}
		u.User = nil
		return u.String()
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if at := strings.LastIndex(rest, "@"); ok && at >= 0 {
		return scheme + "://" + rest[at+1:]
	}
	return raw
}

// CheckBaseURL refuses a base URL that is not an absolute http(s) URL, in
// words that never repeat its credentials.
func CheckBaseURL(raw string) error {
	if raw == "" {
		return nil // api.openai.com
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("LLM base URL %q is not an http(s) URL (a password with '#', '%%', '/' or a space must be percent-encoded)", RedactURL(raw))
	}
	return nil
}

// GeneratorSettings is what determines a generator's output besides its
// input pairs: a resumed run (`retune train --work`) whose generator differs
// from the one that wrote the saved negatives must not reuse them.
type GeneratorSettings struct {
	Generator string          `json:"generator"`
	Seed      *uint64         `json:"seed,omitempty"`
	Rewrite   *bool           `json:"rewrite_candidates,omitempty"`
	Types     []ViolationType `json:"types,omitempty"`
	// LLM generators: the endpoint, model, sampling and prompt versions.
	BaseURL     string   `json:"base_url,omitempty"`
	Model       string   `json:"model,omitempty"`
	Temperature *float32 `json:"temperature,omitempty"`
	MaxTokens   int      `json:"max_tokens,omitempty"`
	Prompts     []string `json:"prompts,omitempty"`
}

// SettingsOf returns gen's settings: its name only, for a generator that
// does not describe itself.
func SettingsOf(gen Generator) GeneratorSettings {
	if s, ok := gen.(interface{ Settings() GeneratorSettings }); ok {
		return s.Settings()
	}
	return GeneratorSettings{Generator: gen.Name()}
}

// Settings describes the offline generator.
func (g *OfflineGenerator) Settings() GeneratorSettings {
	return GeneratorSettings{Generator: g.Name(), Seed: &g.seed, Rewrite: &g.rewrite, Types: g.types}
}

// Settings describes the causal generator.
func (g *CausalGenerator) Settings() GeneratorSettings {
	return g.llm.settings(g.Name(), causalAnalysisPrompt.name, causalGeneratePrompt.name)
}

// Settings describes the naive generator.
func (g *NaiveGenerator) Settings() GeneratorSettings {
	return g.llm.settings(g.Name(), naivePrompt.name)
}

func (c *LLM) settings(name string, prompts ...string) GeneratorSettings {
	t := c.cfg.Temperature
	return GeneratorSettings{Generator: name, BaseURL: RedactURL(c.cfg.BaseURL), Model: c.cfg.Model, Temperature: &t,
		MaxTokens: c.cfg.MaxTokens, Prompts: prompts}
}
