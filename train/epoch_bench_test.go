package train

import (
	"context"
	"fmt"
	"math/rand"
	"testing"

	"retune/eval"
	"retune/internal/testenv"
	"retune/model"
	"retune/objective"
)

// sciFactShapedSet has SciFact's training shape: 809 judged queries (10%
// carved off for dev), one positive and 15 mined negatives each, a 5,183-doc
// corpus, d = 100.
func sciFactShapedSet() *Set {
	r := rand.New(rand.NewSource(1))
	vec := func() []float32 {
		v := make([]float32, 100)
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
		model.Normalize(v)
		return v
	}
	s := &Set{QueryVecs: map[string][]float32{}, DocVecs: map[string][]float32{}, Qrels: eval.Qrels{}, Negatives: map[string][]NegRef{}}
	for i := 0; i < 5183; i++ {
		id := fmt.Sprintf("d%d", i)
		s.DocVecs[id] = vec()
		s.CorpusIDs = append(s.CorpusIDs, id)
	}
	for i := 0; i < 809; i++ {
		q := fmt.Sprintf("q%d", i)
		s.QueryVecs[q] = vec()
		s.Qrels[q] = map[string]int{fmt.Sprintf("d%d", r.Intn(5183)): 1}
		for k := 0; k < 15; k++ {
			s.Negatives[q] = append(s.Negatives[q], NegRef{DocID: fmt.Sprintf("d%d", r.Intn(5183)), Source: objective.Mined})
		}
	}
	return s
}

// BenchmarkEpochSciFactShape times one training epoch (steps plus the dev
// evaluation that drives early stopping) at the batch size of 64
// and at the default of 32, with the matrix products on ONNX Runtime (what
// the binary installs) and on plain gonum.
func BenchmarkEpochSciFactShape(b *testing.B) {
	set := sciFactShapedSet()
	for _, backend := range []string{"ort", "gonum"} {
		for _, batch := range []int{64, 32} {
			b.Run(fmt.Sprintf("%s/batch%d", backend, batch), func(b *testing.B) {
				if backend == "ort" {
					testenv.UseMLAS(b)
				}
				cfg := DefaultConfig()
				cfg.BatchSize, cfg.Epochs, cfg.Patience = batch, b.N, b.N+1
				b.ResetTimer()
				if _, _, err := (&Trainer{Config: cfg}).Train(context.Background(), set); err != nil {
					b.Fatal(err)
				}
			})
		}
	}
}

// BenchmarkStepsSciFactShape times the optimisation steps of one epoch
// alone (batch 64, products on ONNX Runtime, no dev evaluation): the part
// a faster step touches.
func BenchmarkStepsSciFactShape(b *testing.B) {
	set := sciFactShapedSet()
	testenv.UseMLAS(b)
	cfg := DefaultConfig()
	cfg.BatchSize = 64
	bs := batches(set.samples(set.Qrels), cfg.BatchSize, rand.New(rand.NewSource(1)))
	head, err := model.NewHead(model.HeadConfig{DIn: 100, DOut: 100})
	if err != nil {
		b.Fatal(err)
	}
	sp := &stepper{}
	for b.Loop() {
		for _, batch := range bs {
			if _, _, err := sp.batchGrad(head, set, batch, cfg); err != nil {
				b.Fatal(err)
			}
		}
	}
}
