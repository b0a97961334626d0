package negatives

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// RunConfig sets how generated negatives are written and filtered.
type RunConfig struct {
	PerQuery    int          `json:"per_query"`   // negatives asked per pair (default 3)
	Concurrency int          `json:"concurrency"` // pairs in flight (default 4; LLM generators: at least their LLM's concurrency, which bounds their requests)
	Filter      FilterConfig `json:"filter"`
	// MaxFailureStreak stops the run once this many pairs in a row have
	// failed (default 10): an unreachable endpoint or a model that never
	// returns usable JSON would otherwise spend every pair's retries, ~15
	// minutes for SciFact, before the job could say so.
	MaxFailureStreak int `json:"max_failure_streak,omitempty"`
}

// DefaultRunConfig is 3 negatives per pair, 4 pairs at a time, default filters.
func DefaultRunConfig() RunConfig {
	return RunConfig{PerQuery: 3, Concurrency: 4, Filter: DefaultFilterConfig()}
}

func (c RunConfig) withDefaults() RunConfig {
	d := DefaultRunConfig()
	if c.PerQuery <= 0 {
		c.PerQuery = d.PerQuery
	}
	if c.Concurrency <= 0 {
		c.Concurrency = d.Concurrency
	}
	if c.MaxFailureStreak <= 0 {
		c.MaxFailureStreak = defaultMaxFailureStreak
	}
	c.Filter = c.Filter.withDefaults()
	return c
}

const defaultMaxFailureStreak = 10

// runMaxCandidates is how many mined documents a generator sees per pair:
// enough to show the corpus's style, few enough to keep prompts short.
const runMaxCandidates = 5

// Request is the work for Run.
type Request struct {
	Pairs []Pair
	// Candidates maps a query id to its mined documents' texts, best first.
	// The first 5 are passed to the generator; all are used for diagnostics.
	Candidates map[string][]string
}

// Result is what Run produced: the kept negatives in pair order (then
// generation order), every rejection, and the report.
type Result struct {
	Negatives []Negative  `json:"negatives"`
	Rejected  []Rejection `json:"rejected"`
	Report    Report      `json:"report"`
}

// Report summarises a Run.
type Report struct {
	Generator        string         `json:"generator"`
	Pairs            int            `json:"pairs"`
	Generated        int            `json:"generated"`
	Kept             int            `json:"kept"`
	RejectedByReason map[string]int `json:"rejected_by_reason"`
	KeptByType       map[string]int `json:"kept_by_type"`
	EmptyPairs       int            `json:"empty_pairs"` // pairs whose generator returned no negative
	Surplus          int            `json:"surplus"`     // negatives past per_query that passed the filters, left out
	Failures         int            `json:"failures"`
	FailedPairs      []string       `json:"failed_pairs,omitempty"`    // "query_id/pos_id", pair order, the first runFailedPairs
	FailureSamples   []string       `json:"failure_samples,omitempty"` // the first errors, for diagnosis
	NotRun           int            `json:"not_run"`                   // pairs never started (cancelled)
	Diagnostics      Diagnostics    `json:"diagnostics"`
	LLM              *LLMSource     `json:"llm,omitempty"` // which model and prompts wrote them (LLM generators)
	Usage            any            `json:"usage,omitempty"`
	ElapsedS         float64        `json:"elapsed_s"`
}

// UsageReporter is implemented by generators that account for what they
// used (tokens, requests, cache hits); Run copies it into Report.Usage.
type UsageReporter interface {
	UsageReport() any
}

// runFailureSamples caps Report.FailureSamples; runFailedPairs caps
// Report.FailedPairs (Failures counts them all), so that a run with many
// failures keeps its report within what negatives.json readers accept
// (train's 4 MiB report cap).
const (
	runFailureSamples = 10
	runFailedPairs    = 1000
)

// runOutcome is one pair's generation result.
type runOutcome struct {
	negs  []Negative
	drops []Rejection // reply items the generator refused
	err   error
	ran   bool
}

// dropReporter is a generator that says which reply items it refused and
// why, so that the run records those rejections with the filters' own.
type dropReporter interface {
	generateReporting(ctx context.Context, p Pair, cands []string, n int) ([]Negative, []Rejection, error)
}

// Run generates negatives for every pair on up to cfg.Concurrency
// goroutines, then filters them and computes the shortcut diagnostics over
// the kept ones. One embed call covers both: the negatives that pass the
// text checks, the positives, the queries and all mined candidates.
//
// A failing pair does not stop the others: failures are counted and listed,
// and Run returns the partial result with a nil error. Only when every pair
// failed, or ctx was cancelled, does it return an error — still with the
// partial result (on cancellation the embedding checks and diagnostics are
// skipped). An embed failure also returns an error with the text-filtered
// result. progress, if set, is called after each pair, one call at a time.
// embed may be nil: the near-identical check and diagnostics are skipped.
func Run(ctx context.Context, gen Generator, req Request, cfg RunConfig, embed EmbedFunc, progress func(done, total int)) (*Result, error) {
	if gen == nil {
		return nil, errors.New("negatives: run: no generator")
	}
	start := time.Now()
	cfg = cfg.withDefaults()
	if h, ok := gen.(pairConcurrency); ok {
		// Each pair's LLM calls run one after another, so fewer pairs in
		// flight than the LLM's request limit would leave that limit unused.
		cfg.Concurrency = max(cfg.Concurrency, h.pairConcurrency())
	}
	outs, stopped := runGenerate(ctx, gen, req, cfg, progress)

	res := &Result{Report: Report{Generator: gen.Name(), Pairs: len(req.Pairs),
		RejectedByReason: map[string]int{}, KeptByType: map[string]int{}}}
	for _, r := range RejectReasons {
		res.Report.RejectedByReason[r] = 0
	}
	if _, ok := gen.(dropReporter); ok {
		for _, r := range GeneratorRejectReasons {
			res.Report.RejectedByReason[r] = 0
		}
	}
	rep := &res.Report
	var generated []Negative
	var drops []Rejection
	var firstErr error
	for i, o := range outs {
		drops = append(drops, o.drops...)
		p := req.Pairs[i]
		switch {
		case !o.ran:
			rep.NotRun++
		case o.err != nil:
			rep.Failures++
			if len(rep.FailedPairs) < runFailedPairs {
				rep.FailedPairs = append(rep.FailedPairs, p.QueryID+"/"+p.PosID)
			}
			if len(rep.FailureSamples) < runFailureSamples {
				rep.FailureSamples = append(rep.FailureSamples, fmt.Sprintf("%s/%s: %v", p.QueryID, p.PosID, o.err))
			}
			firstErr = runFirstErr(firstErr, o.err)
		case len(o.negs) == 0:
			rep.EmptyPairs++
		}
		generated = append(generated, o.negs...)
	}
	rep.Generated = len(generated) + len(drops) // every item written, refused ones included
	if u, ok := gen.(UsageReporter); ok {
		rep.Usage = u.UsageReport()
	}
	rep.LLM = llmSource(gen)

	var err error
	switch {
	case ctx.Err() != nil:
		err = fmt.Errorf("negatives: run stopped after %d of %d pairs: %w", len(outs)-rep.NotRun, len(outs), ctx.Err())
	case stopped != nil && errors.As(stopped, new(*RefusedError)):
		err = fmt.Errorf("negatives: stopped at the first refusal (%d of %d pairs finished; those in flight were stopped): %w", len(outs)-rep.NotRun, len(outs), stopped)
	case stopped != nil:
		err = fmt.Errorf("negatives: stopped after %d pairs in a row failed (%d of %d pairs finished; %s): %w",
			cfg.MaxFailureStreak, len(outs)-rep.NotRun, len(outs), streakHint(stopped), stopped)
	case rep.Failures > 0 && rep.Failures == rep.Pairs:
		err = fmt.Errorf("negatives: all %d pairs failed: %w", rep.Pairs, firstErr)
	}
	pairs := filterPairs(req.Pairs)
	pass, rejected := filterText(generated, pairs, cfg.Filter)
	var vec func(string) []float32
	if err == nil && embed != nil && len(pass) > 0 {
		vecs, eerr := filterEmbed(ctx, embed, runEmbedTexts(req, pass))
		if eerr != nil {
			err = eerr
		} else {
			vec = func(s string) []float32 { return vecs[s] }
		}
	}
	kept, more := filterVectors(pass, pairs, cfg.Filter, vec)
	kept, rep.Surplus = keepPerPair(kept, cfg.PerQuery)
	res.Negatives, res.Rejected = kept, append(append(drops, rejected...), more...)
	for _, r := range res.Rejected {
		rep.RejectedByReason[r.Reason]++
	}
	for _, n := range kept {
		if n.Type != "" { // naive negatives have none
			rep.KeptByType[string(n.Type)]++
		}
	}
	rep.Kept = len(kept)
	if vec != nil {
		rep.Diagnostics = Diagnose(runQueryVectors(req, kept, vec))
	}
	rep.ElapsedS = time.Since(start).Seconds()
	return res, err
}

// maxPerPairFactor bounds what Run takes from one reply: up to twice the
// negatives asked for, so the filters have spares to choose from without a
// runaway reply filling memory.
const maxPerPairFactor = 2

// keepPerPair keeps, in order, at most n negatives of each pair and counts
// the rest (which passed every filter but were not asked for).
func keepPerPair(negs []Negative, n int) (kept []Negative, surplus int) {
	count := map[[2]string]int{}
	for _, ng := range negs {
		key := [2]string{ng.QueryID, ng.PosID}
		if count[key] >= n {
			surplus++
			continue
		}
		count[key]++
		kept = append(kept, ng)
	}
	return kept, surplus
}

func runFirstErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// LLMSource is the provenance of LLM-written negatives: the endpoint (its
// credentials removed), model, sampling temperature and prompt files.
type LLMSource struct {
	BaseURL     string   `json:"base_url"` // "" for api.openai.com
	Model       string   `json:"model"`
	Temperature *float64 `json:"temperature"` // nil: the model takes none (OpenAI's reasoning models)
	Prompts     []string `json:"prompts"`     // versioned template names, e.g. causal_analysis.v1
}

// llmSource is the provenance of gen's negatives when an LLM wrote them
// (nil otherwise), from the settings a resumed run is checked against.
func llmSource(gen Generator) *LLMSource {
	st := SettingsOf(gen)
	if st.Model == "" {
		return nil
	}
	src := &LLMSource{BaseURL: st.BaseURL, Model: st.Model, Prompts: st.Prompts}
	if st.Temperature != nil {
		// float32 0.7 is 0.699999988…: shown to six decimals, as it was set.
		t := math.Round(float64(*st.Temperature)*1e6) / 1e6
		src.Temperature = &t
	}
	return src
}

// pairConcurrency is implemented by generators that want at least this
// many pairs in flight: the LLM ones, whose requests are bounded by the
// LLM's own concurrency.
type pairConcurrency interface{ pairConcurrency() int }

// runGenerate calls gen for each pair with bounded concurrency. Outcomes
// are stored by pair index, so the output order never depends on timing.
// After cfg.MaxFailureStreak failures in a row (in completion order) it
// starts no more pairs, cancels those in flight (they count as not run) and
// returns the failure that ended the streak.
func runGenerate(ctx context.Context, gen Generator, req Request, cfg RunConfig, progress func(done, total int)) ([]runOutcome, error) {
	outs := make([]runOutcome, len(req.Pairs))
	gctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	var next atomic.Int64
	var mu sync.Mutex
	done, streak := 0, 0
	var stopped error
	var wg sync.WaitGroup
	for range min(cfg.Concurrency, len(req.Pairs)) {
		wg.Go(func() {
			for gctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= len(req.Pairs) {
					return
				}
				p := req.Pairs[i]
				cands := req.Candidates[p.QueryID]
				cands = cands[:min(len(cands), runMaxCandidates)]
				negs, drops, err := runOne(gctx, gen, p, cands, cfg.PerQuery)
				mu.Lock()
				if err != nil && gctx.Err() != nil {
					mu.Unlock()
					return // cut short by the streak's stop or a cancel: not run
				}
				outs[i] = runOutcome{negs: negs, drops: drops, err: err, ran: true}
				done++
				var refused *RefusedError
				switch {
				case err == nil:
					streak = 0
				case errors.As(err, &refused) && stopped == nil && ctx.Err() == nil:
					stopped = err // every other pair would be refused the same way
					stop(err)
				default:
					if streak++; streak >= cfg.MaxFailureStreak && stopped == nil && ctx.Err() == nil {
						stopped = err
						stop(err)
					}
				}
				if progress != nil && ctx.Err() == nil { // a cancelled run reports no more progress
					progress(done, len(req.Pairs))
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return outs, stopped
}

// runOne generates for one pair. It stamps each negative with the pair and
// the generator (a generator may leave them blank), keeps at most n, and
// turns a panic into that pair's error: one bad reply must not take down a
// run that has already paid for hundreds of others.
func runOne(ctx context.Context, gen Generator, p Pair, cands []string, n int) (negs []Negative, drops []Rejection, err error) {
	defer func() {
		if r := recover(); r != nil {
			negs, drops, err = nil, nil, fmt.Errorf("generator %s panicked: %v", gen.Name(), r)
		}
	}()
	if dr, ok := gen.(dropReporter); ok {
		negs, drops, err = dr.generateReporting(ctx, p, cands, n)
	} else {
		negs, err = gen.Generate(ctx, p, cands, n)
	}
	if err != nil {
		return nil, drops, err
	}
	// Not cut to n here: the filters come first, then keepPerPair takes
	// the first n that passed (a reply's first items may be the weak ones).
	negs = negs[:min(len(negs), maxPerPairFactor*n)]
	for i := range negs {
		negs[i].QueryID, negs[i].PosID = p.QueryID, p.PosID
		if negs[i].Generator == "" {
			negs[i].Generator = gen.Name()
		}
	}
	return negs, drops, nil
}

// runEmbedTexts lists every distinct text Run needs embedded, for the
// filters (negatives, positives) and the diagnostics (queries, mined).
func runEmbedTexts(req Request, pass []Negative) []string {
	pairs := filterPairs(req.Pairs)
	texts := filterEmbedTexts(pass, pairs)
	seen := make(map[string]bool, len(texts))
	for _, t := range texts {
		seen[t] = true
	}
	add := func(s string) {
		if s != "" && !seen[s] {
			seen[s] = true
			texts = append(texts, s)
		}
	}
	for _, q := range runQueryOrder(req.Pairs) {
		add(q.Query)
		for _, c := range req.Candidates[q.QueryID] {
			add(c)
		}
	}
	return texts
}

// runQueryOrder is each distinct query's first pair, in pair order.
func runQueryOrder(pairs []Pair) []Pair {
	var out []Pair
	seen := map[string]bool{}
	for _, p := range pairs {
		if !seen[p.QueryID] {
			seen[p.QueryID] = true
			out = append(out, p)
		}
	}
	return out
}

// runQueryVectors groups the embeddings per query for Diagnose.
func runQueryVectors(req Request, kept []Negative, vec func(string) []float32) []QueryVectors {
	gen := map[string][][]float32{}
	for _, n := range kept {
		if v := vec(n.Text); v != nil {
			gen[n.QueryID] = append(gen[n.QueryID], v)
		}
	}
	var out []QueryVectors
	for _, p := range runQueryOrder(req.Pairs) {
		q := QueryVectors{Query: vec(p.Query), Generated: gen[p.QueryID]}
		if q.Query == nil {
			continue
		}
		for _, c := range req.Candidates[p.QueryID] {
			if v := vec(c); v != nil {
				q.Mined = append(q.Mined, v)
			}
		}
		out = append(out, q)
	}
	return out
}

// streakHint is what to check when pairs fail in a row: the endpoint itself,
// unless it answers and only its replies are unusable (a content filter,
// JSON that stays invalid), where the last error says why.
func streakHint(err error) string {
	if errors.As(err, new(*replyError)) || errors.Is(err, ErrInvalidReply) {
		return "the endpoint answers, but its replies are not usable: see the last error"
	}
	return "is the LLM endpoint reachable and its model right?"
}
