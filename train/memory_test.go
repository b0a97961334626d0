package train

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"retune/dataset"
	"retune/internal/memroom"
	"retune/internal/testenv"
)

func TestEstimateMemory(t *testing.T) {
	cfg := DefaultPipelineConfig() // mined, 15 a query in ranks 10-100, batch 32, dev 0.1, in-batch on
	with := func(f func(c *PipelineConfig)) PipelineConfig {
		c := cfg
		f(&c)
		return c
	}
	shape := func(docs, queries, tq, tp int) MemoryShape {
		return MemoryShape{Docs: docs, Queries: queries, TrainQueries: tq, TrainPairs: tp, NegativesPerQuery: -1}
	}
	// By hand: a text 2·4·100 + 100 = 900 bytes, a negative 55; a step
	// 5·8·100 = 4,000 bytes a row, 24 a score.
	tests := []struct {
		name              string
		shape             MemoryShape
		cfg               PipelineConfig
		vectors, batch    uint64
		batchQ, batchRows int
	}{
		// dev 10 of 100 queries; 32 queries, 32 + 15·32 rows.
		{"default", shape(900, 100, 100, 100), cfg, 1000*900 + 1500*55, 544*4000 + 32*512*24, 32, 512},
		// A query is a row once, however many positives it has: 900 queries
		// (dev 100), 45,000 pairs, 45,000 + 15·900 rows.
		{"many positives a query", shape(60_000, 1000, 1000, 50_000), with(func(c *PipelineConfig) { c.Train.BatchSize = 50_000 }),
			61_000*900 + 15_000*55, 59_400*4000 + 900*58_500*24, 900, 58_500},
		// The dev split holds at most 5,000 queries, whatever the fraction.
		{"dev capped", shape(50_000, 20_500, 20_000, 20_000), with(func(c *PipelineConfig) {
			c.Negatives, c.Train.BatchSize, c.Train.DevFraction = NegNone, 4096, 0.99
		}), 70_500 * 900, 8192*4000 + 4096*4096*24, 4096, 4096},
		// Without in-batch negatives the step's rows remain: up to the corpus.
		{"no in-batch scores", shape(50_000, 20_500, 20_000, 20_000), with(func(c *PipelineConfig) {
			c.Train.BatchSize, c.Train.InBatch = 4096, false
		}), 70_500*900 + 300_000*55, 54_096 * 4000, 4096, 50_000},
		// Mining keeps at most its window (ranks 10-100): 90 a query.
		{"mined past the window", shape(900, 100, 100, 100), with(func(c *PipelineConfig) { c.Mine.PerQuery = 1000 }),
			1000*900 + 9000*55, 932*4000 + 32*900*24, 32, 900},
		// Known negatives (provided, or after generation) and generated texts.
		{"negatives known", MemoryShape{Docs: 900, Queries: 100, TrainQueries: 100, TrainPairs: 100, NegativesPerQuery: 20.5, Generated: 300},
			with(func(c *PipelineConfig) { c.Negatives = NegBoth }), 1300*900 + 2050*55 + 300*1024, 720*4000 + 32*688*24, 32, 688},
	}
	for _, tt := range tests {
		m := EstimateMemory(tt.shape, 100, tt.cfg)
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
	shape := MemoryShape{Docs: 40_000, Queries: 10_000, TrainQueries: 10_000, TrainPairs: 10_000, NegativesPerQuery: -1}
	batchBound := &MemoryError{Need: EstimateMemory(shape, 384, cfg), Room: 2 << 30, Held: 3 << 30}
	cfg.Train.BatchSize = 32
	shape.Docs = 4_000_000
	textBound := &MemoryError{Need: EstimateMemory(shape, 384, cfg), Room: 2 << 30, OfTotal: true}
	for _, tt := range []struct {
		err  *MemoryError
		want []string
	}{
		{batchBound, []string{"needs about 4.5 GiB", "about 2.0 GiB is free beside the 3.0 GiB other runs under way hold", "50000 texts × 384 dimensions: 159 MiB",
			"a step over 4096 queries and 40000 documents: 4.3 GiB", "lower the batch size"}},
		{textBound, []string{"the server may use 2.0 GiB in all", "4010000 texts × 384 dimensions: 11.9 GiB", "fewer pairs"}},
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
	work := t.TempDir()
	p := &Pipeline{Encoder: enc, Cache: NewCache(t.TempDir()), Ledger: memroom.NewLedger(tiny), WorkDir: work}
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
	// Nor did it claim its work folder: a retry with a smaller batch may use it.
	if _, err := os.Stat(filepath.Join(work, WorkRunFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused run wrote %s: %v", WorkRunFile, err)
	}
	for _, p := range []*Pipeline{
		{Encoder: enc, Cache: NewCache(t.TempDir()), Ledger: memroom.NewLedger(tiny), SkipMemoryCheck: true},
		{Encoder: enc, Cache: NewCache(t.TempDir()), Ledger: memroom.NewLedger(func() (uint64, bool) { return 0, false })},
	} {
		_, res, err := p.Run(context.Background(), data, cfg)
		if err != nil {
			t.Fatalf("skip %v: %v", p.SkipMemoryCheck, err)
		}
		if res.Memory == nil || res.Memory.EstimateBytes != EstimateMemory(MemoryShape{Docs: 3, Queries: 3, TrainQueries: 3, TrainPairs: 3, NegativesPerQuery: -1}, enc.Dim(), cfg).Total() {
			t.Fatalf("memory report %+v", res.Memory)
		}
	}
}

// tinyBEIR is a three-query BEIR set (train split only) glove-100d embeds.
func tinyBEIR(t *testing.T) *dataset.BEIR {
	t.Helper()
	return loadBEIRFiles(t, map[string]string{
		"corpus.jsonl":    `{"_id":"d1","text":"dogs run in the park"}` + "\n" + `{"_id":"d2","text":"cats sleep all day long"}` + "\n" + `{"_id":"d3","text":"birds fly over the sea"}` + "\n",
		"queries.jsonl":   `{"_id":"q1","text":"do dogs run"}` + "\n" + `{"_id":"q2","text":"when do cats sleep"}` + "\n" + `{"_id":"q3","text":"where do birds fly"}` + "\n",
		"qrels/train.tsv": "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\nq3\td3\t1\n",
	})
}

// loadBEIRFiles writes a BEIR folder of file name -> content and loads it.
func loadBEIRFiles(t *testing.T, files map[string]string) *dataset.BEIR {
	t.Helper()
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "qrels"), 0o755)
	for name, body := range files {
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

// A run whose batches hold nothing to contrast (one pair each, no
// negatives) says that the head learned nothing, instead of succeeding
// quietly with loss 0.
func TestPipelineWarnsWhenNothingIsContrasted(t *testing.T) {
	enc := testenv.OpenEncoder(t, testenv.Glove(t))
	cfg := DefaultPipelineConfig()
	cfg.Negatives, cfg.TestSplit, cfg.Train.Epochs, cfg.Train.Patience = NegNone, "", 2, 0
	cfg.Train.BatchSize = 1
	var warned []string
	p := &Pipeline{Encoder: enc, Cache: NewCache(t.TempDir()), Progress: func(ev StageEvent) {
		if ev.Warn {
			warned = append(warned, ev.Note)
		}
	}}
	if _, _, err := p.Run(context.Background(), tinyBEIR(t), cfg); err != nil {
		t.Fatal(err)
	}
	if len(warned) == 0 || !strings.Contains(warned[0], "every epoch's loss was 0") || !strings.Contains(warned[0], "the head learned nothing") {
		t.Fatalf("warnings %q", warned)
	}
	// With two pairs a batch, in-batch negatives give it something.
	cfg.Train.BatchSize = 2
	warned = nil
	if _, _, err := p.Run(context.Background(), tinyBEIR(t), cfg); err != nil {
		t.Fatal(err)
	}
	for _, w := range warned {
		if strings.Contains(w, "every epoch's loss was 0") {
			t.Fatalf("warned with in-batch negatives to contrast: %q", w)
		}
	}
}
