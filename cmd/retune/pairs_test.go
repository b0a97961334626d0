package main

import (
	"encoding/json"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"retune/dataset"
	"retune/internal/testenv"
	"retune/model"
)

func TestDataFlagsCheck(t *testing.T) {
	tests := []struct {
		args []string
		want string // "" = accepted
	}{
		{[]string{"--beir", "b"}, ""},
		{[]string{"--pairs", "p", "--test-pairs", "t"}, ""},
		{[]string{"--beir", "b", "--split", "dev"}, ""},
		{nil, "name the data with --beir FOLDER or --pairs FILE"},
		{[]string{"--beir", "b", "--pairs", "p"}, "give one"},
		{[]string{"--beir", "b", "--test-pairs", "t"}, "--test-pairs goes with --pairs"},
		{[]string{"--pairs", "p", "--split", "dev"}, "--split names a qrels file"},
		{[]string{"--pairs", "p", "--test-split", "dev"}, "--test-split names a qrels file"},
		{[]string{"--pairs", "nope"}, "--pairs nope: no such file"},
		{[]string{"--pairs", "p", "--test-pairs", "nope"}, "--test-pairs nope: no such file"},
		{[]string{"--pairs", "."}, "--pairs . is a folder"},
	}
	t.Chdir(t.TempDir()) // where the pairs files p and t are
	for _, name := range []string{"p", "t"} {
		if err := os.WriteFile(name, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range tests {
		fs := flag.NewFlagSet("train", flag.ContinueOnError)
		var df dataFlags
		df.register(fs, "", true)
		fs.String("split", "train", "")
		fs.String("test-split", "test", "")
		if err := fs.Parse(tt.args); err != nil {
			t.Fatal(err)
		}
		err := df.check(fs, "split", "test-split")
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%q: %v", tt.args, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want) || !errors.As(err, new(usageError))):
			t.Errorf("%q: err %v, want a usage error containing %q", tt.args, err, tt.want)
		}
	}
}

// writePairs writes a split of SciFact as FlagEmbedding lines: each query
// with its relevant abstracts, and the first withNegs of them with one
// abstract that is not. It returns the number of distinct query texts
// (SciFact repeats a few).
func writePairs(t *testing.T, path string, data *dataset.BEIR, split string, n, withNegs int) int {
	t.Helper()
	queries, qrels, err := data.Split(split)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	enc := json.NewEncoder(f)
	distinct := map[string]bool{}
	for i, q := range queries[:n] {
		distinct[q.Text] = true
		line := map[string]any{"query": q.Text}
		var pos []string
		for id, score := range qrels[q.ID] {
			if d, ok := data.Doc(id); ok && score > 0 {
				pos = append(pos, d.Content())
			}
		}
		line["pos"] = pos
		if i < withNegs {
			for _, d := range data.Corpus {
				if _, rel := qrels[q.ID][d.ID]; !rel {
					line["neg"] = []string{d.Content()}
					break
				}
			}
		}
		if err := enc.Encode(line); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return len(distinct)
}

// train and eval read JSONL pairs: the passages become the corpus, the
// held-out pairs give the test metrics, and the pairs' own negatives stand
// in for mined ones.
func TestTrainAndEvalOnPairs(t *testing.T) {
	data := testenv.SciFact(t, "train", "test")
	testenv.Glove(t)
	dir := t.TempDir()
	trainFile, testFile := filepath.Join(dir, "train.jsonl"), filepath.Join(dir, "test.jsonl")
	nTrain := writePairs(t, trainFile, data, "train", 200, 200)
	nTest := writePairs(t, testFile, data, "test", 60, 0)
	common := []string{"--models", testenv.ModelsRoot(t), "--cache", filepath.Join(dir, "cache")}
	head := filepath.Join(dir, "head")

	var err error
	out := stdout(t, func() {
		err = runTrain(t.Context(), append([]string{"--pairs", trainFile, "--test-pairs", testFile, "--out", head, "--epochs", "3",
			"--work", filepath.Join(dir, "work")}, common...))
	})
	if err != nil {
		t.Fatal(err)
	}
	// The negatives stage is kept for a resumed run, as mining's is: with
	// pairs, queries that came without negatives are mined in it.
	if _, err := os.Stat(filepath.Join(dir, "work", "mined.json")); err != nil {
		t.Errorf("the negatives stage was not kept in --work: %v", err)
	}
	type result struct {
		TestSplit   string `json:"test_split"`
		TestQueries int    `json:"test_queries"`
		Base, Tuned map[string]float64
		Mining      struct {
			Provided           bool
			Queries, Negatives int
		}
	}
	var res result
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if res.TestSplit != "test" || res.TestQueries != nTest || res.Base["ndcg@10"] <= 0 || res.Tuned["ndcg@10"] <= 0 {
		t.Fatalf("train --pairs --test-pairs: %s", out)
	}
	if !res.Mining.Provided || res.Mining.Queries != nTrain || res.Mining.Negatives != nTrain {
		t.Fatalf("the pairs' negatives were not used in place of mined ones: %+v", res.Mining)
	}

	out = stdout(t, func() {
		err = runEval(t.Context(), append([]string{"--pairs", testFile, "--head", head}, common...))
	})
	if err != nil {
		t.Fatal(err)
	}
	var ev struct {
		Queries int
		Metrics map[string]float64
	}
	if err := json.Unmarshal([]byte(out), &ev); err != nil || ev.Queries != nTest || ev.Metrics["ndcg@10"] <= 0 {
		t.Fatalf("eval --pairs: %v %s", err, out)
	}

	// embed --head outputs the head's projection of what embed outputs.
	models := []string{"--models", testenv.ModelsRoot(t)}
	base, tuned := embedWith(t, models), embedWith(t, append([]string{"--head", head}, models...))
	h, _, err := model.LoadHead(head)
	if err != nil {
		t.Fatal(err)
	}
	want := h.ProjectBatch(base)
	for i := range want {
		for j := range want[i] {
			if math.Abs(float64(want[i][j]-tuned[i][j])) > 1e-6 {
				t.Fatalf("embed --head, text %d dim %d: %v, want %v", i, j, tuned[i][j], want[i][j])
			}
		}
	}
	if slices.Equal(base[0], tuned[0]) {
		t.Fatal("embed --head output the base embedding")
	}

	// Without held-out pairs there is nothing to report on; the head is
	// still trained (on mined negatives, the file having none).
	noNegs := filepath.Join(dir, "plain.jsonl")
	writePairs(t, noNegs, data, "train", 100, 0)
	out = stdout(t, func() {
		err = runTrain(t.Context(), append([]string{"--pairs", noNegs, "--out", head, "--force", "--epochs", "2"}, common...))
	})
	if err != nil {
		t.Fatal(err)
	}
	res = result{TestQueries: -1}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.TestQueries != 0 || res.TestSplit != "" || res.Mining.Provided || res.Mining.Negatives == 0 {
		t.Fatalf("train --pairs alone: %v %s", err, out)
	}
}

// embedWith runs retune embed with args on two texts and returns their
// embeddings.
func embedWith(t *testing.T, args []string) [][]float32 {
	t.Helper()
	in := filepath.Join(t.TempDir(), "in.txt")
	if err := os.WriteFile(in, []byte("vitamin D deficiency\nthe cell cycle in cancer\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	orig := os.Stdin
	os.Stdin = f
	defer func() { os.Stdin = orig }()
	var runErr error
	out := stdout(t, func() { runErr = runEmbed(t.Context(), args) })
	if runErr != nil {
		t.Fatal(runErr)
	}
	var vecs [][]float32
	for line := range strings.Lines(out) {
		var row struct{ Embedding []float32 }
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		vecs = append(vecs, row.Embedding)
	}
	if len(vecs) != 2 {
		t.Fatalf("embed wrote %d lines: %s", len(vecs), out)
	}
	return vecs
}

// Queries the pairs give no negative are mined for, not left with in-batch
// negatives only.
func TestTrainPairsMinesWhereNoNegativeIsGiven(t *testing.T) {
	data := testenv.SciFact(t, "train")
	testenv.Glove(t)
	dir := t.TempDir()
	half := filepath.Join(dir, "half.jsonl")
	n := writePairs(t, half, data, "train", 100, 50)
	var err error
	out := stdout(t, func() {
		err = runTrain(t.Context(), []string{"--pairs", half, "--out", filepath.Join(dir, "head"), "--epochs", "1",
			"--models", testenv.ModelsRoot(t), "--cache", filepath.Join(dir, "cache")})
	})
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Mining struct {
			Provided           bool
			Queries, Negatives int
			MinedQueries       int `json:"mined_queries"`
			MinedNegatives     int `json:"mined_negatives"`
		}
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	m := res.Mining
	given := 50 - (100 - n) // repeated query texts merge (SciFact has a few)
	if !m.Provided || m.Queries != n || m.MinedQueries < n-50 || m.MinedQueries > n-given ||
		m.Negatives != m.MinedNegatives+(n-m.MinedQueries) || m.MinedNegatives < m.MinedQueries {
		t.Fatalf("mining report %+v for %d queries, 50 lines with a negative", m, n)
	}
}

func TestTrainPairsErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.jsonl")
	if err := os.WriteFile(bad, []byte(`{"query": "q", "pos": ["p"]}`+"\n"+`{"query": "", "pos": ["p"]}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := runTrain(t.Context(), []string{"--pairs", bad, "--out", filepath.Join(dir, "head"), "--models", testenv.ModelsRoot(t)})
	if err == nil || !strings.Contains(err.Error(), bad+": line 2: empty \"query\"") {
		t.Fatalf("err %v, want the file and line named", err)
	}
	if _, serr := os.Stat(filepath.Join(dir, "head")); !errors.Is(serr, os.ErrNotExist) {
		t.Fatalf("a failed run left --out behind: %v", serr)
	}
}

// A BEIR folder without the default test split trains without held-out
// metrics (as a job does); a split named on the command line must exist.
func TestBEIRSplitChecks(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "qrels"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"train", "dev"} {
		if err := os.WriteFile(filepath.Join(dir, "qrels", name+".tsv"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		args           []string
		train, test    string // after the checks
		wantUsageError string
	}{
		{nil, "train", "", ""},
		{[]string{"--test-split", "dev"}, "train", "dev", ""},
		{[]string{"--test-split", "test"}, "", "", "--test-split test: " + dir + " has no qrels/test.tsv (its splits: dev, train)"},
		{[]string{"--split", "all"}, "", "", "--split all: " + dir + " has no qrels/all.tsv"},
	}
	for _, tt := range tests {
		fs := flag.NewFlagSet("train", flag.ContinueOnError)
		train, test := fs.String("split", "train", ""), fs.String("test-split", "test", "")
		if err := fs.Parse(tt.args); err != nil {
			t.Fatal(err)
		}
		df := dataFlags{beir: dir}
		err := df.beirSplit(fs, "split", train, false)
		if err == nil {
			err = df.beirSplit(fs, "test-split", test, true)
		}
		switch {
		case tt.wantUsageError != "":
			if !errors.As(err, new(usageError)) || !strings.Contains(err.Error(), tt.wantUsageError) {
				t.Errorf("%q: %v, want a usage error containing %q", tt.args, err, tt.wantUsageError)
			}
		case err != nil || *train != tt.train || *test != tt.test:
			t.Errorf("%q: splits %q/%q (%v), want %q/%q", tt.args, *train, *test, err, tt.train, tt.test)
		}
	}
}

// embed --head opens the encoder the head was trained on unless told
// otherwise, and an explicit other encoder is refused with the fix named.
func TestEmbedHeadUsesItsEncoder(t *testing.T) {
	encDir := testenv.TinyBERT(t)
	sum, err := model.EncoderChecksum(encDir)
	if err != nil {
		t.Fatal(err)
	}
	h, err := model.NewHead(model.HeadConfig{DIn: 32, DOut: 8})
	if err != nil {
		t.Fatal(err)
	}
	head := filepath.Join(t.TempDir(), "head")
	if err := h.Save(head, model.HeadMeta{Encoder: filepath.Base(encDir), EncoderChecksum: sum}); err != nil {
		t.Fatal(err)
	}
	models := []string{"--models", filepath.Dir(encDir)}
	if vecs := embedWith(t, append([]string{"--head", head}, models...)); len(vecs[0]) != 8 {
		t.Fatalf("embed --head: %d-dim vectors, want the head's 8", len(vecs[0]))
	}
	testenv.Glove(t)
	err = runEmbed(t.Context(), []string{"--head", head, "--model", "glove-100d", "--models", testenv.ModelsRoot(t)})
	if err == nil || !strings.Contains(err.Error(), `the head was trained on "bert-tiny-fixture": leave out --model and --onnx, or pass --model bert-tiny-fixture`) {
		t.Fatalf("embed --head with another encoder: %v", err)
	}
}

// embed --head with a query-only head says its vectors are query
// embeddings (a user embedding documents through it gets vectors the
// head was never meant to give them); a shared head says nothing.
func TestEmbedQueryHeadNotes(t *testing.T) {
	encDir := testenv.TinyBERT(t)
	sum, err := model.EncoderChecksum(encDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, apply := range []string{model.ApplyQuery, model.ApplyShared} {
		h, err := model.NewHead(model.HeadConfig{DIn: 32, DOut: 32, Apply: apply})
		if err != nil {
			t.Fatal(err)
		}
		head := filepath.Join(t.TempDir(), "head")
		if err := h.Save(head, model.HeadMeta{Encoder: filepath.Base(encDir), EncoderChecksum: sum}); err != nil {
			t.Fatal(err)
		}
		errOut := capture(t, &os.Stderr, func() { embedWith(t, []string{"--head", head, "--models", filepath.Dir(encDir)}) })
		if noted := strings.Contains(errOut, "the head projects queries only (apply query): these are query embeddings; embed documents without --head"); noted != (apply == model.ApplyQuery) {
			t.Errorf("apply %s: stderr %q", apply, errOut)
		}
	}
}

// An encoder name not installed is a command line to correct (exit 2), as
// a --beir folder that is not there.
func TestUnknownEncoderIsAUsageError(t *testing.T) {
	err := runEmbed(t.Context(), []string{"--model", "nosuch", "--models", testenv.ModelsRoot(t)})
	if !errors.As(err, new(usageError)) || !strings.Contains(err.Error(), `model "nosuch" not found`) {
		t.Fatalf("err %v, want a usage error naming the encoder", err)
	}
	// The encoder a --head records is not the command line's to correct.
	h, err := model.NewHead(model.HeadConfig{DIn: 8, DOut: 8})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := h.Save(dir, model.HeadMeta{Encoder: "nosuch"}); err != nil {
		t.Fatal(err)
	}
	err = runEmbed(t.Context(), []string{"--head", dir, "--models", testenv.ModelsRoot(t)})
	if err == nil || errors.As(err, new(usageError)) || !strings.Contains(err.Error(), `the head's encoder: model "nosuch" not found`) {
		t.Fatalf("err %v, want a failure (not a usage error) naming the head's encoder", err)
	}
}

// serve --preload naming an encoder not installed stops before serving: a
// typo there would otherwise only be a line in the log.
func TestServePreloadOfNoEncoder(t *testing.T) {
	err := runServe(t.Context(), []string{"--addr", "127.0.0.1:0", "--data", t.TempDir(), "--models", testenv.ModelsRoot(t), "--preload", "glove-100d,nosuch"})
	if !errors.As(err, new(usageError)) || !strings.Contains(err.Error(), "--preload nosuch: no such encoder") {
		t.Fatalf("err %v, want a usage error naming the encoder", err)
	}
}
