package tokenize

import (
	"runtime"
	"strconv"
	"testing"

	"github.com/sugarme/tokenizer"
	"github.com/sugarme/tokenizer/pretrained"
)

// paths are the ways EncodeBatch can encode a chunkable file: natively (the
// default where the native encoder covers the file) or through sugarme per
// chunk with the chunk cache (what it did before, and still does for other
// files).
var paths = []struct {
	name string
	opts []Option
}{
	{"native", nil},
	{"sugarme", []Option{withoutNative()}},
}

// BenchmarkEncodeBatch reports texts/s for batches of 32 synthetic
// abstracts with the BERT tokenizer:
//   - corpus: one pass over 2000 distinct abstracts with a freshly loaded
//     tokenizer (cold cache) per iteration, the realistic case of indexing
//     a corpus;
//   - warm: the same 32 texts again and again (every chunk cached);
//   - uncached: sugarme's pipeline per text, the floor without the cache;
//   - sugarme.EncodeBatch: the library's own goroutine-per-text batch
//     encoding, the baseline the worker pool was chosen against.
func BenchmarkEncodeBatch(b *testing.B) {
	const batch = 32
	corpus := abstracts(b, 2000)
	texts := corpus[:batch]
	procs := runtime.GOMAXPROCS(0)
	for _, workers := range []int{1, procs} {
		w := "/workers=" + strconv.Itoa(workers)
		for _, p := range paths {
			opts := append([]Option{withWorkers(workers)}, p.opts...)
			b.Run("corpus/"+p.name+w, func(b *testing.B) {
				benchPass(b, bertPath(b), opts, corpus)
			})
			b.Run("warm/"+p.name+w, func(b *testing.B) {
				tok := loadBERT(b, opts...)
				for b.Loop() {
					if _, err := tok.EncodeBatch(texts); err != nil {
						b.Fatal(err)
					}
				}
				reportTexts(b, batch)
			})
		}
		b.Run("uncached"+w, func(b *testing.B) {
			tok := loadBERT(b, withWorkers(workers), withoutNative(), withoutCache())
			for b.Loop() {
				if _, err := tok.EncodeBatch(texts); err != nil {
					b.Fatal(err)
				}
			}
			reportTexts(b, batch)
		})
	}
	b.Run("uncached/8callers/workers=1", func(b *testing.B) {
		tok := loadBERT(b, withWorkers(1), withoutNative(), withoutCache())
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
		reportTexts(b, batch)
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
		reportTexts(b, batch)
	})
}

// BenchmarkSciFact reports texts/s for the first pass over the 5,183
// SciFact abstracts in batches of 32, as `retune bench embed` feeds them,
// with the BERT and GloVe tokenizers on the native and sugarme paths.
func BenchmarkSciFact(b *testing.B) {
	docs := scifact(b)
	files := []struct {
		name string
		path func(testing.TB) string
	}{
		{"bert", bertPath},
		{"glove-100d", gloveFile},
	}
	for _, f := range files {
		for _, workers := range []int{1, runtime.GOMAXPROCS(0)} {
			for _, p := range paths {
				opts := append([]Option{withWorkers(workers)}, p.opts...)
				b.Run(f.name+"/"+p.name+"/workers="+strconv.Itoa(workers), func(b *testing.B) {
					benchPass(b, f.path(b), opts, docs)
				})
			}
		}
	}
}

// BenchmarkSciFactXLMR is BenchmarkSciFact's pass with the XLM-R-shaped
// file (xlmrLike): normalizer, added tokens and Unigram model retune's,
// Metaspace sugarme's.
func BenchmarkSciFactXLMR(b *testing.B) {
	docs := scifact(b)
	path := xlmrLike(b)
	for _, workers := range []int{1, runtime.GOMAXPROCS(0)} {
		b.Run("workers="+strconv.Itoa(workers), func(b *testing.B) {
			benchPass(b, path, []Option{withWorkers(workers)}, docs)
		})
	}
}

// benchPass encodes corpus once per iteration in batches of 32 with a
// freshly loaded tokenizer, so every pass starts with a cold cache.
func benchPass(b *testing.B, path string, opts []Option, corpus []string) {
	const batch = 32
	for b.Loop() {
		b.StopTimer()
		tok, err := Load(path, opts...)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		for i := 0; i < len(corpus); i += batch {
			if _, err := tok.EncodeBatch(corpus[i:min(i+batch, len(corpus))]); err != nil {
				b.Fatal(err)
			}
		}
	}
	reportTexts(b, len(corpus))
}

func reportTexts(b *testing.B, perIteration int) {
	b.ReportMetric(float64(b.N*perIteration)/b.Elapsed().Seconds(), "texts/s")
}

// BenchmarkLoad times Load on the BERT and glove-100d (341k words) files.
func BenchmarkLoad(b *testing.B) {
	for _, f := range []struct {
		name string
		path func(testing.TB) string
	}{{"bert", bertPath}, {"glove-100d", gloveFile}} {
		b.Run(f.name, func(b *testing.B) {
			path := f.path(b)
			for b.Loop() {
				if _, err := Load(path); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
