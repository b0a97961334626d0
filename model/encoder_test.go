package model_test

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"retune/internal/testenv"
	"retune/model"
	"retune/models"
)

func cos(a, b []float32) float64 {
	var d, na, nb float64
	for i := range a {
		d += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	return d / math.Sqrt(na*nb)
}

func maxAbs(a, b []float32) float64 {
	m := 0.0
	for i := range a {
		m = math.Max(m, math.Abs(float64(a[i]-b[i])))
	}
	return m
}

func TestGloveSemanticOrder(t *testing.T) {
	enc := testenv.OpenEncoder(t, testenv.Glove(t))
	v, err := enc.Embed(context.Background(), []string{
		"The dog is running in the park", "A dog runs through the park", "I love eating pizza for dinner"})
	if err != nil {
		t.Fatal(err)
	}
	near, far := cos(v[0], v[1]), cos(v[0], v[2])
	if near <= far {
		t.Fatalf("cos(dog, dog) %.3f should exceed cos(dog, pizza) %.3f", near, far)
	}
	if enc.Dim() != 100 {
		t.Fatalf("dim %d, want 100", enc.Dim())
	}
}

func TestGloveUnknownWordsGiveZeroVectorNotNaN(t *testing.T) {
	enc := testenv.OpenEncoder(t, testenv.Glove(t))
	before := enc.ZeroVectors()
	v, err := enc.Embed(context.Background(), []string{"qqzxv wwkrrp", "the dog"})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range v[0] {
		if x != 0 {
			t.Fatalf("text of unknown words: want the zero vector, got %v", v[0][:4])
		}
	}
	if enc.ZeroVectors()-before != 1 {
		t.Fatalf("zero-vector count rose by %d, want 1", enc.ZeroVectors()-before)
	}
	// Unknown words add nothing: "the dog qqzxv" embeds like "the dog".
	w, err := enc.Embed(context.Background(), []string{"the dog qqzxv"})
	if err != nil {
		t.Fatal(err)
	}
	if d := maxAbs(v[1], w[0]); d > 1e-6 {
		t.Fatalf("unknown word changed the embedding by %g", d)
	}
}

func TestEncoderRejectsBadTextsWithTheirIndex(t *testing.T) {
	enc := testenv.OpenEncoder(t, testenv.Glove(t))
	cases := []struct {
		texts []string
		want  string
	}{
		{[]string{"fine", "  "}, "text 1 is empty"},
		{[]string{"fine", "ok", "bad \xff byte"}, "text 2 is not valid UTF-8"},
		{[]string{""}, "text 0 is empty"},
	}
	for _, c := range cases {
		_, err := enc.Embed(context.Background(), c.texts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: err %v, want %q", c.texts, err, c.want)
		}
	}
}

// Texts are sorted by length inside Embed; results must come back in input order.
func TestEncoderKeepsOrderAcrossBatches(t *testing.T) {
	enc := testenv.OpenEncoder(t, testenv.Glove(t), model.WithBatchSize(3))
	texts := []string{"a very long sentence about proteins and genes in cells", "cat", "dogs bark loudly", "the sun", "rain falls on the green hills today", "blue"}
	all, err := enc.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	for i, txt := range texts {
		one, err := enc.Embed(context.Background(), []string{txt})
		if err != nil {
			t.Fatal(err)
		}
		if d := maxAbs(all[i], one[0]); d > 1e-6 {
			t.Fatalf("text %d differs by %g between batched and single", i, d)
		}
	}
}

func TestEncoderConcurrentCallers(t *testing.T) {
	enc := testenv.OpenEncoder(t, testenv.Glove(t), model.WithBatchSize(4))
	texts := []string{"alpha beta", "gamma delta epsilon", "proteins fold", "cells divide quickly", "the park"}
	want, err := enc.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < 10; r++ {
				got, err := enc.Embed(context.Background(), texts)
				if err != nil {
					errs <- err
					return
				}
				for i := range got {
					if maxAbs(got[i], want[i]) > 1e-6 {
						errs <- errMismatch
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// A server that stops with requests still running closes its encoders:
// Close waits for the forward passes under way, and the ones after it fail
// with ErrClosed instead of running on a freed session.
func TestEncoderCloseWhileCallersEmbed(t *testing.T) {
	enc := testenv.OpenEncoder(t, testenv.Glove(t), model.WithBatchSize(2))
	texts := []string{"alpha beta", "gamma delta epsilon", "proteins fold", "cells divide quickly", "the park"}
	started := make(chan struct{}, 4)
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			for r := 0; ; r++ {
				if r == 1 {
					started <- struct{}{}
				}
				if _, err := enc.Embed(context.Background(), texts); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for range 4 {
		<-started
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		if err := <-errs; !errors.Is(err, model.ErrClosed) {
			t.Fatalf("embedding after Close: %v, want ErrClosed", err)
		}
	}
}

var errMismatch = &mismatchError{}

type mismatchError struct{}

func (*mismatchError) Error() string { return "concurrent result differs from sequential" }

// The BERT fixture exercises the transformer path: three inputs, each
// pooling mode over the attention mask, and padding that must not change a
// text's vector. The modes give different vectors of one text, so the
// setting reaches the pooling.
func TestBERTFixturePaddingInvariant(t *testing.T) {
	var first [][]float32
	for _, pooling := range models.PoolingModes {
		t.Run(pooling, func(t *testing.T) {
			dir := testenv.TinyBERT(t)
			if pooling != models.PoolingMean { // the fixture's own
				dir = testenv.TinyBERTPooled(t, pooling)
			}
			v := checkPaddingInvariant(t, testenv.OpenEncoder(t, dir))
			for i, w := range first {
				// Normalised, mean_sqrt_len is mean's direction: they differ
				// in scale only, which normalisation removes.
				if pair := pooling + "/" + models.PoolingModes[i]; pair == models.PoolingMeanSqrtLen+"/"+models.PoolingMean {
					continue
				}
				if maxAbs(v, w) < 1e-4 {
					t.Errorf("%s pooling gives %s's vector", pooling, models.PoolingModes[i])
				}
			}
			first = append(first, v)
		})
	}
}

// A model taking position_ids (as decoder exports do) is fed each row's
// positions: the fixture's twin with a position_ids input embeds exactly as
// the fixture computing them inside, padded batches included.
func TestPositionIDsInput(t *testing.T) {
	texts := []string{"hello world", "a considerably longer sentence that pads the others in its batch", "x"}
	sameVectors(t, "position_ids fed vs computed", texts,
		testenv.OpenEncoder(t, testenv.TinyBERT(t)), testenv.OpenEncoder(t, testenv.TinyBERTPositionIDs(t)))
	// Padded on the left, as decoder embedders' tokenizers do, a text's
	// real tokens still get positions 0, 1, ...: each pooling over them
	// gives the right-padded fixture's vector.
	for _, pooling := range []string{models.PoolingMean, models.PoolingMax, models.PoolingLastToken} {
		left := testenv.OpenEncoder(t, testenv.LeftPadded(t, testenv.TinyBERTPositionIDs(t), "left-"+pooling, pooling))
		if b, err := left.Tokenizer().EncodeBatch(texts); err != nil || b.Mask[0] != 0 {
			t.Fatalf("the left-padding copy does not pad the short text on the left: %v", err)
		}
		sameVectors(t, pooling+" pooling, left-padded with position_ids vs right-padded", texts,
			testenv.OpenEncoder(t, testenv.TinyBERTPooled(t, pooling)), left)
	}
}

// sameVectors checks that two encoders embed texts alike (within 1e-5).
func sameVectors(t *testing.T, what string, texts []string, a, b *model.Encoder) {
	t.Helper()
	want, err := a.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range texts {
		if d := maxAbs(got[i], want[i]); d > 1e-5 {
			t.Errorf("%s, text %d: vectors differ by %g", what, i, d)
		}
	}
}

// checkPaddingInvariant checks a short text embeds alike alone and padded
// beside a long one, and returns its vector.
func checkPaddingInvariant(t *testing.T, enc *model.Encoder) []float32 {
	short := "hello world"
	long := "a considerably longer sentence that forces padding of the short one in the same batch"
	batch, err := enc.Embed(context.Background(), []string{short, long})
	if err != nil {
		t.Fatal(err)
	}
	alone, err := enc.Embed(context.Background(), []string{short})
	if err != nil {
		t.Fatal(err)
	}
	if d := maxAbs(batch[0], alone[0]); d > 1e-5 {
		t.Fatalf("padded vs alone differ by %g (> 1e-5)", d)
	}
	if cos(batch[0], batch[1]) > 0.99999 {
		t.Fatal("different texts gave the same embedding: inputs are not reaching the model")
	}
	var n float64
	for _, x := range batch[1] {
		n += float64(x) * float64(x)
	}
	if math.Abs(n-1) > 1e-5 {
		t.Fatalf("embedding norm² %g, want 1", n)
	}
	return alone[0]
}

func TestRegistryRejectsUnknownAndTraversal(t *testing.T) {
	testenv.InitORT(t)
	reg := model.NewRegistry(testenv.ModelsRoot(t))
	defer reg.Close()
	for _, name := range []string{"no-such-model", "../models", "glove-100d/../x", ""} {
		if _, err := reg.Get(context.Background(), name); err == nil {
			t.Errorf("%q: want ErrUnknownModel", name)
		}
	}
	names, err := reg.List()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, n := range names {
		found = found || n == "glove-100d"
	}
	if !found {
		t.Fatalf("List %v lacks glove-100d", names)
	}
}

// TestGloveEqualsMeanOfSourceVectors checks the whole encoder (tokenizer,
// ONNX graph, pooling, normalisation) against vectors read straight from the
// npm package's JSON: the embedding is the normalised mean of the words'
// vectors, with punctuation and unknown words contributing nothing.
func TestGloveEqualsMeanOfSourceVectors(t *testing.T) {
	tgz := models.GloveTarball(testenv.ModelsRoot(t))
	enc := testenv.OpenEncoder(t, testenv.Glove(t))
	cases := []struct {
		text  string
		words []string
	}{
		{"The dog is running in the park.", []string{"the", "dog", "is", "running", "in", "the", "park"}},
		{"Protein folding (in cells) qqzxvw!", []string{"protein", "folding", "in", "cells"}},
		{"Café au lait", []string{"cafe", "au", "lait"}},
	}
	for _, c := range cases {
		src, err := models.GloveSourceVectors(tgz, 100, c.words...)
		if err != nil {
			t.Fatal(err)
		}
		want := make([]float32, 100)
		for _, w := range c.words {
			for i, x := range src[w].Vec {
				want[i] += x / float32(len(c.words))
			}
		}
		model.Normalize(want)
		got, err := enc.Embed(context.Background(), []string{c.text})
		if err != nil {
			t.Fatal(err)
		}
		if d := maxAbs(got[0], want); d >= 1e-5 {
			t.Errorf("%q: max abs diff %g from the mean of the source vectors", c.text, d)
		}
	}
}

// An encoder folder that is a symlink is listed (and so accepted by jobs
// and collections) like any other; a symlink to a file, or a dangling one,
// is not.
func TestRegistryListsSymlinkedEncoders(t *testing.T) {
	root := t.TempDir()
	target := filepath.Join(t.TempDir(), "target")
	if err := os.MkdirAll(target, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(target, models.ModelFile), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(root, "file"), []byte("x"), 0o644)
	for name, target := range map[string]string{"linked": target, "to-file": filepath.Join(root, "file"), "dangling": filepath.Join(root, "nope")} {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	names, err := model.NewRegistry(root).List()
	if err != nil || !slices.Equal(names, []string{"linked"}) {
		t.Errorf("List = %v, %v; want [linked]", names, err)
	}
}
