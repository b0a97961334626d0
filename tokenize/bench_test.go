package tokenize

import (
	"runtime"
	"strconv"
	"testing"

	"github.com/sugarme/tokenizer"
	"github.com/sugarme/tokenizer/pretrained"
)

// BenchmarkEncodeBatch reports texts/s for batches of 32 abstracts with the
// BERT tokenizer:
//   - corpus: one pass over 2000 distinct abstracts with a fresh (cold)
//     cache per iteration, the realistic case of indexing a corpus;
//   - warm: the same 32 texts again and again (every chunk cached);
//   - uncached: sugarme's pipeline per text, the floor without the cache;
//   - sugarme.EncodeBatch: the library's own goroutine-per-text batch
//     encoding, the baseline the worker pool was chosen against.
func BenchmarkEncodeBatch(b *testing.B) {
	const batch = 32
	corpus := abstracts(b, 2000)
	texts := corpus[:batch]
	perText := func(b *testing.B, n int) {
		b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "texts/s")
	}
	procs := runtime.GOMAXPROCS(0)
	for _, workers := range []int{1, procs} {
		w := "/workers=" + strconv.Itoa(workers)
		b.Run("corpus"+w, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				tok := loadBERT(b, withWorkers(workers))
				b.StartTimer()
				for i := 0; i < len(corpus); i += batch {
					if _, err := tok.EncodeBatch(corpus[i:min(i+batch, len(corpus))]); err != nil {
						b.Fatal(err)
					}
				}
			}
			perText(b, len(corpus))
		})
		b.Run("warm"+w, func(b *testing.B) {
			tok := loadBERT(b, withWorkers(workers))
			for b.Loop() {
				if _, err := tok.EncodeBatch(texts); err != nil {
					b.Fatal(err)
				}
			}
			perText(b, batch)
		})
		b.Run("uncached"+w, func(b *testing.B) {
			tok := loadBERT(b, withWorkers(workers), withoutCache())
			for b.Loop() {
				if _, err := tok.EncodeBatch(texts); err != nil {
					b.Fatal(err)
				}
			}
			perText(b, batch)
		})
	}
	b.Run("uncached/8callers/workers=1", func(b *testing.B) {
		tok := loadBERT(b, withWorkers(1), withoutCache())
		b.SetParallelism(max(1, 8/procs))
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := tok.EncodeBatch(texts); err != nil {
					b.Error(err)
					return
				}
			}
		})
		perText(b, batch)
	})
	b.Run("sugarme.EncodeBatch", func(b *testing.B) {
		tk, err := pretrained.FromFile(bertPath(b))
		if err != nil {
			b.Fatal(err)
		}
		tk.WithPadding(&tokenizer.PaddingParams{
			Strategy: *tokenizer.NewPaddingStrategy(tokenizer.WithBatchLongest()),
			// Explicit: the zero value is Left, whose sugarme code panics.
			Direction: tokenizer.Right,
			PadToken:  "[PAD]",
		})
		tk.WithTruncation(&tokenizer.TruncationParams{MaxLength: DefaultMaxLength, Strategy: tokenizer.LongestFirst})
		inputs := make([]tokenizer.EncodeInput, len(texts))
		for i, s := range texts {
			inputs[i] = tokenizer.NewSingleEncodeInput(tokenizer.NewInputSequence(s))
		}
		for b.Loop() {
			if _, err := tk.EncodeBatch(inputs, true); err != nil {
				b.Fatal(err)
			}
		}
		perText(b, batch)
	})
}
