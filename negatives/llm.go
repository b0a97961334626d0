package negatives

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"retune/internal/textcut"

	openai "github.com/sashabaranov/go-openai"
)

// LLMConfig configures the chat-completions client used to write negatives.
// Any OpenAI-compatible /v1/chat/completions server works: OpenAI, Azure
// OpenAI, vLLM, Ollama, llama.cpp. Zero values take the defaults noted.
type LLMConfig struct {
	BaseURL string // e.g. http://localhost:8000/v1 or https://NAME.openai.azure.com; empty means api.openai.com
	Model   string // model, or Azure deployment, name; required
	APIKey  string // may be empty for local servers
	Org     string // OpenAI organisation id, optional
	// APIVersion is used only for Azure (default azureAPIVersion).
	APIVersion string
	// APIType "azure" calls the endpoint the Azure way whatever its host
	// ("azure_ad" too, with the key, a Microsoft Entra token, as Bearer),
	// "openai" the OpenAI way whatever its host; empty tells Azure by the
	// host name (azureHostSuffixes).
	APIType string

	// Temperature is sent as is, 0 included (greedy decoding), though
	// go-openai drops a zero field: the request body is rewritten to carry
	// it (zeroTemperature). OpenAI's reasoning models, which take no
	// temperature, get none.
	Temperature float32
	MaxTokens   int // reply budget; zero leaves it to the server

	Concurrency int           // requests in flight at once, shared by all calls (default 4)
	Timeout     time.Duration // per HTTP attempt (default 60s)
	MaxRetries  int           // retries per request on 408, 409, 429, 5xx, timeouts, dropped connections (default DefaultLLMRetries; negative: none)
	CacheDir    string        // validated replies are kept here, one file each; empty: no cache

	MinBackoff time.Duration // first retry waits up to this (default 500ms)
	MaxBackoff time.Duration // cap on one wait (default 30s)

	// OnRetry, when set, hears of each retry before its wait, so a slow or
	// failing endpoint is visible while it happens (it may be called from
	// many goroutines at once). attempt is 0 for a request sent again
	// without spending a retry: a server loading its model, or refusing
	// JSON mode.
	OnRetry func(attempt int, wait time.Duration, err error) `json:"-"`

	// StopGrace lets the requests already sent when a call's context ends
	// with StopCause (context.Cause: a server's shutdown, a CLI run's stop
	// signal) reply for up to this long: their replies are checked and
	// cached as usual, so a resumed run does not pay for them again. No
	// request starts after the context ends, and any other end (a user's
	// cancel) cuts requests at once, as does a zero StopGrace. Closing
	// StopNow ends the grace early (an operator's second stop signal).
	// OnGrace, when set, is called as each request in flight starts its
	// grace, before its call returns (so a stop that waits can say why).
	StopGrace time.Duration   `json:"-"`
	StopCause error           `json:"-"`
	StopNow   <-chan struct{} `json:"-"`
	OnGrace   func()          `json:"-"`

	// PublicOnly refuses to connect to this machine and to loopback,
	// private, link-local and reserved addresses: set for an endpoint a
	// REST client named, which must not make the server reach its own
	// network (a PrivateEndpointError ends the run at the first request).
	PublicOnly bool `json:"-"`
}

// DefaultLLMTemperature samples some variety between a pair's negatives
// while keeping them on task.
const DefaultLLMTemperature = 0.7

// LLMConfigFromEnv reads the usual OpenAI variables plus RETUNE_LLM_MODEL,
// with the default temperature. Everything else is left zero (so
// defaulted).
func LLMConfigFromEnv() LLMConfig {
	return LLMConfig{
		BaseURL:     os.Getenv("OPENAI_BASE_URL"),
		APIKey:      os.Getenv("OPENAI_API_KEY"),
		Org:         os.Getenv("OPENAI_ORG_ID"),
		APIVersion:  os.Getenv("OPENAI_API_VERSION"),
		APIType:     os.Getenv("OPENAI_API_TYPE"),
		Model:       os.Getenv("RETUNE_LLM_MODEL"),
		Temperature: DefaultLLMTemperature,
	}
}

// DefaultLLMRetries retries a request four times, with backoff from
// 500 ms doubling to 30 s and full jitter: about 4 s of waits on average, so
// a misconfigured endpoint ends a run in seconds. A server that says it is
// loading its model waits apart from these (loadingWait).
const DefaultLLMRetries = 4

// DefaultStopGrace is the StopGrace retune gives requests in flight at a
// stop: most replies come within it, and a stop still ends in seconds.
const DefaultStopGrace = 10 * time.Second

// String keeps the API key, and credentials in the base URL, out of logs
// and error messages.
func (c LLMConfig) String() string {
	type plain LLMConfig // no String method, so no recursion
	if c.APIKey != "" {
		c.APIKey = "<redacted>"
	}
	c.BaseURL = RedactURL(c.BaseURL)
	c.OnRetry, c.StopCause, c.StopNow, c.OnGrace = nil, nil, nil, nil
	return fmt.Sprintf("%+v", plain(c))
}

func (c LLMConfig) withDefaults() LLMConfig {
	if c.Concurrency <= 0 {
		c.Concurrency = 4
	}
	if c.Timeout <= 0 {
		c.Timeout = 60 * time.Second
	}
	switch {
	case c.MaxRetries == 0:
		c.MaxRetries = DefaultLLMRetries
	case c.MaxRetries < 0:
		c.MaxRetries = 0
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = 500 * time.Millisecond
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 30 * time.Second
	}
	c.MaxBackoff = max(c.MaxBackoff, c.MinBackoff)
	return c
}

// LLM asks a chat model for JSON replies, with retries, one repair round,
// bounded concurrency, usage counters and an on-disk reply cache.
// It is safe for concurrent use.
type LLM struct {
	cfg     LLMConfig
	azure   bool    // an Azure OpenAI endpoint (clientConfig)
	secrets secrets // hidden in every error text
	client  *openai.Client
	sem     chan struct{} // one slot per request in flight
	cache   *replyCache   // nil when CacheDir is empty
	usage   usageCounters
	// sleep waits between retries; tests replace it to observe waits
	// without spending them.
	sleep func(ctx context.Context, d time.Duration) error

	// jsonModeOff is set once the endpoint refused response_format:
	// later requests go without it.
	jsonModeOff atomic.Bool

	// pauseUntil holds every request back until the time a server's
	// Retry-After named: a 429 is about the client, not one request.
	// loadingSince is when the endpoint began answering that its model is
	// loading, zero once it replies (loadingPause).
	pauseMu      sync.Mutex
	pauseUntil   time.Time
	loadingSince time.Time
	now          func() time.Time // the clock of the pauses; tests replace it
}

// OpenAIBaseURL is OpenAI's own endpoint, where a client given a key but no
// base URL sends its requests (go-openai's default).
const OpenAIBaseURL = "https://api.openai.com/v1"

// NewLLM checks cfg, applies defaults and builds the client.
func NewLLM(cfg LLMConfig) (*LLM, error) {
	cfg = cfg.withDefaults()
	oc, azure, err := clientConfig(&cfg) // may take the model from an Azure deployment URL
	if err != nil {
		return nil, err
	}
	if cfg.Model == "" {
		return nil, errors.New("llm: no model configured (set RETUNE_LLM_MODEL)")
	}
	if cfg.BaseURL == "" && cfg.APIKey == "" {
		return nil, errors.New("llm: no API key for api.openai.com (set OPENAI_API_KEY, or OPENAI_BASE_URL for a local server)")
	}
	oc.OrgID = cfg.Org
	// go-openai drops the response headers and body of failed requests,
	// and reads any body whole; this doer keeps Retry-After and the body
	// for the retry loop, and caps the body (llm_http.go).
	transport := llmTransport(cfg.Concurrency)
	if cfg.PublicOnly {
		publicOnly(transport)
	}
	inner := &http.Client{Transport: transport, CheckRedirect: sameOriginOnly}
	oc.HTTPClient = headerDoer{inner: inner, header: azureV1Header(cfg), zeroTemp: cfg.Temperature == 0}
	c := &LLM{
		cfg:     cfg,
		azure:   azure,
		secrets: secretsOf(cfg),
		client:  openai.NewClientWithConfig(oc),
		sem:     make(chan struct{}, cfg.Concurrency),
		sleep:   llmSleep,
		now:     time.Now,
	}
	if cfg.CacheDir != "" {
		rc, err := newReplyCache(cfg.CacheDir)
		if err != nil {
			return nil, err
		}
		c.cache = rc
	}
	return c, nil
}

// Config returns the configuration in use, defaults applied.
func (c *LLM) Config() LLMConfig { return c.cfg }

// JSON sends one system and one user message and decodes the model's JSON
// reply into out (a pointer), checked against schema. A reply that does not
// parse or validate gets one repair round: the model sees its reply and the
// problem and is asked for corrected JSON only. Validated replies are cached
// on disk, so asking again costs no request.
func (c *LLM) JSON(ctx context.Context, system, user string, schema Schema, out any) error {
	if rv := reflect.ValueOf(out); rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("llm: JSON needs a non-nil pointer, got %T", out)
	}
	c.usage.calls.Add(1)
	err := c.json(ctx, system, user, schema, out)
	if err != nil {
		if ctx.Err() == nil { // a call cut short by a stop or cancel did not fail
			c.usage.failures.Add(1)
		}
		return fmt.Errorf("llm %s: %w", schema.Name, err)
	}
	return nil
}

func (c *LLM) json(ctx context.Context, system, user string, schema Schema, out any) error {
	key := c.cacheKey(schema.Name, system, user)
	if c.cache != nil {
		if raw, ok := c.cache.get(key); ok {
			// A cached reply is re-validated: if the checks have since become
			// stricter it is treated as a miss rather than trusted.
			if decodeReply(raw, schema, out) == nil {
				c.usage.cacheHits.Add(1)
				return nil
			}
		}
	}
	if !strings.Contains(strings.ToLower(system+user), "json") {
		// OpenAI rejects JSON mode unless a message mentions JSON.
		system += "\n\nReply with a JSON object."
	}
	msgs := []openai.ChatCompletionMessage{
		{Role: openai.ChatMessageRoleSystem, Content: system},
		{Role: openai.ChatMessageRoleUser, Content: user},
	}
	reply, err := c.complete(ctx, msgs)
	if err != nil {
		return err
	}
	if verr := c.decode(reply, schema, out); verr != nil {
		c.usage.repairs.Add(1)
		msgs = append(msgs,
			openai.ChatCompletionMessage{Role: openai.ChatMessageRoleAssistant, Content: repairEcho(reply.content)},
			openai.ChatCompletionMessage{Role: openai.ChatMessageRoleUser, Content: repairMessage(verr)},
		)
		if reply, err = c.complete(ctx, msgs); err != nil {
			return fmt.Errorf("repair after %v: %w", verr, err)
		}
		if err := c.decode(reply, schema, out); err != nil {
			return fmt.Errorf("%w: still invalid after repair: %w", ErrInvalidReply, err)
		}
	}
	if c.cache != nil {
		// The JSON object alone: what a cache hit decodes, without the
		// thinking or prose around it.
		body, _ := cleanReply(reply.content)
		if err := c.cache.put(key, c.cfg.Model, schema.Name, body); err != nil {
			// The reply is good; losing its cache entry only costs a rerun.
			c.usage.cacheErrors.Add(1)
		}
	}
	return nil
}

// ErrInvalidReply marks a reply that stayed malformed or invalid after the
// repair round.
var ErrInvalidReply = errors.New("invalid JSON reply")

// decode is decodeReply, naming the token limit when it cut the reply:
// otherwise a cut reply reads as a mere "unexpected end of JSON input".
func (c *LLM) decode(reply chatReply, schema Schema, out any) error {
	err := decodeReply(reply.content, schema, out)
	if err != nil && reply.reasoning > 0 && strings.TrimSpace(reply.content) == "" {
		// The reasoning is not the answer, whatever it holds.
		err = fmt.Errorf("the reply held only reasoning (%d bytes of reasoning_content) and no answer: %w", reply.reasoning, err)
	}
	if err != nil && reply.finish == openai.FinishReasonLength {
		limit := "the server's"
		if c.cfg.MaxTokens > 0 {
			limit = fmt.Sprint(c.cfg.MaxTokens)
		}
		return fmt.Errorf("the reply was cut at the token limit (finish_reason length; max tokens %s): %w", limit, err)
	}
	return err
}

// maxRepairEcho caps the bad reply replayed in the repair request: enough
// for any usable reply to these prompts, while a runaway one (up to
// maxReplyBytes) would cost its size again in prompt tokens, or overflow
// the model's context.
const maxRepairEcho = 16 << 10

// repairEcho is the bad reply as the repair request replays it.
func repairEcho(raw string) string {
	if strings.TrimSpace(raw) == "" {
		return "(empty reply)" // some servers reject an assistant turn without content
	}
	if len(raw) <= maxRepairEcho {
		return raw
	}
	return textcut.Prefix(raw, maxRepairEcho) + fmt.Sprintf("\n… (cut: the reply was %d bytes)", len(raw))
}

func repairMessage(err error) string {
	return "Your reply could not be used: " + err.Error() +
		"\nReply again with only the corrected JSON object: no commentary, no code fences."
}

// takesTemperature reports whether the model takes a sampling temperature:
// OpenAI's reasoning models refuse any, so none is sent to them (go-openai's
// validator knows which models those are).
func (c *LLM) takesTemperature() bool {
	err := openai.NewReasoningValidator().Validate(openai.ChatCompletionRequest{Model: c.cfg.Model, Temperature: 0.5})
	return !errors.Is(err, openai.ErrReasoningModelLimitationsOther) && !errors.Is(err, openai.ErrReasoningSamplingUnsupported)
}

// request builds the chat request from the configuration.
func (c *LLM) request(msgs []openai.ChatCompletionMessage) openai.ChatCompletionRequest {
	req := openai.ChatCompletionRequest{
		Model:          c.cfg.Model,
		Messages:       msgs,
		Temperature:    max(c.cfg.Temperature, zeroTemperatureMark),
		ResponseFormat: &openai.ChatCompletionResponseFormat{Type: openai.ChatCompletionResponseFormatTypeJSONObject},
	}
	if !c.takesTemperature() {
		req.Temperature = 0 // left out
	}
	if c.jsonModeOff.Load() {
		req.ResponseFormat = nil
	}
	if c.cfg.MaxTokens > 0 {
		// Local servers know max_tokens; OpenAI's reasoning models refuse it
		// and want max_completion_tokens. go-openai's own validator knows
		// which models those are.
		//lint:ignore SA1019 what local servers read; replaced below for the models that refuse it
		req.MaxTokens = c.cfg.MaxTokens
		if errors.Is(openai.NewReasoningValidator().Validate(req), openai.ErrReasoningModelMaxTokensDeprecated) {
			//lint:ignore SA1019 clearing the deprecated field for the models that refuse it
			req.MaxTokens, req.MaxCompletionTokens = 0, c.cfg.MaxTokens
		}
	}
	return req
}
