package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"retune/dataset"
	"retune/eval"
	"retune/negatives"
	"retune/train"
)

// trainFlags maps CLI flags onto the pipeline config (same defaults as the API).
func trainFlags(fs *flag.FlagSet, cfg *train.PipelineConfig) {
	t := &cfg.Train
	fs.StringVar(&cfg.TrainSplit, "split", cfg.TrainSplit, "qrels split to train on")
	fs.StringVar(&cfg.TestSplit, "test-split", cfg.TestSplit, "qrels split to report base vs tuned metrics on (empty: none)")
	fs.StringVar(&cfg.Negatives, "negatives", cfg.Negatives, "none | mined | generated | mined+generated")
	fs.IntVar(&cfg.Generation.PerQuery, "per-query", cfg.Generation.PerQuery, "generated negatives per (query, positive)")
	fs.IntVar(&cfg.Generation.Concurrency, "gen-concurrency", cfg.Generation.Concurrency, "pairs generated at once (the causal and naive generators run at least --llm-concurrency)")
	fs.Float64Var(&cfg.Generation.Filter.MaxCosToPositive, "gen-max-cos", cfg.Generation.Filter.MaxCosToPositive, "reject generated negatives at least this close (cosine) to the positive")
	fs.IntVar(&cfg.Generation.Filter.MinWords, "gen-min-words", cfg.Generation.Filter.MinWords, "reject generated negatives shorter than this many words")
	fs.IntVar(&cfg.Mine.PerQuery, "mined", cfg.Mine.PerQuery, "mined negatives per query")
	fs.Float64Var(&cfg.Mine.Margin, "margin", cfg.Mine.Margin, "skip mined docs scoring above margin × positive")
	fs.BoolVar(&cfg.Mine.Exact, "mine-exact", false, "rank every training query against the whole corpus even when an IVF would mine (100,000+ documents and 20,000+ queries)")
	fs.StringVar(&t.Apply, "apply", t.Apply, "shared (queries and documents) | query")
	fs.IntVar(&t.Epochs, "epochs", t.Epochs, "maximum epochs")
	fs.Float64Var(&t.LR, "lr", t.LR, "AdamW learning rate")
	fs.Float64Var(&t.WeightDecay, "weight-decay", t.WeightDecay, "AdamW decoupled weight decay")
	fs.IntVar(&t.BatchSize, "batch", t.BatchSize, "queries per batch")
	fs.Float64Var(&t.Temperature, "temperature", t.Temperature, "InfoNCE temperature τ")
	fs.BoolVar(&t.InBatch, "in-batch", t.InBatch, "use in-batch negatives")
	fs.Float64Var(&t.EntropyWeight, "entropy-weight", t.EntropyWeight, "λ of the query-view entropy term, which acts on generated negatives alone")
	fs.Float64Var(&t.EntropyTemperature, "entropy-temperature", t.EntropyTemperature, "τ_ent of the entropy term")
	fs.Int64Var(&t.Seed, "seed", t.Seed, "random seed (same seed, same head)")
	fs.Float64Var(&t.DevFraction, "dev", t.DevFraction, "fraction of training queries held out for early stopping (at most 5,000 queries)")
	fs.IntVar(&t.Patience, "patience", t.Patience, "epochs without dev improvement before stopping")
	fs.BoolVar(&t.Bias, "bias", t.Bias, "train a bias vector")
	fs.IntVar(&t.Rank, "rank", t.Rank, "low-rank residual head W = I + A·B of this rank (0: full matrix)")
}

// runTrain fine-tunes a head on a BEIR folder or training pairs and prints
// base vs tuned metrics.
func runTrain(ctx context.Context, args []string) (err error) {
	fs := newFlags("train", "--beir DIR | --pairs FILE [--test-pairs FILE]  --out DIR [flags]",
		"Fine-tunes a projection head on the frozen encoder and prints base vs tuned metrics on the held-out split as JSON. --work DIR makes the run resumable.")
	var ef encoderFlags
	ef.register(fs, "glove-100d")
	var df dataFlags
	df.register(fs, "training pairs JSONL (FlagEmbedding query/pos/neg or sentence-transformers anchor/positive/negative lines) instead of --beir", true)
	out := fs.String("out", "", "new or empty folder to write the trained head to")
	force := fs.Bool("force", false, "replace the head in --out (a folder holding anything else is always refused)")
	cacheDir := cacheFlag(fs)
	work := fs.String("work", "", "work folder for stage outputs and checkpoints (resumable); default: none")
	generator := fs.String("generator", "", "offline | causal | naive (default: causal when an LLM model is configured, else offline)")
	rewrite := fs.Bool("gen-rewrite-candidates", false, "offline generator: apply each violation to a mined candidate first instead of the positive")
	var llm llmFlags
	llm.register(fs)
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file")
	skipMem := fs.Bool("skip-memory-check", false, "run even when the run's memory estimate exceeds the memory available")
	cfg := train.DefaultPipelineConfig()
	trainFlags(fs, &cfg)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := df.check(fs, "split", "test-split"); err != nil {
		return err
	}
	if err := df.beirSplit(fs, "split", &cfg.TrainSplit, false); err != nil {
		return err
	}
	if err := df.beirSplit(fs, "test-split", &cfg.TestSplit, true); err != nil {
		return err
	}
	if *out == "" {
		return usageError{errors.New("--out is required")}
	}
	if *work != "" && nested(*out, *work) {
		// The head folder would fill with checkpoints, and the next run
		// (a resume) would find it holding more than a head.
		return usageError{fmt.Errorf("--work %s and --out %s must be separate folders, neither inside the other", *work, *out)}
	}
	if *work != "" {
		if err := checkTrainWork(*work); err != nil {
			return usageError{err}
		}
	}
	if df.pairs != "" && df.testPairs == "" {
		cfg.TestSplit = "" // no held-out queries to report on
	}
	// Everything a user can get wrong is checked before the data loads.
	if err := cfg.Validate(); err != nil {
		return usageError{inFlagWords(err)}
	}
	if err := checkGenerationFlags(fs, cfg.Negatives); err != nil {
		return usageError{err}
	}
	if err := checkMiningFlags(fs, cfg.Negatives); err != nil {
		return usageError{err}
	}
	kind, err := negatives.ResolveKind(*generator, llm.config())
	if err != nil {
		return usageError{err}
	}
	if err := checkLLMFlags(fs, kind); err != nil && (cfg.Negatives == train.NegGenerated || cfg.Negatives == train.NegBoth) {
		return usageError{err}
	}
	usesLLM := (cfg.Negatives == train.NegGenerated || cfg.Negatives == train.NegBoth) && kind != negatives.KindOffline
	if err := llm.validate(usesLLM); err != nil {
		return usageError{err}
	}
	if err := moveLegacyCaches(cacheDir.Get(), llm.cache, os.Stderr); err != nil {
		return err
	}
	if *rewrite && *generator != "" && *generator != negatives.KindOffline {
		return usageError{fmt.Errorf("--gen-rewrite-candidates applies to the offline generator only, not %q", *generator)}
	}
	// --out is checked and made before training, not after it, so a bad
	// path does not cost the run; a folder made here is removed again if the
	// run fails.
	if err := checkTrainOut(*out, *force); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	removeOut, err := makeOutDir(*out, *work, cacheDir.Get(), llm.cache)
	if err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	// Held until the head is written: a second run given the same --out is
	// refused instead of writing its head there meanwhile, which this run
	// would replace, or remove with the folder if it failed. A folder that
	// the run which holds the lock made stays, for that run.
	unlockOut, err := lockOutDir(*out)
	if err != nil {
		return err
	}
	defer unlockOut()
	// Looked at again under the lock: a run that finished since the first
	// look may have left its head here.
	if err := checkTrainOut(*out, *force); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	defer func() {
		if err != nil {
			removeOut()
		}
	}()
	// Profiling starts once the command line and --out have passed their
	// checks, so a refused run leaves no profile file behind (nor writes
	// into the one a run it is refused for holds).
	stop, err := startCPUProfile(*cpuProfile)
	if err != nil {
		return err
	}
	defer stop()
	enc, data, provided, err := ef.openWithData(ctx, func() (*dataset.BEIR, map[string][]string, error) {
		return df.load(cfg.TrainSplit, cfg.TestSplit, splits(cfg)...)
	})
	if err != nil {
		return err
	}
	defer enc.Close()
	if r := cfg.Train.Rank; r > enc.Dim() {
		// Known once the encoder is open, and before anything is embedded.
		return usageError{fmt.Errorf("--rank %d exceeds the width %d of encoder %s (0 trains the full matrix)", r, enc.Dim(), enc.Name())}
	}
	var gen negatives.Generator
	if cfg.Negatives == train.NegGenerated || cfg.Negatives == train.NegBoth {
		corpus := make([]string, len(data.Corpus))
		for i, d := range data.Corpus {
			corpus[i] = d.Content()
		}
		if gen, err = negatives.NewGenerator(*generator, corpus, uint64(cfg.Train.Seed), llm.config(), negatives.OfflineRewriteCandidates(*rewrite)); err != nil {
			return err
		}
	}
	p := &train.Pipeline{Encoder: enc, Cache: train.NewCache(cacheDir.Get()), Generator: gen, WorkDir: *work,
		Progress: newProgressPrinter(os.Stderr), SkipMemoryCheck: *skipMem}
	if len(provided) > 0 && cfg.Negatives != train.NegNone {
		p.Provided = provided // the pairs' own hard negatives take the place of mined ones
	}
	head, res, err := p.Run(ctx, data, cfg)
	if err != nil {
		reportLLMSpent(os.Stderr, gen) // a failed run spent it too, with no report to show it
		if *work != "" && errors.Is(err, context.Canceled) {
			return withHint(err, "run the same command again to resume from --work "+*work)
		}
		if errors.Is(err, train.ErrOtherRun) {
			return usageError{err}
		}
		if errors.Is(err, train.ErrNotEnoughMemory) {
			return withHint(err, "--skip-memory-check runs it anyway")
		}
		return err
	}
	sum, err := enc.Checksum()
	if err != nil {
		return err
	}
	// The counterfactuals, their provenance and the shortcut diagnostics travel with the head.
	if err := train.SaveHead(*out, head, enc.Name(), sum, cfg, &res, nil); err != nil {
		return err
	}
	summary := map[string]any{
		"encoder": enc.Name(), "head": *out, "test_split": cfg.TestSplit, "test_queries": res.TestQueries,
		"best_epoch": res.Training.BestEpoch, "epochs_run": res.Training.EpochsRun, "stopped_early": res.Training.StoppedEarly,
		"dev_base": pick(res.Training.DevBase), "dev_best": pick(res.Training.DevBest),
		"epoch_seconds": res.Training.EpochSeconds, "timings_s": res.TimingsS,
		"cache_hits": res.CacheHits, "cache_misses": res.CacheMisses,
	}
	// Reports that do not apply are left out, as in the API's job result.
	if res.TestQueries > 0 {
		summary["base"], summary["tuned"] = pick(res.Base), pick(res.Tuned)
	}
	if res.TestQueriesTrainText > 0 {
		summary["test_queries_train_text"] = res.TestQueriesTrainText
	}
	if res.Training.ResumedFrom > 0 {
		// epoch_seconds then holds this attempt's epochs only, those after it.
		summary["resumed_from"] = res.Training.ResumedFrom
	}
	if res.Mining != nil {
		summary["mining"] = res.Mining
	}
	if res.Generation != nil {
		summary["generation"] = generationSummary(res.Generation)
	}
	if res.Unembeddable != nil {
		summary["unembeddable"] = res.Unembeddable
	}
	if res.Memory != nil {
		summary["memory"] = res.Memory
	}
	return json.NewEncoder(os.Stdout).Encode(summary)
}

func splits(cfg train.PipelineConfig) []string {
	s := []string{cfg.TrainSplit}
	if cfg.TestSplit != "" { // differs from TrainSplit (PipelineConfig.Validate)
		s = append(s, cfg.TestSplit)
	}
	return s
}

// pick keeps the headline metrics of the JSON.
func pick(m eval.Metrics) map[string]float64 {
	if m == nil {
		return nil // not measured (no test split, no dev queries): null
	}
	out := map[string]float64{}
	for _, k := range []string{"ndcg@10", "recall@100", "mrr@10"} {
		if v, ok := m[k]; ok {
			out[k] = v
		}
	}
	return out
}

// newProgressPrinter draws a one-line progress bar on a terminal and plain
// lines otherwise (logs, CI).
func newProgressPrinter(f *os.File) func(train.StageEvent) {
	tty := term.IsTerminal(int(f.Fd()))
	lastTenth := map[string]int{}
	return func(ev train.StageEvent) {
		switch {
		case ev.Train != nil && ev.Train.Kind == "step":
			if tty {
				t := ev.Train
				n := 30 * t.Step / max(t.Steps, 1)
				fmt.Fprintf(f, "\rtraining epoch %d/%d [%s%s] loss %.4f  eta %.1fs ", t.Epoch, t.Epochs,
					strings.Repeat("=", n), strings.Repeat(" ", 30-n), t.Loss, t.ETAS)
			}
		case ev.Train != nil && ev.Train.Kind == "epoch":
			t := ev.Train
			if tty {
				fmt.Fprint(f, "\r\033[K")
			}
			best := ""
			if t.Best {
				best = " (best)"
			}
			gen := ""
			if t.PGen > 0 { // some queries have generated negatives
				gen = fmt.Sprintf(" (h_gen %.3f p_gen %.3f, target %.3f)", t.HGen, t.PGen, t.PGenTarget)
			}
			dev := "no dev queries" // --dev 0, or too few training queries to hold any out
			if v, ok := t.Dev["ndcg@10"]; ok {
				dev = fmt.Sprintf("dev ndcg@10 %.4f%s", v, best)
			}
			fmt.Fprintf(f, "epoch %d/%d loss %.4f infonce %.4f entropy %.4f%s %s\n",
				t.Epoch, t.Epochs, t.Loss, t.InfoNCE, t.Entropy, gen, dev)
		case ev.Note == "" && ev.Done > 0 && ev.Done < ev.Total: // within a stage (embedding, mining)
			if tty {
				fmt.Fprintf(f, "\r%s %d/%d ", ev.Stage, ev.Done, ev.Total)
			} else if tenth := 10 * ev.Done / ev.Total; tenth > lastTenth[ev.Stage] { // a log: a line per 10%
				lastTenth[ev.Stage] = tenth
				fmt.Fprintf(f, "%s: %d/%d\n", ev.Stage, ev.Done, ev.Total)
			}
		default:
			if tty && ev.Done > 0 {
				fmt.Fprint(f, "\r\033[K")
			}
			if ev.Done == 0 && ev.Note == "" && ev.Stage == train.StageTraining {
				fmt.Fprintf(f, "%s: up to %d epochs\n", ev.Stage, ev.Total)
			} else if ev.Done == 0 && ev.Note == "" {
				fmt.Fprintf(f, "%s: %d items\n", ev.Stage, ev.Total)
			} else if ev.Note != "" && ev.Warn {
				fmt.Fprintf(f, "%s: warning: %s\n", ev.Stage, ev.Note)
			} else if ev.Note != "" {
				fmt.Fprintf(f, "%s: %s\n", ev.Stage, ev.Note)
			} else if !tty && ev.Done == ev.Total && lastTenth[ev.Stage] > 0 {
				// A log that showed the stage's steps shows its end too
				// (it stopped at 18/20).
				fmt.Fprintf(f, "%s: %d/%d\n", ev.Stage, ev.Done, ev.Total)
			}
		}
	}
}

// generationSummary is the generation report without the list of failed
// pairs, which can run to thousands (negatives.json beside the head has
// it): counts, diagnostics, the first errors and, for LLM generators, the
// model, prompts and spending.
func generationSummary(r *negatives.Report) any {
	m := map[string]any{"generator": r.Generator, "pairs": r.Pairs, "generated": r.Generated, "kept": r.Kept,
		"rejected_by_reason": r.RejectedByReason, "kept_by_type": r.KeptByType, "surplus": r.Surplus,
		"empty_pairs": r.EmptyPairs, "failures": r.Failures, "not_run": r.NotRun, "diagnostics": r.Diagnostics,
		"elapsed_s": r.ElapsedS}
	if len(r.FailureSamples) > 0 {
		m["failure_samples"] = r.FailureSamples
	}
	if r.LLM != nil {
		m["llm"] = r.LLM // endpoint, model, temperature, prompt files
	}
	if r.Usage != nil {
		m["usage"] = r.Usage // LLM generators: requests, retries, tokens, dropped reply items
	}
	return m
}

// reportLLMSpent writes what gen's LLM spent, when it sent any request:
// the requests and tokens of a run that failed or was interrupted, which
// no report shows (a --work folder also keeps them, in llm-spent.json).
func reportLLMSpent(w io.Writer, gen negatives.Generator) {
	g, ok := gen.(negatives.LLMSpender)
	if !ok {
		return
	}
	if u := g.LLMUsage(); u.Requests > 0 {
		unreported := ""
		if u.RepliesWithoutUsage > 0 {
			unreported = fmt.Sprintf(" (%d replies reported none)", u.RepliesWithoutUsage)
		}
		fmt.Fprintf(w, "LLM spent before the run stopped: %d requests (%d retries, %d repairs), %d prompt + %d completion tokens%s\n",
			u.Requests, u.Retries, u.Repairs, u.PromptTokens, u.CompletionTokens, unreported)
	}
}
