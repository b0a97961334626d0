package negatives

import (
	"sync/atomic"

	openai "github.com/sashabaranov/go-openai"
)

// LLMUsage is a snapshot of what an LLM client has spent and how its calls
// went. Token counts are those the server reported.
type LLMUsage struct {
	Calls            int64 `json:"calls"`        // JSON calls made
	CacheHits        int64 `json:"cache_hits"`   // calls answered from the disk cache
	Requests         int64 `json:"requests"`     // HTTP requests sent, retries and repairs included
	Retries          int64 `json:"retries"`      // requests re-sent after 429, 5xx, timeout or transport error
	Repairs          int64 `json:"repairs"`      // repair rounds after a malformed or invalid reply
	Failures         int64 `json:"failures"`     // calls that returned an error
	CacheErrors      int64 `json:"cache_errors"` // good replies that could not be written to the cache
	PromptTokens     int64 `json:"prompt_tokens"`
	CompletionTokens int64 `json:"completion_tokens"`
	TotalTokens      int64 `json:"total_tokens"`
	// LoadingWaits counts the answers "loading model" waited out without
	// spending a retry.
	LoadingWaits int64 `json:"loading_waits"`
	// RepliesWithoutUsage counts replies that reported no token usage
	// (some Ollama and llama.cpp versions leave it out): their tokens are
	// missing from the counts above.
	RepliesWithoutUsage int64 `json:"replies_without_usage"`
}

// usageCounters are updated from many goroutines, hence atomics.
type usageCounters struct {
	calls, cacheHits, requests, retries, repairs, failures, cacheErrors atomic.Int64
	promptTokens, completionTokens, totalTokens, withoutUsage           atomic.Int64
	loadingWaits                                                        atomic.Int64
}

// addTokens counts one reply's usage. A total the server left out is the
// sum of the parts it gave.
func (u *usageCounters) addTokens(t openai.Usage) {
	total := t.TotalTokens
	if total == 0 {
		total = t.PromptTokens + t.CompletionTokens
	}
	if total == 0 {
		u.withoutUsage.Add(1)
		return
	}
	u.promptTokens.Add(int64(t.PromptTokens))
	u.completionTokens.Add(int64(t.CompletionTokens))
	u.totalTokens.Add(int64(total))
}

// Usage returns the counters so far.
func (c *LLM) Usage() LLMUsage {
	u := &c.usage
	return LLMUsage{
		Calls:            u.calls.Load(),
		CacheHits:        u.cacheHits.Load(),
		Requests:         u.requests.Load(),
		Retries:          u.retries.Load(),
		Repairs:          u.repairs.Load(),
		Failures:         u.failures.Load(),
		CacheErrors:      u.cacheErrors.Load(),
		PromptTokens:     u.promptTokens.Load(),
		CompletionTokens: u.completionTokens.Load(),
		TotalTokens:      u.totalTokens.Load(),

		LoadingWaits:        u.loadingWaits.Load(),
		RepliesWithoutUsage: u.withoutUsage.Load(),
	}
}

// Plus is u and o added up: the spending of several attempts of one run.
func (u LLMUsage) Plus(o LLMUsage) LLMUsage {
	return LLMUsage{
		Calls: u.Calls + o.Calls, CacheHits: u.CacheHits + o.CacheHits, Requests: u.Requests + o.Requests,
		Retries: u.Retries + o.Retries, Repairs: u.Repairs + o.Repairs, Failures: u.Failures + o.Failures,
		CacheErrors: u.CacheErrors + o.CacheErrors, PromptTokens: u.PromptTokens + o.PromptTokens,
		CompletionTokens: u.CompletionTokens + o.CompletionTokens, TotalTokens: u.TotalTokens + o.TotalTokens,
		LoadingWaits: u.LoadingWaits + o.LoadingWaits, RepliesWithoutUsage: u.RepliesWithoutUsage + o.RepliesWithoutUsage,
	}
}

// LLMSpender is a generator that calls an LLM: LLMUsage is what it has
// spent so far.
type LLMSpender interface{ LLMUsage() LLMUsage }
