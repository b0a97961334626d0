package negatives

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var errRunFake = errors.New("fake generator failure")

// runFakeGen returns n+extra negatives per pair (Run must keep n),
// leaving QueryID, PosID and Generator blank (Run must stamp them). It fails
// or panics for chosen queries, sleeps to scramble completion order, and
// records concurrency and the candidates it was shown.
type runFakeGen struct {
	fail, panics map[string]bool
	extra        int
	delay        func(p Pair) time.Duration
	onCall       func(call int64)

	calls, inflight, maxInflight atomic.Int64
	mu                           sync.Mutex
	maxCands                     int
}

func (g *runFakeGen) Name() string { return "fake" }

func (g *runFakeGen) Generate(ctx context.Context, p Pair, cands []string, n int) ([]Negative, error) {
	call := g.calls.Add(1)
	cur := g.inflight.Add(1)
	defer g.inflight.Add(-1)
	for {
		m := g.maxInflight.Load()
		if cur <= m || g.maxInflight.CompareAndSwap(m, cur) {
			break
		}
	}
	g.mu.Lock()
	g.maxCands = max(g.maxCands, len(cands))
	g.mu.Unlock()
	if g.onCall != nil {
		g.onCall(call)
	}
	if g.delay != nil {
		time.Sleep(g.delay(p))
	}
	if g.fail[p.QueryID] {
		return nil, fmt.Errorf("pair %s: %w", p.QueryID, errRunFake)
	}
	if g.panics[p.QueryID] {
		panic("bad reply for " + p.QueryID)
	}
	var out []Negative
	for i := range n + g.extra {
		out = append(out, Negative{Text: runFakeText(p, i), Type: ViolationTypes[i%len(ViolationTypes)], Node: "R1", Origin: OriginFromScratch})
	}
	return out, nil
}

func runFakeText(p Pair, i int) string {
	return fmt.Sprintf("Counterfactual %d of %s: a document about something else entirely, long enough to keep.", i, p.PosID)
}

// runFakeUsage adds usage accounting to runFakeGen.
type runFakeUsage struct{ runFakeGen }

func (g *runFakeUsage) UsageReport() any { return map[string]int{"requests": int(g.calls.Load())} }

// runPairs makes n pairs q0/d0 … with 8 mined candidates each.
func runPairs(n int) Request {
	req := Request{Candidates: map[string][]string{}}
	for i := range n {
		q := fmt.Sprintf("q%d", i)
		req.Pairs = append(req.Pairs, Pair{QueryID: q, Query: "query " + q, PosID: fmt.Sprintf("d%d", i),
			Positive: fmt.Sprintf("The positive document %d answers query %s in full detail.", i, q)})
		for j := range 8 {
			req.Candidates[q] = append(req.Candidates[q], fmt.Sprintf("Mined document %d for %s.", j, q))
		}
	}
	return req
}

// runEmbedFake gives every distinct text its own axis (so no cosine reaches
// the near-identical threshold) and counts calls.
type runEmbedFake struct {
	mu    sync.Mutex
	axis  map[string]int
	calls int
	texts int
	err   error
}

func (f *runEmbedFake) embed(_ context.Context, texts []string) ([][]float32, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.texts += len(texts)
	if f.err != nil {
		return nil, f.err
	}
	if f.axis == nil {
		f.axis = map[string]int{}
	}
	out := make([][]float32, len(texts))
	for i, t := range texts {
		a, ok := f.axis[t]
		if !ok {
			a = len(f.axis)
			f.axis[t] = a
		}
		v := make([]float32, 512)
		v[a%512] = 1
		out[i] = v
	}
	return out, nil
}

func TestRunKeepsCompletedResultsWhenSomePairsFail(t *testing.T) {
	req := runPairs(10)
	// Later pairs sleep less, so completion order is roughly reversed.
	gen := &runFakeGen{fail: map[string]bool{"q3": true, "q7": true}, panics: map[string]bool{"q5": true}, extra: 2,
		delay: func(p Pair) time.Duration { return time.Duration(10-int(p.QueryID[1]-'0')) * time.Millisecond }}
	emb := &runEmbedFake{}
	cfg := DefaultRunConfig()
	cfg.Concurrency = 3
	res, err := Run(context.Background(), gen, req, cfg, emb.embed, nil)
	if err != nil {
		t.Fatalf("Run with some failures returned %v, want nil", err)
	}
	rep := res.Report
	// 7 pairs × (3 + 2 extra): the first 3 of each that pass are kept.
	if rep.Pairs != 10 || rep.Failures != 3 || rep.Generated != 35 || rep.Kept != 21 || rep.Surplus != 14 || rep.NotRun != 0 || rep.Generator != "fake" {
		t.Errorf("report = %+v", rep)
	}
	if want := []string{"q3/d3", "q5/d5", "q7/d7"}; !reflect.DeepEqual(rep.FailedPairs, want) {
		t.Errorf("FailedPairs = %v, want %v", rep.FailedPairs, want)
	}
	if len(rep.FailureSamples) != 3 || !strings.Contains(rep.FailureSamples[1], "panicked") {
		t.Errorf("FailureSamples = %q", rep.FailureSamples)
	}
	// Pair order, then generation order, stamped with the pair and generator.
	var want []Negative
	for i, p := range req.Pairs {
		if i == 3 || i == 5 || i == 7 {
			continue
		}
		for j := range 3 {
			want = append(want, Negative{QueryID: p.QueryID, PosID: p.PosID, Text: runFakeText(p, j),
				Type: ViolationTypes[j], Node: "R1", Origin: OriginFromScratch, Generator: "fake"})
		}
	}
	if !reflect.DeepEqual(res.Negatives, want) {
		t.Errorf("negatives out of order or unstamped:\n got %+v\nwant %+v", res.Negatives, want)
	}
	if gen.maxCands != 5 {
		t.Errorf("generator saw %d candidates, want at most 5", gen.maxCands)
	}
	// One embed call; diagnostics use all 8 mined docs of the 10 queries.
	if emb.calls != 1 {
		t.Errorf("embed called %d times, want 1", emb.calls)
	}
	d := rep.Diagnostics
	if d.Mined.N != 80 || d.Generated.N != 21 || d.Queries != 10 || d.GeneratedMinedPairs != 21*8 || d.GeneratedGeneratedPairs != 7*3 {
		t.Errorf("diagnostics counts = %+v", d)
	}
	if rep.KeptByType[string(EntityShift)] != 7 || rep.RejectedByReason[RejectDuplicate] != 0 || len(rep.RejectedByReason) != len(RejectReasons) {
		t.Errorf("KeptByType %v RejectedByReason %v", rep.KeptByType, rep.RejectedByReason)
	}
}

func TestRunAllPairsFail(t *testing.T) {
	req := runPairs(4)
	gen := &runFakeGen{fail: map[string]bool{"q0": true, "q1": true, "q2": true, "q3": true}}
	res, err := Run(context.Background(), gen, req, DefaultRunConfig(), nil, nil)
	if !errors.Is(err, errRunFake) {
		t.Fatalf("err = %v, want it to wrap the generator's error", err)
	}
	if res == nil || res.Report.Failures != 4 || len(res.Report.FailedPairs) != 4 || len(res.Negatives) != 0 {
		t.Errorf("result = %+v", res)
	}
}

func TestRunCancelledKeepsPartialResult(t *testing.T) {
	req := runPairs(6)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	gen := &runFakeGen{onCall: func(call int64) {
		if call == 3 {
			cancel() // the third pair still completes; no fourth starts
		}
	}}
	emb := &runEmbedFake{}
	cfg := DefaultRunConfig()
	cfg.Concurrency = 1
	res, err := Run(ctx, gen, req, cfg, emb.embed, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if res == nil || res.Report.NotRun != 3 || res.Report.Kept != 9 || res.Report.Failures != 0 {
		t.Fatalf("result report = %+v", res.Report)
	}
	if res.Negatives[8].QueryID != "q2" || emb.calls != 0 {
		t.Errorf("last kept from %s, embed calls %d; want q2 and 0", res.Negatives[8].QueryID, emb.calls)
	}
}

// ctxGen blocks each pair after the first until its context ends, as an
// LLM generator's pair waiting on a reply does.
type ctxGen struct{ calls atomic.Int64 }

func (g *ctxGen) Name() string { return "blocking" }

func (g *ctxGen) Generate(ctx context.Context, p Pair, _ []string, n int) ([]Negative, error) {
	if g.calls.Add(1) > 1 {
		<-ctx.Done()
		return nil, fmt.Errorf("generate %s: %w", p.QueryID, ctx.Err())
	}
	return []Negative{{Text: runFakeText(p, 0)}}, nil
}

// Pairs in flight when a run is cancelled were cut short, not failed: they
// count as not run, and no progress is reported after the cancel (a probe
// saw "generating: 1 of 20" after "cancellation requested").
func TestRunCancelledPairsInFlightAreNotRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var reports []int
	progress := func(done, total int) {
		reports = append(reports, done)
		if done == 1 {
			go func() { time.Sleep(20 * time.Millisecond); cancel() }()
		}
	}
	cfg := DefaultRunConfig()
	cfg.Concurrency = 3
	res, err := Run(ctx, &ctxGen{}, runPairs(6), cfg, nil, progress)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if rep := res.Report; rep.Failures != 0 || rep.NotRun != 5 || rep.Kept != 1 {
		t.Errorf("%d failures, %d not run, %d kept; want 0, 5, 1", rep.Failures, rep.NotRun, rep.Kept)
	}
	if !slices.Equal(reports, []int{1}) {
		t.Errorf("progress %v after the cancel, want [1]", reports)
	}
}

func TestRunConcurrencyBound(t *testing.T) {
	for _, limit := range []int{1, 3} {
		gen := &runFakeGen{delay: func(Pair) time.Duration { return 15 * time.Millisecond }}
		cfg := DefaultRunConfig()
		cfg.Concurrency = limit
		if _, err := Run(context.Background(), gen, runPairs(12), cfg, nil, nil); err != nil {
			t.Fatal(err)
		}
		// Sleeping workers need no CPU, so all `limit` are in flight at once.
		if got := gen.maxInflight.Load(); got != int64(limit) {
			t.Errorf("concurrency %d: %d calls in flight at most, want exactly %d", limit, got, limit)
		}
	}
}

func TestRunProgressAndDeterminism(t *testing.T) {
	req := runPairs(9)
	var results []*Result
	for range 2 {
		var mu sync.Mutex
		var seen []int
		gen := &runFakeGen{delay: func(p Pair) time.Duration { return time.Duration(9-int(p.QueryID[1]-'0')) * time.Millisecond }}
		cfg := DefaultRunConfig()
		res, err := Run(context.Background(), gen, req, cfg, nil, func(done, total int) {
			mu.Lock()
			defer mu.Unlock()
			if total != 9 {
				t.Errorf("total %d, want 9", total)
			}
			seen = append(seen, done)
		})
		if err != nil {
			t.Fatal(err)
		}
		if want := []int{1, 2, 3, 4, 5, 6, 7, 8, 9}; !reflect.DeepEqual(seen, want) {
			t.Errorf("progress %v, want %v", seen, want)
		}
		results = append(results, res)
	}
	if !reflect.DeepEqual(results[0].Negatives, results[1].Negatives) {
		t.Error("two runs returned negatives in different orders")
	}
}

func TestRunFiltersGeneratedNegatives(t *testing.T) {
	req := runPairs(2)
	// q0's second pair has the same query: its negatives duplicate q0/d0's.
	req.Pairs = append(req.Pairs, Pair{QueryID: "q0", Query: "query q0", PosID: "d0", Positive: req.Pairs[0].Positive})
	gen := &runFakeGen{}
	res, err := Run(context.Background(), gen, req, DefaultRunConfig(), (&runEmbedFake{}).embed, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Report.RejectedByReason[RejectDuplicate] != 3 || len(res.Rejected) != 3 || res.Report.Kept != 6 {
		t.Errorf("rejected %v kept %d", res.Report.RejectedByReason, res.Report.Kept)
	}
}

func TestRunEmbedErrorAndUsage(t *testing.T) {
	boom := errors.New("encoder down")
	gen := &runFakeUsage{}
	res, err := Run(context.Background(), gen, runPairs(2), DefaultRunConfig(), (&runEmbedFake{err: boom}).embed, nil)
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want it to wrap %v", err, boom)
	}
	if res == nil || res.Report.Kept != 6 {
		t.Fatalf("embed failure lost the generated negatives: %+v", res)
	}
	if got, want := res.Report.Usage, map[string]int{"requests": 2}; !reflect.DeepEqual(got, want) {
		t.Errorf("Usage = %v, want %v", got, want)
	}
	if _, err := Run(context.Background(), nil, runPairs(1), DefaultRunConfig(), nil, nil); err == nil {
		t.Error("nil generator: no error")
	}
}

func TestRunConfigDefaults(t *testing.T) {
	want := RunConfig{PerQuery: 3, Concurrency: 4, Filter: DefaultFilterConfig()}
	if got := DefaultRunConfig(); got != want {
		t.Errorf("DefaultRunConfig() = %+v, want %+v", got, want)
	}
	// A zero config asks the generator for the default 3 per pair.
	res, err := Run(context.Background(), &runFakeGen{}, runPairs(1), RunConfig{}, nil, nil)
	if err != nil || res.Report.Generated != 3 {
		t.Errorf("zero config: generated %d, err %v", res.Report.Generated, err)
	}
}

// TestRunResultJSON: the trainer caches a Result as JSON between attempts.
func TestRunResultJSON(t *testing.T) {
	res, err := Run(context.Background(), &runFakeGen{}, runPairs(2), DefaultRunConfig(), (&runEmbedFake{}).embed, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"negatives"`, `"rejected"`, `"report"`, `"rejected_by_reason"`, `"failures"`, `"elapsed_s"`, `"diagnostics"`, `"break_explanation"`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("JSON lacks %s", key)
		}
	}
	var back Result
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Negatives, res.Negatives) || back.Report.Kept != res.Report.Kept {
		t.Error("Result does not survive a JSON round trip")
	}
}

// TestRunOfflineConcurrencyInvariant: the offline generator through Run
// gives the same output on 1 and 4 workers.
func TestRunOfflineConcurrencyInvariant(t *testing.T) {
	pairs := []Pair{offlineRichPair,
		{QueryID: "q8", Query: "Obesity is associated with asthma.", PosID: "d8",
			Positive: "Obesity is associated with asthma in 2,000 children. Data came from national surveys of older adults."},
		{QueryID: "q9", Query: "Aspirin increases bleeding.", PosID: "d9",
			Positive: "Aspirin increases bleeding in older adults. The cohort was drawn from many hospitals in 2010."}}
	var outs [][]Negative
	for _, workers := range []int{1, 4} {
		g := NewOfflineGenerator(OfflineSeed(5), OfflineNeighbours(offlineRichWords))
		cfg := DefaultRunConfig()
		cfg.Concurrency = workers
		res, err := Run(context.Background(), g, Request{Pairs: pairs}, cfg, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Report.Kept < 7 {
			t.Errorf("%d workers kept only %d of 9", workers, res.Report.Kept)
		}
		outs = append(outs, res.Negatives)
	}
	if !reflect.DeepEqual(outs[0], outs[1]) {
		t.Error("1 and 4 workers gave different negatives")
	}
}

// TestRunStopsAfterAFailureStreak: once MaxFailureStreak pairs in a row
// have failed (an unreachable endpoint, say) no further pair starts, and
// the error says why; a streak broken by a success does not stop the run.
func TestRunStopsAfterAFailureStreak(t *testing.T) {
	failing := func(ids ...int) map[string]bool {
		m := map[string]bool{}
		for _, i := range ids {
			m[fmt.Sprintf("q%d", i)] = true
		}
		return m
	}
	all := make([]int, 30)
	for i := range all {
		all[i] = i
	}
	tests := []struct {
		name        string
		fail        map[string]bool
		concurrency int
		wantStop    bool
	}{
		{"every pair fails", failing(all...), 3, true},
		{"streaks of 4 broken by successes", failing(0, 1, 2, 3, 5, 6, 7, 8, 10, 11, 12, 13), 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gen := &runFakeGen{fail: tt.fail, delay: func(Pair) time.Duration { return time.Millisecond }}
			cfg := DefaultRunConfig()
			cfg.Concurrency, cfg.MaxFailureStreak = tt.concurrency, 5
			res, err := Run(context.Background(), gen, runPairs(30), cfg, nil, nil)
			if !tt.wantStop {
				if err != nil || res.Report.NotRun != 0 || res.Report.Failures != len(tt.fail) {
					t.Fatalf("err %v, report %+v", err, res.Report)
				}
				return
			}
			if !errors.Is(err, errRunFake) || !strings.Contains(err.Error(), "stopped after 5 pairs in a row failed") {
				t.Fatalf("err = %v", err)
			}
			rep := res.Report
			if rep.Failures < 5 || rep.NotRun == 0 || rep.Failures+rep.NotRun != 30 || gen.calls.Load() >= 30 {
				t.Fatalf("report %+v after %d calls: want the run stopped early", rep, gen.calls.Load())
			}
		})
	}
}

// weakFirstGen answers each pair with n items too short to keep, then n
// good ones: the order an LLM reply may well have.
type weakFirstGen struct{}

func (weakFirstGen) Name() string { return "weak-first" }

func (weakFirstGen) Generate(_ context.Context, p Pair, _ []string, n int) ([]Negative, error) {
	var out []Negative
	for i := range n {
		out = append(out, Negative{Text: fmt.Sprintf("short %d", i), Type: ViolationTypes[0], Node: "R1"})
	}
	for i := range n {
		out = append(out, Negative{Text: runFakeText(p, i), Type: ViolationTypes[0], Node: "R1"})
	}
	return out, nil
}

// The filters run before a pair's negatives are cut to per_query, so weak
// items at the head of a reply do not push out good ones after them.
func TestRunFiltersBeforeKeepingPerQuery(t *testing.T) {
	cfg := DefaultRunConfig()
	res, err := Run(context.Background(), weakFirstGen{}, runPairs(4), cfg, (&runEmbedFake{}).embed, nil)
	if err != nil {
		t.Fatal(err)
	}
	rep := res.Report
	if rep.Generated != 24 || rep.Kept != 12 || rep.RejectedByReason["too_short"] != 12 || rep.Surplus != 0 {
		t.Fatalf("report %+v", rep)
	}
	for _, n := range res.Negatives {
		if strings.HasPrefix(n.Text, "short") {
			t.Fatalf("kept a weak item: %+v", n)
		}
	}
}

// An endpoint that refuses the key (401/403), knows no such model or path
// (404) or says the quota is used up (429 insufficient_quota, which no
// wait lifts) refuses every pair: Run stops at the first refusal instead
// of spending a failure streak, and no error text carries the API key,
// even when the server echoes the Authorization header back.
func TestRunStopsAtRefusalAndHidesKey(t *testing.T) {
	for _, tc := range []struct {
		status    int
		errorType string
	}{{401, "invalid_request_error"}, {403, "invalid_request_error"}, {404, "invalid_request_error"}, {429, "insufficient_quota"}} {
		status := tc.status
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			f := newFakeChat(t, func(_ int, req fakeRequest) fakeReply {
				return fakeReply{Status: status, Body: `{"error":{"message":"Invalid token: ` + req.Header.Get("Authorization") + `","type":"` + tc.errorType + `","code":"` + tc.errorType + `"}}`}
			})
			var retries []string
			llm := newTestLLM(t, f, func(cfg *LLMConfig) {
				cfg.APIKey, cfg.Concurrency = "sk-SECRET42", 1
				cfg.OnRetry = func(_ int, _ time.Duration, err error) { retries = append(retries, err.Error()) }
			})
			cfg := DefaultRunConfig()
			cfg.Concurrency = 1
			res, err := Run(context.Background(), NewCausalGenerator(llm), runPairs(20), cfg, nil, nil)
			var refused *RefusedError
			if !errors.As(err, &refused) || refused.Status != status || !strings.Contains(err.Error(), "stopped at the first refusal (1 of 20 pairs finished; those in flight were stopped)") {
				t.Fatalf("err = %v, want a RefusedError %d after one pair", err, status)
			}
			if status == 404 && !strings.Contains(err.Error(), "/v1") {
				t.Errorf("a 404's message gives no hint about the base URL: %v", err)
			}
			if status == 429 && !strings.Contains(err.Error(), "quota") {
				t.Errorf("a used-up quota's message does not say so: %v", err)
			}
			if f.count() != 1 || res.Report.NotRun != 19 {
				t.Errorf("%d requests, %d pairs not run; want 1 and 19", f.count(), res.Report.NotRun)
			}
			for _, text := range append([]string{err.Error()}, append(res.Report.FailureSamples, retries...)...) {
				if strings.Contains(text, "SECRET42") {
					t.Fatalf("the API key shows in %q", text)
				}
			}
			if !strings.Contains(err.Error(), "Bearer <redacted>") {
				t.Errorf("the echoed header is gone rather than redacted: %v", err)
			}
		})
	}
}

// A 500 that echoes the key is retried, and each retry's error hides it.
func TestRetryErrorsHideKey(t *testing.T) {
	f := newFakeChat(t, func(_ int, req fakeRequest) fakeReply {
		return fakeReply{Status: 500, Body: `{"error":{"message":"upstream saw ` + req.Header.Get("Authorization") + `"}}`}
	})
	var retries []string
	c := newTestLLM(t, f, func(cfg *LLMConfig) {
		cfg.APIKey, cfg.MaxRetries = "sk-SECRET42", 2
		cfg.OnRetry = func(_ int, _ time.Duration, err error) { retries = append(retries, err.Error()) }
	})
	var got llmTestReply
	err := c.JSON(context.Background(), "s", "u", llmTestSchema, &got)
	if err == nil || len(retries) != 2 || openaiStatus(err) != 500 {
		t.Fatalf("err %v after %d retries; want a 500 after 2", err, len(retries))
	}
	for _, text := range append(retries, err.Error()) {
		if strings.Contains(text, "SECRET42") || !strings.Contains(text, "<redacted>") {
			t.Fatalf("error text %q shows the key or lost the redaction mark", text)
		}
	}
}

// An LLM generator runs as many pairs at once as its LLM may have requests
// in flight, whatever the run's own (lower) pair concurrency: each pair's
// two calls are sequential, so fewer pairs would leave the limit unused.
func TestRunLLMConcurrencyReachesTheLimit(t *testing.T) {
	gen := genJSON(t, itemEthanol, itemMountain, itemBubbles)
	f := newFakeChat(t, func(_ int, req fakeRequest) fakeReply {
		if fakeKind(req) == "analysis" {
			return fakeReply{Content: causalAnalysisJSON, Delay: 30 * time.Millisecond}
		}
		return fakeReply{Content: gen, Delay: 30 * time.Millisecond}
	})
	llm := newTestLLM(t, f, func(cfg *LLMConfig) { cfg.Concurrency = 8 })
	cfg := DefaultRunConfig()
	cfg.Concurrency = 2
	if _, err := Run(context.Background(), NewCausalGenerator(llm), runPairs(24), cfg, nil, nil); err != nil {
		t.Fatal(err)
	}
	if p := f.peak.Load(); p != 8 {
		t.Fatalf("peak requests in flight %d, want the LLM's limit 8", p)
	}
}

// Reply items an LLM generator refuses (schema, analysis rules, copies and
// repeats) are rejections of the run like the filters' own: counted by
// reason, listed with their pair, and part of what was generated.
func TestRunRecordsGeneratorRejections(t *testing.T) {
	pos := causalPair.Positive
	badType := itemMountain
	badType.Type = "Entity-Swap"
	nonCritical := itemBubbles
	nonCritical.Node = "R4"
	unknownNode := itemBubbles
	unknownNode.Node = "R9"
	copyOfPositive := itemEthanol
	copyOfPositive.Text = pos
	reply := genJSON(t, itemEthanol, badType, nonCritical, unknownNode, copyOfPositive, itemEthanol, "not an object", itemBubbles)
	f := causalServer(t, []string{causalAnalysisJSON}, []string{reply})
	res, err := Run(context.Background(), NewCausalGenerator(newTestLLM(t, f, nil)), Request{Pairs: []Pair{causalPair}},
		DefaultRunConfig(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{RejectUnknownType: 1, RejectNonCritical: 1, RejectUnknownNode: 1, RejectIdentical: 1,
		RejectDuplicate: 1, RejectMalformed: 1}
	for reason, n := range want {
		if got := res.Report.RejectedByReason[reason]; got != n {
			t.Errorf("rejected %s: %d, want %d (all: %v)", reason, got, n, res.Report.RejectedByReason)
		}
	}
	if res.Report.Kept != 2 || res.Report.Generated != 8 || len(res.Rejected) != 6 {
		t.Errorf("kept %d of %d generated, %d rejections; want 2 of 8 and 6", res.Report.Kept, res.Report.Generated, len(res.Rejected))
	}
	for _, r := range res.Rejected {
		if r.Negative.QueryID != causalPair.QueryID || r.Negative.Generator != "causal" {
			t.Errorf("rejection without its pair: %+v", r)
		}
	}
}

// The items of a reply sent back for repair (none usable) are rejections
// too, whether the repaired reply is good or the pair fails: a probe saw
// them vanish, leaving only the repair count.
func TestRunRecordsItemsOfRepairedReplies(t *testing.T) {
	unknownNode := itemBubbles
	unknownNode.Node = "R9"
	bad := genJSON(t, unknownNode, "not an object") // two refused items
	other := causalPair
	other.QueryID = "q-other"
	tests := []struct {
		name        string
		pairs       []Pair // two when every pair fails: a run of one failed pair is an error
		replies     []string
		wantRefused int
		wantKept    int
		wantFailed  int
	}{
		{"repaired", []Pair{causalPair}, []string{bad, genJSON(t, itemMountain)}, 2, 1, 0},
		{"still bad after repair", []Pair{causalPair, other}, []string{bad}, 2 * 2 * 2, 0, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := causalServer(t, []string{causalAnalysisJSON}, tt.replies)
			gen := NewCausalGenerator(newTestLLM(t, f, nil))
			res, err := Run(context.Background(), gen, Request{Pairs: tt.pairs}, DefaultRunConfig(), nil, nil)
			if (err != nil) != (tt.wantFailed == len(tt.pairs)) {
				t.Fatalf("err = %v", err)
			}
			rep := res.Report
			got := rep.RejectedByReason[RejectUnknownNode] + rep.RejectedByReason[RejectMalformed]
			if got != tt.wantRefused || len(res.Rejected) != tt.wantRefused || gen.Stats().Dropped != int64(tt.wantRefused) {
				t.Errorf("%d refused by reason, %d rejections, %d dropped; want %d (%v)", got, len(res.Rejected), gen.Stats().Dropped, tt.wantRefused, rep.RejectedByReason)
			}
			if rep.Kept != tt.wantKept || rep.Failures != tt.wantFailed || rep.Generated != tt.wantKept+tt.wantRefused {
				t.Errorf("kept %d, %d failures, %d generated", rep.Kept, rep.Failures, rep.Generated)
			}
		})
	}
}

// A run with many failures lists only the first runFailedPairs of them, so
// its report stays small enough to be read back; Failures counts them all.
func TestRunCapsFailedPairs(t *testing.T) {
	req := runPairs(2*runFailedPairs + 10)
	gen := &runFakeGen{fail: map[string]bool{}}
	for i := 1; i < len(req.Pairs); i += 2 { // every other pair, so no streak stops the run
		gen.fail[req.Pairs[i].QueryID] = true
	}
	emb := &runEmbedFake{}
	res, err := Run(context.Background(), gen, req, DefaultRunConfig(), emb.embed, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep := res.Report; rep.Failures != runFailedPairs+5 || len(rep.FailedPairs) != runFailedPairs || rep.FailedPairs[0] != "q1/d1" {
		t.Fatalf("failures %d, failed pairs listed %d (first %q); want %d, %d, q1/d1", rep.Failures, len(rep.FailedPairs), rep.FailedPairs[0], runFailedPairs+5, runFailedPairs)
	}
}

// Found by a probe: a run stopped by content-filtered replies asked
// whether the endpoint was reachable.
func TestStreakHint(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("llm x: chat completion: %w", &replyError{msg: "the endpoint's content filter withheld the reply"}), "replies are not usable"},
		{fmt.Errorf("llm x: %w: still invalid after repair: bad", ErrInvalidReply), "replies are not usable"},
		{fmt.Errorf("llm x: chat completion: %w", errors.New("dial tcp: connection refused")), "reachable"},
	} {
		if got := streakHint(tt.err); !strings.Contains(got, tt.want) {
			t.Errorf("streakHint(%v) = %q, want %q in it", tt.err, got, tt.want)
		}
	}
}
