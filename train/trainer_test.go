package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"retune/eval"
	"retune/model"
	"retune/objective"
)

// syntheticSet builds a retrieval task a linear head can fix: the first
// `signal` dims carry the query–document match, the rest are large
// independent noise that swamps the base cosine. A shared head that damps
// the noise dims makes retrieval near perfect.
func syntheticSet(nq, signal, noise int, seed int64) *Set {
	r := rand.New(rand.NewSource(seed))
	d := signal + noise
	s := &Set{QueryVecs: map[string][]float32{}, DocVecs: map[string][]float32{}, Qrels: eval.Qrels{}, Negatives: map[string][]NegRef{}}
	vec := func(base []float32) []float32 {
		v := make([]float32, d)
		for j := 0; j < signal; j++ {
			if base != nil {
				v[j] = base[j] + 0.1*float32(r.NormFloat64())
			} else {
				v[j] = float32(r.NormFloat64())
			}
		}
		for j := signal; j < d; j++ {
			v[j] = float32(r.NormFloat64())
		}
		model.Normalize(v)
		return v
	}
	for i := 0; i < nq; i++ {
		did, qid := fmt.Sprintf("d%03d", i), fmt.Sprintf("q%03d", i)
		dv := vec(nil)
		s.DocVecs[did] = dv
		s.CorpusIDs = append(s.CorpusIDs, did)
		s.QueryVecs[qid] = vec(dv)
		s.Qrels[qid] = map[string]int{did: 1}
	}
	for i := 0; i < nq; i++ {
		qid := fmt.Sprintf("q%03d", i)
		for k := 1; k <= 3; k++ {
			s.Negatives[qid] = append(s.Negatives[qid], NegRef{DocID: fmt.Sprintf("d%03d", (i+k*7)%nq), Source: objective.Mined})
		}
	}
	return s
}

func testConfig() Config {
	c := DefaultConfig()
	c.Epochs, c.LR, c.BatchSize, c.DevFraction, c.Patience = 15, 5e-2, 16, 0.2, 15
	return c
}

func TestTrainerImprovesHeldOutRetrieval(t *testing.T) {
	set := syntheticSet(120, 4, 12, 1)
	tr := &Trainer{Config: testConfig()}
	head, rep, err := tr.Train(context.Background(), set)
	if err != nil {
		t.Fatal(err)
	}
	base, best := rep.DevBase["ndcg@10"], rep.DevBest["ndcg@10"]
	if best < base+0.1 {
		t.Fatalf("dev ndcg@10 base %.3f → best %.3f: want a clear gain", base, best)
	}
	if rep.BestEpoch == 0 || head == nil {
		t.Fatalf("best epoch %d: training never beat the identity head", rep.BestEpoch)
	}
	if len(rep.EpochSeconds) != rep.EpochsRun {
		t.Fatalf("epoch timings %d for %d epochs", len(rep.EpochSeconds), rep.EpochsRun)
	}
}

func TestTrainerPatienceCountsEpochsWithoutGain(t *testing.T) {
	for _, patience := range []int{0, 1, 3} {
		cfg := testConfig()
		// A learning rate this small leaves the dev ranking as it is, so no
		// epoch beats the identity head.
		cfg.Epochs, cfg.LR, cfg.Patience = 10, 1e-30, patience
		_, rep, err := (&Trainer{Config: cfg}).Train(context.Background(), syntheticSet(60, 4, 8, 3))
		if err != nil {
			t.Fatal(err)
		}
		if want := max(patience, 1); rep.EpochsRun != want || !rep.StoppedEarly || rep.BestEpoch != 0 {
			t.Errorf("patience %d: ran %d epochs (stopped early %v, best %d), want %d epochs and a stop with best 0",
				patience, rep.EpochsRun, rep.StoppedEarly, rep.BestEpoch, want)
		}
	}
}

func TestTrainerSameSeedSameHead(t *testing.T) {
	run := func(seed int64) []float64 {
		cfg := testConfig()
		// No dev split: the last epoch is returned, so the seed's effect on
		// batch order shows in the weights (with early stopping an
		// unbeaten identity head would look the same for every seed).
		cfg.Epochs, cfg.Seed, cfg.DevFraction = 3, seed, 0
		h, _, err := (&Trainer{Config: cfg}).Train(context.Background(), syntheticSet(60, 4, 8, 2))
		if err != nil {
			t.Fatal(err)
		}
		return append([]float64(nil), h.Params()...)
	}
	a, b, c := run(7), run(7), run(8)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("param %d differs between identical runs: %v vs %v", i, a[i], b[i])
		}
	}
	same := true
	for i := range a {
		same = same && a[i] == c[i]
	}
	if same {
		t.Fatal("a different seed gave the identical head")
	}
}

// TestTrainerResumesFromCheckpoint interrupts a run after epoch 2 and
// resumes it: with checkpoints after every epoch, and with an interval so
// long that only the write on cancellation saves epoch 2.
func TestTrainerResumesFromCheckpoint(t *testing.T) {
	cfg := testConfig()
	cfg.Epochs, cfg.Patience = 5, 100
	set := syntheticSet(60, 4, 8, 3)
	full, fullRep, err := (&Trainer{Config: cfg, CheckpointDir: t.TempDir()}).Train(context.Background(), set)
	if err != nil {
		t.Fatal(err)
	}

	for _, every := range []time.Duration{0, time.Hour} {
		dir := t.TempDir()
		ctx, cancel := context.WithCancel(context.Background())
		tr := &Trainer{Config: cfg, CheckpointDir: dir, CheckpointEvery: every, Progress: func(ev Event) {
			if ev.Kind == "epoch" && ev.Epoch == 2 {
				cancel() // interrupted after epoch 2
			}
		}}
		if _, _, err := tr.Train(ctx, set); !errors.Is(err, context.Canceled) {
			t.Fatalf("every %v, interrupted run: err %v, want context.Canceled", every, err)
		}
		var epochsSeen []int
		resumed, rep, err := (&Trainer{Config: cfg, CheckpointDir: dir, CheckpointEvery: every, Progress: func(ev Event) {
			if ev.Kind == "epoch" {
				epochsSeen = append(epochsSeen, ev.Epoch)
			}
		}}).Train(context.Background(), set)
		if err != nil {
			t.Fatal(err)
		}
		if rep.ResumedFrom != 2 || len(epochsSeen) != 3 || epochsSeen[0] != 3 {
			t.Fatalf("every %v: resumed from %d, ran epochs %v; want 3,4,5 only", every, rep.ResumedFrom, epochsSeen)
		}
		if rep.BestEpoch != fullRep.BestEpoch {
			t.Fatalf("every %v: best epoch %d after resume, %d uninterrupted", every, rep.BestEpoch, fullRep.BestEpoch)
		}
		for i, p := range full.Params() {
			if math.Abs(p-resumed.Params()[i]) > 1e-12 {
				t.Fatalf("every %v, param %d: resumed %v, uninterrupted %v", every, i, resumed.Params()[i], p)
			}
		}
	}
}

// A checkpoint write that fails (here: a file stands where the folder
// should be, as a full disk would refuse it) does not stop training: the
// run ends with the head it gives without checkpoints, says once that
// writes fail and once that they work again, and the last epoch reaches
// disk once writes work.
func TestTrainerGoesOnWhenCheckpointsFail(t *testing.T) {
	cfg := testConfig()
	cfg.Epochs, cfg.Patience = 5, 100
	set := syntheticSet(60, 4, 8, 3)
	want, _, err := (&Trainer{Config: cfg}).Train(context.Background(), set)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		unblockAt  int // epoch after which writes work again; 0: never
		wantNotes  []string
		wantOnDisk int
	}{
		{"writes never work", 0, []string{"the checkpoint of epoch 1 was not written (mkdir: not a directory); training goes on, and until a write works a restart resumes from the start"}, 0},
		{"writes work again after epoch 3", 3, []string{"the checkpoint of epoch 1 was not written (mkdir: not a directory)", "checkpoints are written again (epoch 4) after 3 failed writes"}, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The file is put in the way once training has started: a run
			// cannot start on a checkpoint folder it cannot read.
			blocker := filepath.Join(t.TempDir(), "ck")
			var notes []string
			tr := &Trainer{Config: cfg, CheckpointDir: blocker,
				Warn: func(note string) { notes = append(notes, note) },
				Progress: func(ev Event) {
					switch {
					case ev.Kind == "step" && ev.Epoch == 1 && ev.Step == 1:
						if err := os.WriteFile(blocker, []byte("in the way"), 0o644); err != nil {
							t.Error(err)
						}
					case ev.Kind == "epoch" && ev.Epoch == tc.unblockAt:
						if err := os.Remove(blocker); err != nil {
							t.Error(err)
						}
					}
				}}
			got, rep, err := tr.Train(context.Background(), set)
			if err != nil {
				t.Fatalf("training failed with its checkpoints: %v", err)
			}
			if rep.EpochsRun != 5 {
				t.Fatalf("ran %d epochs, want 5", rep.EpochsRun)
			}
			for i, p := range want.Params() {
				if got.Params()[i] != p {
					t.Fatalf("param %d: %v, %v without checkpoints", i, got.Params()[i], p)
				}
			}
			joined := strings.Join(notes, "\n")
			for _, w := range tc.wantNotes {
				if !strings.Contains(joined, w) {
					t.Errorf("notes %q lack %q", notes, w)
				}
			}
			if n := len(tc.wantNotes); len(notes) != n {
				t.Errorf("%d notes %q, want %d", len(notes), notes, n)
			}
			if tc.wantOnDisk == 0 {
				if b, err := os.ReadFile(blocker); string(b) != "in the way" {
					t.Errorf("the file in the way holds %q (err %v)", b, err)
				}
				return
			}
			if hdr, _, ok, err := readCheckpoint(blocker); err != nil || !ok || hdr.State.Epoch != tc.wantOnDisk {
				t.Errorf("checkpoint on disk: epoch %d (found %v, err %v), want %d", hdr.State.Epoch, ok, err, tc.wantOnDisk)
			}
		})
	}
}

// TestBatchGradFiniteDifference checks the whole chain (head → objective,
// shared or query-only head, bias, in-batch negatives) against central
// differences. The entropy term is off here on purpose: its stop-gradient
// makes the analytic gradient differ from the numerical one through the
// query and mined rows, which the objective package checks term by term.
func TestBatchGradFiniteDifference(t *testing.T) {
	set := syntheticSet(12, 2, 3, 4)
	for _, apply := range []string{"shared", "query"} {
		t.Run(apply, func(t *testing.T) {
			cfg := testConfig()
			cfg.Apply, cfg.Bias, cfg.EntropyWeight, cfg.InBatch = apply, true, 0, true
			head, err := model.NewHead(model.HeadConfig{DIn: set.Dim(), DOut: set.Dim(), Bias: true, Apply: apply, Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			r := rand.New(rand.NewSource(5))
			for i := range head.Params() {
				head.Params()[i] += 0.3 * r.NormFloat64()
			}
			b := set.samples(set.Qrels)[:8]
			res, grad, err := batchGrad(head, set, b, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if res.Loss == 0 {
				t.Fatal("zero loss: the check would not cover anything")
			}
			const h = 1e-6
			for i := range head.Params() {
				p := head.Params()[i]
				head.Params()[i] = p + h
				up, _, _ := batchGrad(head, set, b, cfg)
				head.Params()[i] = p - h
				down, _, _ := batchGrad(head, set, b, cfg)
				head.Params()[i] = p
				num := (up.Loss - down.Loss) / (2 * h)
				if rel := math.Abs(num-grad[i]) / math.Max(1e-6, math.Abs(num)+math.Abs(grad[i])); rel > 1e-4 {
					t.Fatalf("param %d: analytic %.8g numeric %.8g (rel %.2g)", i, grad[i], num, rel)
				}
			}
		})
	}
}

func TestBatchesNeverRepeatAPositive(t *testing.T) {
	var ss []sample
	for i := 0; i < 50; i++ {
		ss = append(ss, sample{query: fmt.Sprint("q", i), pos: fmt.Sprint("d", i%7)})
	}
	total := 0
	for _, b := range batches(ss, 5, rand.New(rand.NewSource(1))) {
		seen := map[string]bool{}
		for _, s := range b {
			if seen[s.pos] {
				t.Fatalf("positive %s twice in a batch", s.pos)
			}
			seen[s.pos] = true
		}
		total += len(b)
	}
	if total != 50 {
		t.Fatalf("batches hold %d pairs, want all 50", total)
	}
}

// batchesQuadratic is the first implementation of batches: a full pass over
// all pending samples per batch. The linear one must give the very same
// batches, so runs (and the README's figures) stay reproducible.
func batchesQuadratic(samples []sample, size int, rng *rand.Rand) [][]sample {
	order := rng.Perm(len(samples))
	var out [][]sample
	pending := make([]sample, 0, len(samples))
	for _, i := range order {
		pending = append(pending, samples[i])
	}
	for len(pending) > 0 {
		var cur, rest []sample
		seen := map[string]bool{}
		for _, s := range pending {
			if len(cur) < size && !seen[s.pos] {
				seen[s.pos] = true
				cur = append(cur, s)
			} else {
				rest = append(rest, s)
			}
		}
		out = append(out, cur)
		pending = rest
	}
	return out
}

func TestBatchesMatchTheQuadraticOriginal(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	for trial := range 200 {
		n, size, positives := 1+rng.Intn(300), 1+rng.Intn(40), 1+rng.Intn(60)
		ss := make([]sample, n)
		for i := range ss {
			ss[i] = sample{query: fmt.Sprint("q", i), pos: fmt.Sprint("d", rng.Intn(positives))}
		}
		got := batches(ss, size, rand.New(rand.NewSource(int64(trial))))
		want := batchesQuadratic(ss, size, rand.New(rand.NewSource(int64(trial))))
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("trial %d (n %d, size %d, %d positives): batches differ from the original", trial, n, size, positives)
		}
	}
}

// 200,000 samples, many sharing a positive: the quadratic version took
// minutes at this size.
func TestBatchesScaleLinearly(t *testing.T) {
	ss := make([]sample, 200_000)
	for i := range ss {
		ss[i] = sample{query: fmt.Sprint("q", i), pos: fmt.Sprint("d", i%150_000)}
	}
	start := time.Now()
	bs := batches(ss, 64, rand.New(rand.NewSource(1)))
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("batches of 200,000 samples took %v", d)
	}
	if len(bs) < 200_000/64 {
		t.Fatalf("%d batches", len(bs))
	}
}

func TestConfigValidate(t *testing.T) {
	cases := map[string]func(*Config){
		"epochs":     func(c *Config) { c.Epochs = 0 },
		"lr":         func(c *Config) { c.LR = -1 },
		"apply":      func(c *Config) { c.Apply = "docs" },
		"batch":      func(c *Config) { c.BatchSize = 0 },
		"dev":        func(c *Config) { c.DevFraction = 1 },
		"temp":       func(c *Config) { c.Temperature = 0 },
		"tiny τ":     func(c *Config) { c.Temperature = 1e-44 },
		"tiny τ_ent": func(c *Config) { c.EntropyTemperature = 1e-5 },
		"huge λ":     func(c *Config) { c.EntropyWeight = 1e300 },
	}
	for name, mutate := range cases {
		c := DefaultConfig()
		mutate(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: invalid config accepted", name)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
}

// The dev split is the seeded fraction of the queries, at most
// MaxDevQueries of them, and never overlaps training.
func TestSplitDevIsCapped(t *testing.T) {
	for _, tt := range []struct {
		n       int
		frac    float64
		wantDev int
	}{
		{809, 0.1, 80}, {10, 0.01, 1}, {1, 0.5, 0}, {100_000, 0.1, MaxDevQueries}, {20_000, 0, 0},
	} {
		qrels := eval.Qrels{}
		for i := range tt.n {
			qrels[fmt.Sprint("q", i)] = map[string]int{"d": 1}
		}
		train, dev := splitDev(qrels, tt.frac, 1)
		if len(dev) != tt.wantDev || len(train)+len(dev) != tt.n {
			t.Errorf("%d queries, fraction %g: %d dev, %d train; want %d dev", tt.n, tt.frac, len(dev), len(train), tt.wantDev)
		}
		for q := range dev {
			if _, ok := train[q]; ok {
				t.Fatalf("query %s in both splits", q)
			}
		}
	}
}

// A NaN embedding is no divergence: the run fails on it with no advice to
// change lr, entropy weight or temperature, which cannot help.
func TestTrainNonFiniteEmbeddingIsNotBlamedOnHyperparameters(t *testing.T) {
	set := syntheticSet(40, 2, 3, 7)
	for _, v := range set.QueryVecs {
		v[0] = float32(math.NaN())
	}
	cfg := testConfig()
	cfg.DevFraction = 0
	_, _, err := (&Trainer{Config: cfg}).Train(context.Background(), set)
	if !errors.Is(err, objective.ErrNonFinite) {
		t.Fatalf("err = %v, want objective.ErrNonFinite", err)
	}
	if errors.Is(err, ErrDiverged) || strings.Contains(err.Error(), "lower lr") || !strings.Contains(err.Error(), "embedding") {
		t.Fatalf("err = %v: a NaN embedding is blamed on the hyperparameters", err)
	}
}
