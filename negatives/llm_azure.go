package negatives

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	openai "github.com/sashabaranov/go-openai"
)

// APITypeAzure, as LLMConfig.APIType (OPENAI_API_TYPE=azure), calls the
// endpoint the Azure OpenAI way whatever its host: a gateway in front of a
// resource (API Management) keeps Azure's paths and api-key header.
const APITypeAzure = "azure"

// azureAPIVersion is the first GA version that accepts response_format
// json_object; OPENAI_API_VERSION overrides it.
const azureAPIVersion = "2024-06-01"

// azureHostSuffixes are the hosts of Azure OpenAI resources: Azure's
// public cloud (openai, cognitiveservices for multi-service resources,
// services.ai for AI Foundry's), US Government (.us) and China (.cn).
var azureHostSuffixes = []string{
	".openai.azure.com", ".cognitiveservices.azure.com", ".services.ai.azure.com",
	".openai.azure.us", ".cognitiveservices.azure.us",
	".openai.azure.cn", ".cognitiveservices.azure.cn",
}

// azureDeploymentName is what an Azure deployment may be called, which is
// also what is safe to paste into a request path.
var azureDeploymentName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// azureEndpoint is an Azure base URL read in the shapes users copy from
// the portal and Microsoft's examples.
type azureEndpoint struct {
	root       string // the resource's URL, to which go-openai appends /openai/deployments/NAME
	deployment string // the deployment the URL itself names, if any
	v1         bool   // Azure's v1 API (…/openai/v1), which takes OpenAI's own paths and model field
}

// azureEndpointOf reads baseURL as an Azure OpenAI endpoint: the resource
// (https://NAME.openai.azure.com), the same with /openai, a deployment's
// URL (…/openai/deployments/DEPLOYMENT, with or without
// /chat/completions), or the v1 API (…/openai/v1). ok is false when the
// host is not Azure's and forced is false.
func azureEndpointOf(baseURL string, forced bool) (ep azureEndpoint, ok bool) {
	u, err := url.Parse(baseURL)
	if err != nil || baseURL == "" {
		return azureEndpoint{}, false
	}
	host := strings.ToLower(u.Hostname())
	ok = forced
	for _, suffix := range azureHostSuffixes {
		ok = ok || strings.HasSuffix(host, suffix)
	}
	if !ok {
		return azureEndpoint{}, false
	}
	path := strings.TrimRight(u.Path, "/")
	lower := asciiLower(path)                          // same byte offsets as path
	if strings.HasSuffix(lower, "/chat/completions") { // the whole endpoint, pasted
		path = path[:len(path)-len("/chat/completions")]
		lower = lower[:len(path)]
	}
	rootAt := func(end int) string {
		r := *u
		r.Path, r.RawPath, r.RawQuery, r.ForceQuery, r.Fragment, r.RawFragment = path[:end], "", "", false, "", ""
		return r.String()
	}
	const deployments = "/openai/deployments/"
	switch i := strings.Index(lower, deployments); {
	case strings.HasSuffix(lower, "/openai/v1"):
		return azureEndpoint{root: rootAt(len(path)), v1: true}, true
	case i >= 0:
		ep := azureEndpoint{root: rootAt(i)}
		if name := path[i+len(deployments):]; !strings.Contains(name, "/") {
			ep.deployment = name // none for …/deployments/, kept from the path; junk after a name is dropped
		}
		return ep, true
	case strings.HasSuffix(lower, "/openai"), strings.HasSuffix(lower, "/openai/deployments"):
		return azureEndpoint{root: rootAt(strings.LastIndex(lower, "/openai"))}, true
	}
	return azureEndpoint{root: rootAt(len(path))}, true
}

// EffectiveModel is the model the client will ask for: Model, or when it is
// empty the deployment an Azure base URL names (…/openai/deployments/NAME).
func (c LLMConfig) EffectiveModel() string {
	if az, ok := c.azureEndpoint(); c.Model == "" && ok {
		return az.deployment
	}
	return c.Model
}

// azureEndpoint is c's base URL read as Azure's, and false when c calls it
// the OpenAI way: its API type says "openai", or says nothing and the host
// is not Azure's.
func (c LLMConfig) azureEndpoint() (azureEndpoint, bool) {
	kind, _ := c.apiKind() // an unknown type is Check's to refuse; until then it says nothing
	if kind == apiOpenAI {
		return azureEndpoint{}, false
	}
	return azureEndpointOf(c.BaseURL, kind == apiAzure || kind == apiAzureAD)
}

// apiKind is what an API type (OPENAI_API_TYPE) asks for, in any case.
type apiKind int

const (
	apiAuto    apiKind = iota // none: Azure's way on Azure's hosts, OpenAI's elsewhere
	apiOpenAI                 // "openai" or "open_ai"
	apiAzure                  // "azure"
	apiAzureAD                // "azure_ad", openai-python's name for a Microsoft Entra token as the key
)

func (c LLMConfig) apiKind() (apiKind, error) {
	switch strings.ToLower(c.APIType) {
	case "":
		return apiAuto, nil
	case "openai", "open_ai":
		return apiOpenAI, nil
	case APITypeAzure:
		return apiAzure, nil
	case "azure_ad":
		return apiAzureAD, nil
	}
	return apiAuto, fmt.Errorf("llm: API type %q (OPENAI_API_TYPE) is not azure, azure_ad or openai", c.APIType)
}

// Check refuses a configuration the client could not be built from, as
// NewLLM would, without building it: an unknown API type, or an Azure
// deployment URL naming another deployment than the model.
func (c LLMConfig) Check() error {
	_, _, err := clientConfig(&c)
	return err
}

// clientConfig is go-openai's configuration for cfg: Azure's (deployment
// in the path, api-version, api-key header) for an Azure endpoint, OpenAI's
// for any other. A deployment named in an Azure base URL becomes cfg's
// model when none is set, and must be it otherwise. azure reports an Azure
// endpoint (v1 included), which takes the key as an api-key header.
func clientConfig(cfg *LLMConfig) (oc openai.ClientConfig, azure bool, err error) {
	kind, err := cfg.apiKind()
	if err != nil {
		return oc, false, err
	}
	az, isAzure := cfg.azureEndpoint()
	if !isAzure || az.v1 {
		oc = openai.DefaultConfig(cfg.APIKey)
		if cfg.BaseURL != "" {
			oc.BaseURL = cfg.BaseURL
		}
		if isAzure {
			oc.BaseURL = az.root // …/openai/v1, without a pasted /chat/completions
		}
		return oc, isAzure, nil
	}
	if az.deployment != "" {
		switch cfg.Model {
		case "":
			cfg.Model = az.deployment
		case az.deployment:
		default:
			return oc, false, fmt.Errorf("llm: the base URL names the Azure deployment %q but the model is %q: "+
				"give the resource URL (https://NAME.openai.azure.com) and the deployment as the model", az.deployment, cfg.Model)
		}
	}
	if !azureDeploymentName.MatchString(cfg.Model) {
		// go-openai pastes the name into the request path as it is: "/",
		// "?" or ".." would send the key to another path of the host.
		return oc, false, fmt.Errorf("llm: Azure deployment name %q may hold only letters, digits, '.', '-' and '_', and must start with a letter or digit", cfg.Model)
	}
	oc = openai.DefaultAzureConfig(cfg.APIKey, az.root)
	if kind == apiAzureAD {
		oc.APIType = openai.APITypeAzureAD // the key is an Entra token, sent as Bearer
	}
	oc.APIVersion = cmp.Or(cfg.APIVersion, azureAPIVersion)
	// A deployment is called by the name given: go-openai's default drops
	// the "." of names holding "3.5" and every ":".
	oc.AzureModelMapperFunc = func(model string) string { return model }
	return oc, true, nil
}

// azureV1Header is the api-key header for Azure's v1 API, which go-openai
// calls the OpenAI way: the endpoint takes that Bearer header too, but a
// gateway in front of it may check only Azure's. Nil for other endpoints:
// on a deployment's path go-openai sends api-key itself, and a Microsoft
// Entra token (azure_ad) goes as Bearer only.
func azureV1Header(cfg LLMConfig) http.Header {
	az, ok := cfg.azureEndpoint()
	if kind, _ := cfg.apiKind(); !ok || !az.v1 || cfg.APIKey == "" || kind == apiAzureAD {
		return nil
	}
	h := http.Header{}
	h.Set(openai.AzureAPIKeyHeader, cfg.APIKey)
	return h
}
