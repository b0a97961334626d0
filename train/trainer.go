package train

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"time"

	"retune/eval"
	"retune/model"
	"retune/objective"
)

// Event is one progress report: per step ("step") and per epoch ("epoch").
// The service streams these to clients as they happen.
type Event struct {
	Kind   string `json:"kind"` // "step" or "epoch"
	Epoch  int    `json:"epoch"`
	Epochs int    `json:"epochs"`
	Step   int    `json:"step,omitempty"`
	Steps  int    `json:"steps,omitempty"`
	LossParts
	Dev      eval.Metrics `json:"dev,omitempty"`
	Best     bool         `json:"best,omitempty"`
	ElapsedS float64      `json:"elapsed_s"`
	ETAS     float64      `json:"eta_s"`
}

// LossParts are the objective's values for one step, or their mean over an
// epoch's steps (see objective.Result for what each means).
type LossParts struct {
	Loss       float64 `json:"loss"`
	InfoNCE    float64 `json:"infonce"`
	Entropy    float64 `json:"entropy"`
	HGen       float64 `json:"h_gen"`
	PGen       float64 `json:"p_gen"`
	PGenTarget float64 `json:"p_gen_target"`
}

func lossParts(r objective.Result) LossParts {
	return LossParts{Loss: r.Loss, InfoNCE: r.InfoNCE, Entropy: r.Entropy, HGen: r.HGen, PGen: r.PGen, PGenTarget: r.PGenTarget}
}

// add accumulates o into p; scale(1/n) then makes the sum a mean.
func (p *LossParts) add(o LossParts) {
	p.Loss += o.Loss
	p.InfoNCE += o.InfoNCE
	p.Entropy += o.Entropy
	p.HGen += o.HGen
	p.PGen += o.PGen
	p.PGenTarget += o.PGenTarget
}

func (p LossParts) scale(f float64) LossParts {
	return LossParts{Loss: p.Loss * f, InfoNCE: p.InfoNCE * f, Entropy: p.Entropy * f, HGen: p.HGen * f, PGen: p.PGen * f, PGenTarget: p.PGenTarget * f}
}

// Report summarises a training run.
type Report struct {
	EpochsRun    int          `json:"epochs_run"`
	BestEpoch    int          `json:"best_epoch"` // 0 = the initial (identity) head was never beaten
	DevBase      eval.Metrics `json:"dev_base"`
	DevBest      eval.Metrics `json:"dev_best"`
	StoppedEarly bool         `json:"stopped_early"`
	TrainPairs   int          `json:"train_pairs"`
	DevQueries   int          `json:"dev_queries"`
	EpochSeconds []float64    `json:"epoch_seconds"`          // the epochs this attempt ran: after ResumedFrom
	ResumedFrom  int          `json:"resumed_from,omitempty"` // the checkpoint's epoch a resumed attempt started from
}

// devMetric drives early stopping and best-epoch selection.
const devMetric = "ndcg@10"

// Trainer trains a projection head on a Set.
type Trainer struct {
	Config        Config
	Progress      func(Event) // optional; called synchronously
	CheckpointDir string      // optional; enables resume
	// CheckpointEvery is the shortest time between two checkpoint writes;
	// 0 writes one after every epoch. An epoch that ends sooner is written
	// with a later one, or when Train returns, including on cancellation.
	CheckpointEvery time.Duration
	// Warn, optional, is told when checkpoint writes start failing and when
	// they work again: the run goes on without them (see checkpointer).
	Warn func(note string)
}

// Train runs epochs until Config.Epochs or early stopping and returns the
// head of the best dev epoch. With a CheckpointDir it resumes a run that was
// interrupted and saves checkpoints as it goes (see CheckpointEvery).
func (t *Trainer) Train(ctx context.Context, set *Set) (best *model.Head, rep Report, err error) {
	cfg := t.Config
	if err := cfg.Validate(); err != nil {
		return nil, Report{}, err
	}
	if err := set.validate(); err != nil {
		return nil, Report{}, err
	}
	trainQrels, devQrels := splitDev(set.Qrels, cfg.DevFraction, cfg.Seed)
	pairs := set.samples(trainQrels)
	if len(pairs) == 0 {
		return nil, Report{}, errors.New("no training pairs: no query judged relevant to a document (score > 0) has both its own and that document's embedding")
	}
	head, err := model.NewHead(model.HeadConfig{DIn: set.Dim(), DOut: set.Dim(), Bias: cfg.Bias, Rank: cfg.Rank, Apply: cfg.Apply, Seed: cfg.Seed})
	if err != nil {
		return nil, Report{}, err
	}
	opt := NewAdamW(len(head.Params()), cfg.LR, cfg.WeightDecay)
	dev := func(h *model.Head) (eval.Metrics, error) {
		if len(devQrels) == 0 {
			return nil, nil // not measured: null in reports, not an empty object
		}
		corpus, err := set.searchCorpus()
		if err != nil {
			return nil, err
		}
		return Evaluate(h, set.QueryVecs, corpus, devQrels)
	}

	rep = Report{TrainPairs: len(pairs), DevQueries: len(devQrels)}
	st := state{Best: head.Clone()}
	if rep.DevBase, err = dev(head); err != nil {
		return nil, rep, err
	}
	st.BestScore = rep.DevBase[devMetric]
	if t.CheckpointDir != "" {
		if ok, err := loadCheckpoint(t.CheckpointDir, head, opt, &st); err != nil {
			return nil, rep, err
		} else if ok {
			rep.ResumedFrom = st.Epoch
		}
	}

	ck := &checkpointer{dir: t.CheckpointDir, interval: t.CheckpointEvery, warn: t.Warn, onDisk: st.Epoch}
	// The last completed epoch reaches disk however the run ends (when the
	// disk lets it).
	defer ck.flush()
	sp := &stepper{}
	start := time.Now()
	stepsPerEpoch := len(batches(pairs, cfg.BatchSize, rand.New(rand.NewSource(0))))
	for epoch := st.Epoch + 1; epoch <= cfg.Epochs; epoch++ {
		// Patience p stops after p epochs in a row without a dev gain (the
		// first one for p = 0), checked here so a resumed run honours it too.
		if len(devQrels) > 0 && st.BadEpochs > 0 && st.BadEpochs >= cfg.Patience {
			rep.StoppedEarly = true
			break
		}
		epochStart := time.Now()
		// Seeding per epoch makes a resumed run identical to an uninterrupted one.
		rng := rand.New(rand.NewSource(cfg.Seed*1_000_003 + int64(epoch)))
		var sum LossParts
		bs := batches(pairs, cfg.BatchSize, rng)
		for i, b := range bs {
			if err := ctx.Err(); err != nil {
				return nil, rep, err
			}
			res, err := sp.step(head, opt, set, b, cfg)
			switch {
			case errors.Is(err, ErrDiverged):
				err = fmt.Errorf("%w (a lower lr or entropy weight, or a higher temperature, may keep it finite)", err)
			case errors.Is(err, objective.ErrNonFinite):
				// step applies finite updates only, so the head is finite and
				// its output is not because an input is: no setting helps.
				err = fmt.Errorf("%w (an embedding of the training texts is NaN or infinite: the encoder's output is at fault, not the hyperparameters)", err)
			}
			if err != nil {
				return nil, rep, fmt.Errorf("epoch %d step %d: %w", epoch, i+1, err)
			}
			parts := lossParts(res)
			sum.add(parts)
			if t.Progress != nil {
				done := float64((epoch-st.Epoch-1)*len(bs) + i + 1)
				left := float64((cfg.Epochs-epoch)*stepsPerEpoch + len(bs) - i - 1)
				el := time.Since(start).Seconds()
				t.Progress(Event{Kind: "step", Epoch: epoch, Epochs: cfg.Epochs, Step: i + 1, Steps: len(bs),
					LossParts: parts, ElapsedS: el, ETAS: el / done * left})
			}
		}
		m, err := dev(head)
		if err != nil {
			return nil, rep, err
		}
		st.Epoch = epoch
		ev := Event{Kind: "epoch", Epoch: epoch, Epochs: cfg.Epochs, Dev: m, LossParts: sum.scale(1 / float64(len(bs)))}
		if len(devQrels) == 0 || m[devMetric] > st.BestScore {
			st.Best, st.BestScore, st.BestEpoch, st.BadEpochs = head.Clone(), m[devMetric], epoch, 0
			ev.Best = true
		} else {
			st.BadEpochs++
		}
		st.History = append(st.History, ev)
		rep.EpochSeconds = append(rep.EpochSeconds, time.Since(epochStart).Seconds())
		if err := ck.epochDone(head, opt, &st); err != nil {
			return nil, rep, err
		}
		if t.Progress != nil {
			el := time.Since(start).Seconds()
			ev.ElapsedS = el
			ev.ETAS = el / float64(epoch-rep.ResumedFrom) * float64(cfg.Epochs-epoch)
			t.Progress(ev)
		}
	}
	rep.EpochsRun = st.Epoch
	rep.BestEpoch = st.BestEpoch
	rep.DevBest = rep.DevBase
	for _, ev := range st.History {
		if ev.Epoch == st.BestEpoch {
			rep.DevBest = ev.Dev
		}
	}
	return st.Best, rep, nil
}
