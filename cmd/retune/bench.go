package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"retune/dataset"
	"retune/model"
	"retune/tokenize"
)

// runBench dispatches the speed benchmarks.
func runBench(ctx context.Context, args []string) error {
	if len(args) > 0 && args[0] == "embed" {
		return benchEmbed(ctx, args[1:])
	}
	if len(args) > 0 && args[0] == "search" {
		return benchSearch(ctx, args[1:])
	}
	usage := "usage: retune bench embed --model NAME|--onnx DIR [--n N] [--texts FILE]\n" +
		"       retune bench search --collection ID [--url URL] [--queries FILE | --beir DIR] [--concurrency 50] [--requests N]\n" +
		"(retune bench embed -h and retune bench search -h list every flag)"
	if len(args) > 0 && !isHelpFlag(args[0]) && !slices.Contains(subcommands["bench"], args[0]) {
		return usageError{fmt.Errorf("unknown bench subcommand %q; %s", args[0], usage)}
	}
	return usageError{errors.New(usage)}
}

type embedBench struct {
	Model       string  `json:"model"`
	Texts       int     `json:"texts"`
	TextSource  string  `json:"text_source"`
	BatchSize   int     `json:"batch_size"`
	Rounds      int     `json:"rounds"`
	E2EPerS     float64 `json:"e2e_per_s"`
	ORTOnlyPerS float64 `json:"ort_only_per_s"`
	Ratio       float64 `json:"ratio"`
	PeakRSSMB   float64 `json:"peak_rss_mb"`
}

// benchEmbed compares end-to-end embedding (tokenise, forward, pool) with the
// forward passes alone on the same pre-tokenised batches: the ratio says how
// much of the pipeline hides behind onnxruntime.
// Bounds of bench embed's flags.
const (
	maxBenchTexts  = 1_000_000
	maxBenchBatch  = 4096
	maxBenchRounds = 100
)

func benchEmbed(ctx context.Context, args []string) error {
	fs := newFlags("bench embed", "[--model NAME | --onnx DIR] [--n N] [--batch B] [--rounds R]",
		"Embeds the first N SciFact abstracts end to end (tokenise, forward, pool) and by forward passes alone on the same batches, and prints both rates and their ratio.")
	var ef encoderFlags
	ef.register(fs, "glove-100d")
	n := fs.Int("n", 2000, "texts to embed")
	batch := fs.Int("batch", 64, "texts per forward pass")
	rounds := fs.Int("rounds", 3, "timed rounds (the medians are reported) after one warm-up pass")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file")
	textsFile := fs.String("texts", "", "one text per line (default: the SciFact corpus from the shared data, else seeded synthetic sentences)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	// The texts are held in memory (and by default read from a 5,183-text
	// corpus, repeated): the bounds keep a typo from exhausting it.
	if *rounds < 1 || *rounds > maxBenchRounds || *n < 1 || *n > maxBenchTexts || *batch < 1 || *batch > maxBenchBatch {
		return usageError{fmt.Errorf("--n must be in [1, %d], --batch in [1, %d], --rounds in [1, %d]", maxBenchTexts, maxBenchBatch, maxBenchRounds)}
	}
	stop, err := startCPUProfile(*cpuProfile)
	if err != nil {
		return err
	}
	defer stop()
	texts, source, err := benchTexts(*textsFile, *n)
	if err != nil {
		return err
	}
	enc, err := ef.open(ctx, model.WithBatchSize(*batch))
	if err != nil {
		return err
	}
	defer enc.Close()
	// onnxruntime pays a first-run cost for each new input shape; one full
	// pass first lets both timed phases run on warm shapes.
	if _, err := enc.Embed(ctx, texts); err != nil {
		return err
	}
	batches, err := pretokenise(enc.Tokenizer(), texts, *batch)
	if err != nil {
		return err
	}
	var e2es, orts []time.Duration
	for r := 0; r < *rounds; r++ {
		start := time.Now()
		if _, err := enc.Embed(ctx, texts); err != nil {
			return err
		}
		e2es = append(e2es, time.Since(start))
		start = time.Now()
		for _, b := range batches {
			if err := enc.Forward(b, func([]float32, []int64) {}); err != nil {
				return err
			}
		}
		orts = append(orts, time.Since(start))
	}
	e2e, ortOnly := median(e2es), median(orts)

	res := embedBench{
		Model: enc.Name(), Texts: len(texts), TextSource: source, BatchSize: *batch, Rounds: *rounds,
		E2EPerS:     float64(len(texts)) / e2e.Seconds(),
		ORTOnlyPerS: float64(len(texts)) / ortOnly.Seconds(),
		PeakRSSMB:   peakRSSMB(),
	}
	res.Ratio = res.E2EPerS / res.ORTOnlyPerS
	return json.NewEncoder(os.Stdout).Encode(res)
}

// pretokenise builds the batches exactly as Encoder.Embed does (length-sorted).
func pretokenise(tok *tokenize.Tokenizer, texts []string, size int) ([]*tokenize.Batch, error) {
	sorted := append([]string(nil), texts...)
	sort.SliceStable(sorted, func(a, b int) bool { return len(sorted[a]) < len(sorted[b]) })
	var out []*tokenize.Batch
	for i := 0; i < len(sorted); i += size {
		b, err := tok.EncodeBatch(sorted[i:min(i+size, len(sorted))])
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

func benchTexts(file string, n int) ([]string, string, error) {
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return nil, "", err
		}
		defer f.Close()
		var texts []string
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		for sc.Scan() && len(texts) < n {
			if t := strings.TrimSpace(sc.Text()); t != "" {
				texts = append(texts, t)
			}
		}
		if err := sc.Err(); err != nil {
			return nil, "", err
		}
		if len(texts) == 0 {
			return nil, "", fmt.Errorf("%s holds no texts", file)
		}
		return texts, file, nil
	}
	if dir, ok := dataset.FindSharedData(); ok {
		if f, err := os.Open(filepath.Join(dir, "scifact", "corpus.jsonl")); err == nil {
			defer f.Close()
			docs, err := dataset.ReadCorpus(f)
			if err != nil {
				return nil, "", err
			}
			texts := make([]string, 0, n)
			for i := 0; len(texts) < n && len(docs) > 0; i++ {
				texts = append(texts, docs[i%len(docs)].Content())
			}
			return texts, "scifact corpus", nil
		}
	}
	return syntheticTexts(n), "synthetic (seed 1)", nil
}

// syntheticTexts makes reproducible sentences of 20-200 words when no corpus is at hand.
func syntheticTexts(n int) []string {
	words := strings.Fields("the cell protein gene expression patients study results increased risk " +
		"treatment effect analysis cancer disease clinical trial mice levels response human blood " +
		"associated significantly reduced model data function activity receptor signaling pathway")
	r := rand.New(rand.NewSource(1))
	out := make([]string, n)
	for i := range out {
		k := 20 + r.Intn(180)
		ws := make([]string, k)
		for j := range ws {
			ws[j] = words[r.Intn(len(words))]
		}
		out[i] = strings.Join(ws, " ")
	}
	return out
}

// peakRSSMB reads the process's high-water resident set size (Linux).
func peakRSSMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				kb, _ := strconv.ParseFloat(f[1], 64)
				return kb / 1024
			}
		}
	}
	return 0
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}
