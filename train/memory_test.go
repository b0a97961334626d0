package train

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"retune/dataset"
	"retune/internal/testenv"
)

func TestEstimateMemory(t *testing.T) {
	cfg := DefaultPipelineConfig() // mined, 15 a query, batch 32, in-batch on
	big := cfg
	big.Train.BatchSize = 4096
	noInBatch := big
	noInBatch.Train.InBatch = false
	both := cfg
	both.Negatives = NegBoth // 15 mined + 3 generated
	tests := []struct {
		name                      string
		docs, queries, dim, pairs int
		cfg                       PipelineConfig
		vectors, batch            uint64
		batchQ, batchRows         int
	}{
		// 1,000 texts × (2 × 4 × 100 + 100) bytes; 32 queries × 32·16 rows × 20 bytes.
		{"default", 900, 100, 100, 500, cfg, 900_000, 32 * 512 * 20, 32, 512},
		// A batch larger than the split holds what the dev split leaves: 9 of 10 pairs.
		{"batch over the split", 900, 100, 100, 10, big, 900_000, 9 * 144 * 20, 9, 144},
		// A document is a row once: 4,096 queries × 16 rows exceed the 40,000 documents.
		{"big batch", 40_000, 10_000, 384, 20_000, big, 50_000 * 3172, 4096 * 40_000 * 20, 4096, 40_000},
		{"no in-batch scores", 40_000, 10_000, 384, 20_000, noInBatch, 50_000 * 3172, 0, 0, 0},
		{"mined and generated", 900, 100, 100, 500, both, 900_000, 32 * 608 * 20, 32, 608},
		{"rows capped by the corpus", 100, 900, 100, 500, cfg, 900_000, 32 * 100 * 20, 32, 100},
	}
	for _, tt := range tests {
		m := EstimateMemory(tt.docs, tt.queries, tt.dim, tt.pairs, tt.cfg)
		if m.Vectors != tt.vectors || m.Batch != tt.batch || m.BatchQueries != tt.batchQ || m.BatchRows != tt.batchRows {
			t.Errorf("%s: %+v; want vectors %d, batch %d (%d × %d)", tt.name, m, tt.vectors, tt.batch, tt.batchQ, tt.batchRows)
		}
		if m.Total() != memFixed+tt.vectors+tt.batch {
			t.Errorf("%s: total %d", tt.name, m.Total())
		}
	}
}

func TestMemoryErrorSaysWhatToChange(t *testing.T) {
	cfg := DefaultPipelineConfig()
	cfg.Train.BatchSize = 4096
	batchBound := &MemoryError{Need: EstimateMemory(40_000, 10_000, 384, 20_000, cfg), Room: 2 << 30}
	cfg.Train.BatchSize = 32
	textBound := &MemoryError{Need: EstimateMemory(4_000_000, 1_000_000, 384, 20_000, cfg), Room: 2 << 30, OfTotal: true}
	for _, tt := range []struct {
		err  *MemoryError
		want []string
	}{
		{batchBound, []string{"needs about 3.2 GiB", "about 2.0 GiB is free", "50000 texts × 384 dimensions: 151 MiB", "4096 queries × 40000 documents a step: 3.1 GiB", "lower the batch size"}},
		{textBound, []string{"this machine has 2.0 GiB in all", "5000000 texts × 384 dimensions: 14.8 GiB", "fewer pairs"}},
	} {
		msg := tt.err.Error()
		for _, w := range tt.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%q lacks %q", msg, w)
			}
		}
		if !errors.Is(tt.err, ErrNotEnoughMemory) {
			t.Errorf("%v is not ErrNotEnoughMemory", tt.err)
		}
	}
}

// A run that does not fit is refused before it embeds anything; with
// SkipMemoryCheck, or when the room is unknown, it runs.
func TestPipelineRefusesARunTooLargeForTheRoom(t *testing.T) {
	enc := testenv.OpenEncoder(t, testenv.Glove(t))
	data := tinyBEIR(t)
	cfg := DefaultPipelineConfig()
	cfg.Negatives, cfg.TestSplit, cfg.Train.Epochs = NegNone, "", 1
	tiny := func() (uint64, bool) { return 1 << 20, true }
	p := &Pipeline{Encoder: enc, Cache: NewCache(t.TempDir()), Room: tiny}
	var stages []string
	p.Progress = func(ev StageEvent) { stages = append(stages, ev.Stage) }
	_, _, err := p.Run(context.Background(), data, cfg)
	var me *MemoryError
	if !errors.As(err, &me) || me.Room != 1<<20 || me.Need.Texts != 6 || me.Need.Dim != enc.Dim() {
		t.Fatalf("run in 1 MiB: %v (%+v)", err, me)
	}
	if len(stages) > 0 || enc.Forwards() != 0 {
		t.Fatalf("a refused run started %v, %d forward passes", stages, enc.Forwards())
	}
	for _, p := range []*Pipeline{
		{Encoder: enc, Cache: NewCache(t.TempDir()), Room: tiny, SkipMemoryCheck: true},
		{Encoder: enc, Cache: NewCache(t.TempDir()), Room: func() (uint64, bool) { return 0, false }},
	} {
		_, res, err := p.Run(context.Background(), data, cfg)
		if err != nil {
			t.Fatalf("skip %v: %v", p.SkipMemoryCheck, err)
		}
		if res.Memory == nil || res.Memory.EstimateBytes != EstimateMemory(3, 3, enc.Dim(), 3, cfg).Total() {
			t.Fatalf("memory report %+v", res.Memory)
		}
	}
}

// The watch sees a live allocation made while it runs.
func TestHeapWatchSeesGrowth(t *testing.T) {
	for range 3 { // objects with finalizers (earlier tests' encoders) take two cycles to go
		runtime.GC()
	}
	w := watchHeap()
	keep := make([]byte, 64<<20)
	for i := range keep {
		keep[i] = byte(i)
	}
	runtime.GC()
	time.Sleep(3 * heapWatchEvery)
	got := w.growth()
	runtime.KeepAlive(keep)
	if got < 60<<20 || got > 200<<20 {
		t.Fatalf("growth %d MiB while holding 64 MiB", got>>20)
	}
}

// tinyBEIR is a three-query BEIR set (train split only) glove-100d embeds.
func tinyBEIR(t *testing.T) *dataset.BEIR {
	t.Helper()
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "qrels"), 0o755)
	for name, body := range map[string]string{
		"corpus.jsonl":    `{"_id":"d1","text":"dogs run in the park"}` + "\n" + `{"_id":"d2","text":"cats sleep all day long"}` + "\n" + `{"_id":"d3","text":"birds fly over the sea"}` + "\n",
		"queries.jsonl":   `{"_id":"q1","text":"do dogs run"}` + "\n" + `{"_id":"q2","text":"when do cats sleep"}` + "\n" + `{"_id":"q3","text":"where do birds fly"}` + "\n",
		"qrels/train.tsv": "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\nq3\td3\t1\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := dataset.LoadBEIR(dir)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// A run whose epochs never beat the base encoder on the dev split says so:
// the head it keeps is the identity.
func TestPipelineWarnsWhenNoEpochHelps(t *testing.T) {
	enc := testenv.OpenEncoder(t, testenv.Glove(t))
	cfg := DefaultPipelineConfig()
	cfg.Negatives, cfg.TestSplit, cfg.Train.Epochs, cfg.Train.Patience = NegNone, "", 2, 0
	cfg.Train.LR = 1e-12 // too small to change a ranking
	cfg.Train.DevFraction = 0.5
	var warned []string
	p := &Pipeline{Encoder: enc, Cache: NewCache(t.TempDir()), Progress: func(ev StageEvent) {
		if ev.Warn {
			warned = append(warned, ev.Note)
		}
	}}
	_, res, err := p.Run(context.Background(), tinyBEIR(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Training.BestEpoch != 0 || len(warned) != 1 || !strings.Contains(warned[0], "the head kept is the untrained (identity) one") {
		t.Fatalf("best epoch %d, warnings %q", res.Training.BestEpoch, warned)
	}
}
