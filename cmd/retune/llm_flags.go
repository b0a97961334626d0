package main

import (
	"flag"
	"fmt"
	"os"
	"sync"
	"time"

	"retune/negatives"
)

// llmTuning are the LLM client's limits, the same flags on train and serve.
// Their meanings differ from negatives.LLMConfig's zero-means-default
// fields (--llm-retries 0 is none), so they are checked here, by flag name,
// and mapped by apply.
type llmTuning struct {
	concurrency int
	temperature float64
	timeout     time.Duration
	retries     int
}

func (t *llmTuning) register(fs *flag.FlagSet, concurrencyScope string) {
	fs.IntVar(&t.concurrency, "llm-concurrency", 4, "LLM requests in flight"+concurrencyScope+", 1-256")
	fs.Float64Var(&t.temperature, "llm-temperature", negatives.DefaultLLMTemperature, "LLM sampling temperature, 0-2 (0: greedy)")
	fs.DurationVar(&t.timeout, "llm-timeout", 60*time.Second, "time allowed for one LLM request")
	fs.IntVar(&t.retries, "llm-retries", negatives.DefaultLLMRetries, "retries of an LLM request after 408, 409, 429, 5xx, a timeout or a dropped connection, 0-20 (0: none)")
}

// check refuses values the LLM client would otherwise default silently.
func (t *llmTuning) check() error {
	switch {
	case t.concurrency < 1 || t.concurrency > 256:
		return fmt.Errorf("--llm-concurrency must be in [1, 256], got %d", t.concurrency)
	case !(t.temperature >= 0 && t.temperature <= 2):
		return fmt.Errorf("--llm-temperature must be in [0, 2], got %g", t.temperature)
	case t.timeout <= 0:
		return fmt.Errorf("--llm-timeout must be positive, got %s", t.timeout)
	case t.retries < 0 || t.retries > 20:
		return fmt.Errorf("--llm-retries must be in [0, 20], got %d", t.retries)
	}
	return nil
}

// apply sets c's limits from the flags.
func (t *llmTuning) apply(c *negatives.LLMConfig) {
	c.Concurrency, c.Temperature, c.Timeout, c.MaxRetries = t.concurrency, float32(t.temperature), t.timeout, t.retries
	if t.retries == 0 {
		c.MaxRetries = -1 // LLMConfig's "none"; its zero means the default
	}
}

// llmFlags configure train's OpenAI-compatible endpoint; the environment
// (OPENAI_BASE_URL, OPENAI_API_KEY, RETUNE_LLM_MODEL, OPENAI_ORG_ID) gives
// the defaults.
type llmFlags struct {
	base, model, key, org *hiddenString
	cache                 string
	llmTuning
}

func (l *llmFlags) register(fs *flag.FlagSet) {
	env := negatives.LLMConfigFromEnv()
	l.base = hiddenFlag(fs, "llm-base-url", env.BaseURL, "OpenAI-compatible base `URL` (OpenAI, Azure, vLLM, Ollama, llama.cpp; default $OPENAI_BASE_URL; Azure reads $OPENAI_API_VERSION, and $OPENAI_API_TYPE=azure marks a gateway in front of it)")
	l.model = hiddenFlag(fs, "llm-model", env.Model, "LLM `model` or deployment name (default $RETUNE_LLM_MODEL)")
	l.key = hiddenFlag(fs, "llm-key", env.APIKey, "LLM API `key` (default $OPENAI_API_KEY)")
	l.org = hiddenFlag(fs, "llm-org", env.Org, "OpenAI `organization` id sent with requests (default $OPENAI_ORG_ID)")
	fs.StringVar(&l.cache, "llm-cache", defaultLLMCache, "folder caching LLM replies (reruns pay nothing twice; the server's by default)")
	l.llmTuning.register(fs, "")
}

// validate checks the limits, and the endpoint only when the run will call
// it (an unrelated $OPENAI_BASE_URL must not stop a run that mines).
func (l *llmFlags) validate(usesLLM bool) error {
	if err := l.check(); err != nil {
		return err
	}
	if usesLLM {
		return negatives.CheckBaseURL(l.base.Get())
	}
	return nil
}

// config is the flags' LLM configuration; retries are reported on stderr
// as they happen, so a slow or failing endpoint shows before the run ends.
func (l *llmFlags) config() negatives.LLMConfig {
	c := negatives.LLMConfigFromEnv()
	c.BaseURL, c.Model, c.APIKey, c.Org, c.CacheDir = l.base.Get(), l.model.Get(), l.key.Get(), l.org.Get(), l.cache
	l.apply(&c)
	if l.cache != "" {
		// A stop signal lets the requests already sent reply: their
		// replies are cached, so the rerun does not pay for them again. A
		// second signal cuts them off. Without a cache there is nothing
		// to wait for.
		c.StopGrace, c.StopCause, c.StopNow = negatives.DefaultStopGrace, errStopSignal, hurry
		var once sync.Once
		c.OnGrace = func() {
			once.Do(func() {
				fmt.Fprintf(os.Stderr, "stopping: LLM requests already sent get up to %s to reply, so the rerun does not pay for them again; a second Ctrl-C stops at once\n", negatives.DefaultStopGrace)
			})
		}
	}
	c.OnRetry = func(attempt int, wait time.Duration, err error) {
		if attempt == 0 { // sent again without spending a retry
			fmt.Fprintf(os.Stderr, "llm: %v; asking again in %s\n", err, wait.Round(10*time.Millisecond))
			return
		}
		fmt.Fprintf(os.Stderr, "llm: request failed (%v); retry %d of %d in %s\n", err, attempt, l.retries, wait.Round(10*time.Millisecond))
	}
	return c
}
