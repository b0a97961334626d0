package negatives

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

func TestAzureEndpointOf(t *testing.T) {
	tests := []struct {
		url    string
		forced bool
		want   azureEndpoint
		ok     bool
	}{
		{"https://res.openai.azure.com", false, azureEndpoint{root: "https://res.openai.azure.com"}, true},
		{"https://RES.OpenAI.Azure.com/", false, azureEndpoint{root: "https://RES.OpenAI.Azure.com"}, true},
		// Found by a probe: these shapes got the Azure path appended to a
		// path that already held it, or were not taken for Azure.
		{"https://res.cognitiveservices.azure.com/openai", false, azureEndpoint{root: "https://res.cognitiveservices.azure.com"}, true},
		{"https://res.openai.azure.com/openai/", false, azureEndpoint{root: "https://res.openai.azure.com"}, true},
		{"https://res.openai.azure.com/openai/v1", false, azureEndpoint{root: "https://res.openai.azure.com/openai/v1", v1: true}, true},
		{"https://res.openai.azure.com/openai/v1/", false, azureEndpoint{root: "https://res.openai.azure.com/openai/v1", v1: true}, true},
		// Found by a review: whole endpoints pasted, and a query (a library
		// caller's; the CLI and the API refuse one), kept the path doubled.
		{"https://res.openai.azure.com/openai/v1/chat/completions", false, azureEndpoint{root: "https://res.openai.azure.com/openai/v1", v1: true}, true},
		{"https://res.openai.azure.com/openai/deployments/dep/chat/completions?api-version=2024-10-21#x", false,
			azureEndpoint{root: "https://res.openai.azure.com", deployment: "dep"}, true},
		{"https://res.openai.azure.com/openai/deployments/", false, azureEndpoint{root: "https://res.openai.azure.com"}, true},
		{"https://res.openai.azure.com/openai/deployments/dep/completions", false, azureEndpoint{root: "https://res.openai.azure.com"}, true},
		{"https://res.openai.azure.com/openai/deployments/gpt-4.1-mini", false,
			azureEndpoint{root: "https://res.openai.azure.com", deployment: "gpt-4.1-mini"}, true},
		{"https://res.openai.azure.com/openai/deployments/dep/chat/completions", false,
			azureEndpoint{root: "https://res.openai.azure.com", deployment: "dep"}, true},
		{"https://res.openai.azure.com/openai/deployments/openai/chat/completions", false,
			azureEndpoint{root: "https://res.openai.azure.com", deployment: "openai"}, true},
		{"https://res.openai.azure.com/İ/openai/deployments/dep", false,
			azureEndpoint{root: "https://res.openai.azure.com/%C4%B0", deployment: "dep"}, true},
		{"https://res.openai.azure.us", false, azureEndpoint{root: "https://res.openai.azure.us"}, true},
		{"https://res.openai.azure.cn/openai", false, azureEndpoint{root: "https://res.openai.azure.cn"}, true},
		{"https://proj.services.ai.azure.com/openai/v1", false, azureEndpoint{root: "https://proj.services.ai.azure.com/openai/v1", v1: true}, true},
		{"https://gw.example/team/openai/deployments/dep", true, azureEndpoint{root: "https://gw.example/team", deployment: "dep"}, true},
		{"https://gw.example/team", true, azureEndpoint{root: "https://gw.example/team"}, true},
		{"https://api.openai.com/v1", false, azureEndpoint{}, false},
		{"http://localhost:8000/v1", false, azureEndpoint{}, false},
		{"https://proxy.example/openai.azure.com/v1", false, azureEndpoint{}, false}, // in the path, not the host
		{"https://openai.azure.com.attacker.example/v1", false, azureEndpoint{}, false},
		{"", false, azureEndpoint{}, false},
	}
	for _, tt := range tests {
		got, ok := azureEndpointOf(tt.url, tt.forced)
		if got != tt.want || ok != tt.ok {
			t.Errorf("azureEndpointOf(%q, %v) = %+v, %v; want %+v, %v", tt.url, tt.forced, got, ok, tt.want, tt.ok)
		}
	}
}

// azureRequest is what an Azure-shaped fake saw of one request.
type azureRequest struct {
	path, version, apiKey, auth string
}

// TestLLMAzureShapes calls a fake endpoint forced to Azure (it listens on
// loopback, not an Azure host) through each base URL shape and checks the
// path, api-version and key header of the request sent.
func TestLLMAzureShapes(t *testing.T) {
	var mu sync.Mutex
	var seen []azureRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, azureRequest{r.URL.Path, r.URL.Query().Get("api-version"), r.Header.Get("api-key"), r.Header.Get("Authorization")})
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write(completionBody(0, fakeRequest{}, okReply(llmTestGood)))
	}))
	defer srv.Close()
	tests := []struct {
		base, model, apiType, version string
		want                          azureRequest
		wantModel                     string
	}{
		{"", "gpt-4.1-mini", "azure", "",
			azureRequest{"/openai/deployments/gpt-4.1-mini/chat/completions", azureAPIVersion, "k", ""}, "gpt-4.1-mini"},
		{"/openai", "gpt-35-turbo", "azure", "2025-01-01-preview",
			azureRequest{"/openai/deployments/gpt-35-turbo/chat/completions", "2025-01-01-preview", "k", ""}, "gpt-35-turbo"},
		// go-openai's own mapping would call "gpt-35-turbo" here.
		{"/openai/deployments/gpt-3.5-turbo", "", "azure", "",
			azureRequest{"/openai/deployments/gpt-3.5-turbo/chat/completions", azureAPIVersion, "k", ""}, "gpt-3.5-turbo"},
		{"/openai/v1", "dep", "azure", "",
			azureRequest{"/openai/v1/chat/completions", "", "k", "Bearer k"}, "dep"},
		// Found by a review: the v1 root was worked out, then not used.
		{"/openai/v1/chat/completions", "dep", "azure", "",
			azureRequest{"/openai/v1/chat/completions", "", "k", "Bearer k"}, "dep"},
		{"/openai/deployments/", "dep", "azure", "",
			azureRequest{"/openai/deployments/dep/chat/completions", azureAPIVersion, "k", ""}, "dep"},
		{"/v1", "m", "openai", "",
			azureRequest{"/v1/chat/completions", "", "", "Bearer k"}, "m"},
		// A Microsoft Entra token goes as Bearer, not as api-key.
		{"", "dep", "azure_ad", "",
			azureRequest{"/openai/deployments/dep/chat/completions", azureAPIVersion, "", "Bearer k"}, "dep"},
		{"/openai/v1", "dep", "azure_ad", "",
			azureRequest{"/openai/v1/chat/completions", "", "", "Bearer k"}, "dep"},
		// API types are read in any case.
		{"", "dep", "AZURE_AD", "",
			azureRequest{"/openai/deployments/dep/chat/completions", azureAPIVersion, "", "Bearer k"}, "dep"},
		{"/v1", "m", "Open_AI", "",
			azureRequest{"/v1/chat/completions", "", "", "Bearer k"}, "m"},
	}
	for _, tt := range tests {
		t.Run(tt.base+" "+tt.apiType, func(t *testing.T) {
			c, err := NewLLM(LLMConfig{BaseURL: srv.URL + tt.base, Model: tt.model, APIKey: "k", APIType: tt.apiType, APIVersion: tt.version, MaxRetries: -1})
			if err != nil {
				t.Fatal(err)
			}
			if c.Config().Model != tt.wantModel {
				t.Errorf("model %q, want %q", c.Config().Model, tt.wantModel)
			}
			var out llmTestReply
			if err := c.JSON(context.Background(), "s", "u", llmTestSchema, &out); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			got := seen[len(seen)-1]
			mu.Unlock()
			if got != tt.want {
				t.Errorf("request %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestLLMAzureRefusals(t *testing.T) {
	for _, tt := range []struct {
		cfg  LLMConfig
		want string
	}{
		{LLMConfig{BaseURL: "https://res.openai.azure.com/openai/deployments/dep", Model: "other"}, `names the Azure deployment "dep" but the model is "other"`},
		{LLMConfig{BaseURL: "http://localhost:8000/v1", Model: "m", APIType: "azure_v2"}, `API type "azure_v2"`},
		// Found by a security review: the name goes into the path as it is.
		{LLMConfig{BaseURL: "https://res.openai.azure.com", Model: "../../internal/admin?x="}, `Azure deployment name "../../internal/admin?x="`},
		{LLMConfig{BaseURL: "http://gw.local", APIType: "azure", Model: ".."}, `Azure deployment name ".."`},
		{LLMConfig{BaseURL: "http://gw.local", APIType: "azure", Model: "dep#x"}, `Azure deployment name "dep#x"`},
	} {
		if _, err := NewLLM(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("NewLLM(%+v) = %v, want an error with %q", tt.cfg, err, tt.want)
		}
	}
}

// Found by a review: a deployment URL as the only model setting was
// refused before the client was built, though the README called it the model.
func TestEffectiveModelFromAzureDeploymentURL(t *testing.T) {
	tests := []struct {
		cfg  LLMConfig
		want string
	}{
		{LLMConfig{BaseURL: "https://res.openai.azure.com/openai/deployments/dep"}, "dep"},
		{LLMConfig{BaseURL: "https://res.openai.azure.com/openai/deployments/dep", Model: "dep"}, "dep"},
		{LLMConfig{BaseURL: "https://res.openai.azure.com"}, ""},
		{LLMConfig{BaseURL: "http://gw.local/openai/deployments/dep"}, ""}, // not Azure's host
		{LLMConfig{BaseURL: "http://gw.local/openai/deployments/dep", APIType: "azure"}, "dep"},
		{LLMConfig{BaseURL: "https://res.openai.azure.com/openai/deployments/dep", APIType: "openai"}, ""},
	}
	for _, tt := range tests {
		if got := tt.cfg.EffectiveModel(); got != tt.want {
			t.Errorf("%+v: EffectiveModel %q, want %q", tt.cfg, got, tt.want)
		}
	}
	kind, err := ResolveKind("", LLMConfig{BaseURL: "https://res.openai.azure.com/openai/deployments/dep"})
	if err != nil || kind != KindCausal {
		t.Errorf("ResolveKind with a deployment URL alone = %q, %v; want causal", kind, err)
	}
	// A mismatch is refused before any data is loaded, not when the client
	// is built.
	if _, err := ResolveKind("", LLMConfig{BaseURL: "https://res.openai.azure.com/openai/deployments/dep", Model: "other"}); err == nil {
		t.Error("ResolveKind took a deployment URL naming another model")
	}
}
