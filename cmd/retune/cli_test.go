package main

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"retune/model"
	"retune/train"
)

// stdout captures what fn prints to os.Stdout.
func stdout(t *testing.T, fn func()) string {
	t.Helper()
	return capture(t, &os.Stdout, fn)
}

// capture captures what fn writes to *file (os.Stdout, os.Stderr).
func capture(t *testing.T, file **os.File, fn func()) string {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	orig := *file
	*file = f
	defer func() { *file = orig }()
	fn()
	f.Seek(0, io.SeekStart)
	b, _ := io.ReadAll(f)
	return string(b)
}

// Help, which a mistyped flag used to print to CI logs too, names the
// environment variables behind defaults, never their values.
func TestHelpHidesEnvironmentValues(t *testing.T) {
	secrets := map[string]string{
		"OPENAI_API_KEY":   "sk-secret-1",
		"OPENAI_BASE_URL":  "https://user:secret-2@llm.example/v1",
		"RETUNE_LLM_MODEL": "secret-3",
		"RETUNE_API_KEY":   "secret-4",
	}
	for k, v := range secrets {
		t.Setenv(k, v)
	}
	for name, run := range map[string]command{"train": runTrain, "bench": runBench} {
		args := []string{"-h"}
		if name == "bench" {
			args = []string{"search", "-h"}
		}
		var err error
		out := stdout(t, func() { err = run(t.Context(), args) })
		if !errors.Is(err, flag.ErrHelp) {
			t.Fatalf("%s -h: %v, want flag.ErrHelp", name, err)
		}
		if !strings.Contains(out, "-") {
			t.Fatalf("%s -h printed no usage on stdout", name)
		}
		for k, v := range secrets {
			if strings.Contains(out, v) {
				t.Errorf("%s -h shows $%s's value", name, k)
			}
		}
	}
	if out := stdout(t, func() { runTrain(t.Context(), []string{"-h"}) }); !strings.Contains(out, "$OPENAI_API_KEY") {
		t.Errorf("train -h does not name $OPENAI_API_KEY:\n%s", out)
	}
}

func TestBadFlagIsAUsageError(t *testing.T) {
	var err error
	out := stdout(t, func() { err = runTrain(t.Context(), []string{"--bogus"}) })
	if !errors.As(err, new(usageError)) || !strings.Contains(err.Error(), "-bogus") {
		t.Fatalf("err %v, want a usage error naming -bogus", err)
	}
	if out != "" {
		t.Fatalf("a bad flag printed the usage to stdout:\n%s", out)
	}
}

// A failed train run removes the --out folders it made, and only those.
func TestMakeOutDirRemovesOnlyWhatItMade(t *testing.T) {
	root := t.TempDir()
	remove, err := makeOutDir(filepath.Join(root, "a", "b"))
	if err != nil {
		t.Fatal(err)
	}
	remove()
	if _, err := os.Stat(filepath.Join(root, "a")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("created parent left behind: %v", err)
	}
	existing := filepath.Join(root, "head")
	os.Mkdir(existing, 0o755)
	os.WriteFile(filepath.Join(existing, "head.json"), []byte("{}"), 0o644)
	remove, err = makeOutDir(existing)
	if err != nil {
		t.Fatal(err)
	}
	remove()
	if _, err := os.Stat(filepath.Join(existing, "head.json")); err != nil {
		t.Fatalf("an existing folder lost its files: %v", err)
	}
	// --out np/out --work np/work: the run's other folders in the new
	// parent outlive the failed run (they hold its checkpoints).
	remove, err = makeOutDir(filepath.Join(root, "np", "out"), filepath.Join(root, "np", "work"))
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(root, "np", "work", "checkpoints"), 0o755)
	remove()
	if _, err := os.Stat(filepath.Join(root, "np", "work", "checkpoints")); err != nil {
		t.Fatalf("the --work folder beside --out went with it: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "np", "out")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the new --out folder was left behind: %v", err)
	}
	// A cache inside the new --out keeps the folder.
	remove, err = makeOutDir(filepath.Join(root, "h"), filepath.Join(root, "h", "cache"))
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(root, "h", "cache"), 0o755)
	remove()
	if _, err := os.Stat(filepath.Join(root, "h", "cache")); err != nil {
		t.Fatalf("a cache inside --out was removed: %v", err)
	}
	file := filepath.Join(root, "file")
	os.WriteFile(file, nil, 0o644)
	if _, err := makeOutDir(file); err == nil {
		t.Fatal("a file accepted as --out folder")
	}
}

func TestOnnxFlagNamesAFolderOrItsModel(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"model.onnx", "head.onnx"} {
		os.WriteFile(filepath.Join(dir, f), nil, 0o644)
	}
	tests := []struct {
		onnx, want, wantErr string
	}{
		{dir, dir, ""},
		{filepath.Join(dir, "model.onnx"), dir, ""},
		{filepath.Join(dir, "head.onnx"), "", "give the encoder folder or its model.onnx"},
		{filepath.Join(dir, "missing"), "", "no such file or folder"}, // a usage error, before anything loads
	}
	for _, tt := range tests {
		e := encoderFlags{onnx: tt.onnx}
		got, err := e.onnxFolder()
		if got != tt.want || (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("--onnx %s: %q, %v; want %q, %q", tt.onnx, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestEmbedLinesNamesTheBadLine(t *testing.T) {
	fake := func(_ context.Context, texts []string) ([][]float32, error) {
		out := make([][]float32, len(texts))
		for i := range out {
			out[i] = []float32{1}
		}
		return out, nil
	}
	in := strings.Repeat("dog\n", 299) + "bad \xff text\n" + "cat\n"
	var out strings.Builder
	_, err := embedLines(t.Context(), strings.NewReader(in), &out, 256, fake)
	if err == nil || err.Error() != "line 300 is not valid UTF-8 (299 lines before it written)" {
		t.Fatalf("err %v, want line 300 named", err)
	}
	// Lines are numbered as read even when a bad line stops the run: the
	// all-zero vector is line 1's.
	zeroFirst := func(_ context.Context, texts []string) ([][]float32, error) {
		out, _ := fake(t.Context(), texts)
		if texts[0] == "zero" {
			out[0] = []float32{0}
		}
		return out, nil
	}
	if zero, err := embedLines(t.Context(), strings.NewReader("zero\nhello\n\n"), io.Discard, 256, zeroFirst); !slices.Equal(zero, []int{1}) || err == nil ||
		err.Error() != "line 3 is empty: one text per line (2 lines before it written)" {
		t.Fatalf("zero lines %v, err %v; want [1] and line 3 named", zero, err)
	}
	// The output is exactly the lines before the bad one, not a batch short.
	if n := strings.Count(out.String(), "\n"); n != 299 {
		t.Fatalf("%d lines written before line 300, want 299", n)
	}
	out.Reset()
	if _, err := embedLines(t.Context(), strings.NewReader("a\n\nb\n"), &out, 256, fake); err == nil || !strings.Contains(err.Error(), "line 2 is empty") {
		t.Fatalf("err %v, want line 2 named", err)
	}
	// A line past the limit is named, and the lines before it are written.
	out.Reset()
	long := io.MultiReader(strings.NewReader("a\nb\n"), strings.NewReader(strings.Repeat("x", maxEmbedLine+1)), strings.NewReader("\n"))
	if _, err := embedLines(t.Context(), long, &out, 256, fake); err == nil || !strings.Contains(err.Error(), "line 3 is longer than 64 MiB") {
		t.Fatalf("err %v, want line 3 named", err)
	}
	if n := strings.Count(out.String(), "\n"); n != 2 {
		t.Fatalf("%d lines written before the long one, want 2", n)
	}
}

// failingWriter refuses every write, as a full disk or a closed pipe does.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("no space left on device") }

// Output smaller than the write buffer reaches the writer only when the
// buffer is flushed at the end: that write's error is the command's.
func TestEmbedLinesReportsTheLastWriteError(t *testing.T) {
	fake := func(_ context.Context, texts []string) ([][]float32, error) {
		return slices.Repeat([][]float32{{1}}, len(texts)), nil
	}
	_, err := embedLines(t.Context(), strings.NewReader("dog\ncat\n"), failingWriter{}, 256, fake)
	if err == nil || !strings.Contains(err.Error(), "no space left on device") {
		t.Fatalf("err %v, want the failed write reported", err)
	}
}

// Lines whose embedding is all zero are counted across batches by their
// line numbers.
func TestEmbedLinesReportsZeroVectors(t *testing.T) {
	fake := func(_ context.Context, texts []string) ([][]float32, error) {
		out := make([][]float32, len(texts))
		for i, t := range texts {
			out[i] = []float32{0, 0}
			if t != "2019" {
				out[i][1] = 1
			}
		}
		return out, nil
	}
	var out strings.Builder
	zero, err := embedLines(t.Context(), strings.NewReader("\ufeffdog\n2019\ncat\nfish\n2019\n"), &out, 2, fake)
	if strings.Contains(out.String(), "\ufeff") {
		t.Fatalf("the byte-order mark was embedded as text:\n%s", out.String())
	}
	if err != nil || fmt.Sprint(zero) != "[2 5]" || strings.Count(out.String(), "\n") != 5 {
		t.Fatalf("zero lines %v, err %v, output:\n%s", zero, err, out.String())
	}
	if got := countLines([]int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}); got != "11 lines (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, ...) have" {
		t.Fatalf("countLines: %q", got)
	}
}

// An empty folder flag would mean the working directory: refused as a
// command-line error, for every command that takes one.
func TestFolderFlagsRefuseEmpty(t *testing.T) {
	for _, args := range [][]string{{"--cache", ""}, {"--models", " "}} {
		err := runEval(t.Context(), args)
		if !errors.As(err, new(usageError)) || !strings.Contains(err.Error(), "must name a folder") {
			t.Errorf("eval %q: %v, want a usage error", args, err)
		}
	}
	if err := runModels(t.Context(), []string{"list", "--models", ""}); !errors.As(err, new(usageError)) {
		t.Errorf("models list --models '': %v, want a usage error", err)
	}
}

// Flags a run would silently ignore, or values that would exhaust memory,
// are refused before anything loads.
func TestRefusedCommandLines(t *testing.T) {
	dir := t.TempDir()
	prof := filepath.Join(dir, "p.prof")
	plain := filepath.Join(dir, "plain.json")
	os.WriteFile(plain, []byte("{}"), 0o644)
	headDir, encDir := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(headDir, "head.json"), []byte("{}"), 0o644)
	os.WriteFile(filepath.Join(encDir, "model.onnx"), nil, 0o644)
	beir := t.TempDir() // a BEIR folder as far as the command line looks
	os.Mkdir(filepath.Join(beir, "qrels"), 0o755)
	os.WriteFile(filepath.Join(beir, "qrels", "train.tsv"), nil, 0o644)
	tests := []struct {
		name string
		run  func(context.Context, []string) error
		args []string
		want string
	}{
		{"mining flags without mining", runTrain, []string{"--beir", beir, "--out", filepath.Join(dir, "o"), "--negatives", "none", "--mined", "5", "--margin", "0.9"}, "--margin, --mined: --negatives none mines nothing"},
		{"the entropy term without generation", runTrain, []string{"--beir", beir, "--out", filepath.Join(dir, "o"), "--negatives", "mined", "--entropy-weight", "0.5"}, "--entropy-weight applies only to --negatives generated or mined+generated, not mined"},
		{"profile of a refused run", runTrain, []string{"--beir", beir, "--out", filepath.Join(dir, "o"), "--epochs", "0", "--cpuprofile", prof}, "epochs"},
		{"bench with a huge --n", benchEmbed, []string{"--n", "100000000000"}, "--n must be in [1, 1000000]"},
		{"serve with an empty --data", runServe, []string{"--data", ""}, "must name a folder"},
		{"serve on no port", runServe, []string{"--addr", "notanaddr", "--data", dir}, `--addr "notanaddr": want host:port`},
		{"serve on a port out of range", runServe, []string{"--addr", "127.0.0.1:99999", "--data", dir}, "the port must be a number in [0, 65535]"},
		{"serve with a negative cache bound", runServe, []string{"--cache-keep-mb", "-1", "--data", dir}, "--cache-keep-mb must be in [0,"},
		{"eval with an empty --split", runEval, []string{"--beir", beir, "--split", ""}, "--split is empty"},
		{"eval with a path as split", runEval, []string{"--beir", beir, "--split", "../qrels/train"}, "without a path"},
		{"eval with an empty --model", runEval, []string{"--beir", beir, "--split", "train", "--model", ""}, "name an encoder with --model"},
		{"bench search with both query sources", benchSearch, []string{"--collection", "col-x", "--queries", "q.txt", "--beir", beir}, "give --queries or --beir, not both"},
		{"bench search with an unknown mode", benchSearch, []string{"--collection", "col-x", "--mode", "foo"}, `--mode "foo" must be dense, bm25 or hybrid`},
		{"a boolean flag's value after a space", runTrain, []string{"--beir", beir, "--out", filepath.Join(dir, "o"), "--in-batch", "false"}, "a true/false flag takes its value after '=' (--in-batch=false)"},
		{"train on no BEIR folder", runTrain, []string{"--beir", filepath.Join(dir, "nope"), "--out", filepath.Join(dir, "o")}, "no such folder"},
		{"eval on a BEIR archive", runEval, []string{"--beir", plain}, "is a file: give the BEIR folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv), unpacked"},
		{"eval on a folder without qrels", runEval, []string{"--beir", dir}, "has no qrels/<split>.tsv"},
		{"train on no pairs file", runTrain, []string{"--pairs", filepath.Join(dir, "nope.jsonl"), "--out", filepath.Join(dir, "o")}, "nope.jsonl: no such file"},
		{"train on no held-out pairs file", runTrain, []string{"--pairs", plain, "--test-pairs", filepath.Join(dir, "nope.jsonl"), "--out", filepath.Join(dir, "o")}, "--test-pairs " + filepath.Join(dir, "nope.jsonl") + ": no such file"},
		{"train on a folder as pairs", runTrain, []string{"--pairs", dir, "--out", filepath.Join(dir, "o")}, "is a folder: give the JSONL file of pairs"},
		{"train on pairs from stdin", runTrain, []string{"--pairs", "-", "--out", filepath.Join(dir, "o")}, "--pairs -: give a file name (stdin is not read)"},
		{"embed with a head folder as --onnx", runEmbed, []string{"--onnx", headDir}, "is a trained head's folder, not an encoder's: pass it as --head"},
		{"embed with a folder of no model as --onnx", runEmbed, []string{"--onnx", dir}, "holds no model.onnx"},
		{"embed with an encoder folder as --head", runEmbed, []string{"--head", encDir}, "is an encoder's folder (a fused export carries its head inside): pass it as --onnx"},
		{"export with --blas", runExport, []string{"--head", headDir, "--format", "onnx", "--out", filepath.Join(dir, "h.onnx"), "--blas", "gonum"}, "export multiplies none"},
		{"an unknown models subcommand", runModels, []string{"foo", "-h"}, `unknown models subcommand "foo"`},
		{"cache prune without a budget", runCache, []string{"prune", "--cache", dir}, "cache prune needs --keep-mb N, --stale or both"},
		{"cache prune with --models but not --stale", runCache, []string{"prune", "--cache", dir, "--keep-mb", "1", "--models", dir}, "add --stale or drop --models"},
		{"cache prune --stale against a folder of no encoder", runCache, []string{"prune", "--cache", dir, "--stale", "--models", dir}, "holds no encoder, so --stale would delete every cache file"},
		{"cache stats with a budget", runCache, []string{"stats", "--cache", dir, "--keep-mb", "3"}, "flag provided but not defined: -keep-mb"},
		{"cache stats of no folder", runCache, []string{"stats", "--cache", prof + ".x"}, "no such folder"},
		{"cache stats of a file", runCache, []string{"stats", "--cache", plain}, "is a file, not a folder"},
		{"an unknown cache subcommand", runCache, []string{"clear"}, `unknown cache subcommand "clear"`},
		{"an unknown bench subcommand", runBench, []string{"bogus"}, `unknown bench subcommand "bogus"`},
		{"models add from no snapshot", runModels, []string{"add", "--name", "x", "--from", filepath.Join(dir, "nope")}, "nope: no such folder or file"},
		{"embed with no --onnx folder", runEmbed, []string{"--onnx", filepath.Join(dir, "nope")}, "nope: no such file or folder"},
		{"embed with no --head folder", runEmbed, []string{"--head", filepath.Join(dir, "nope")}, "--head " + filepath.Join(dir, "nope") + ": no such folder"},
		{"export of no head", runExport, []string{"--head", filepath.Join(dir, "nope"), "--format", "onnx", "--out", filepath.Join(dir, "h.onnx")}, ": no such folder"},
		{"fused export on no encoder", runExport, []string{"--head", headDir, "--format", "fused-onnx", "--model", "nosuch", "--models", dir, "--out", filepath.Join(dir, "f")}, `model "nosuch" not found in ` + dir},
		{"bench search with k 0", benchSearch, []string{"--collection", "col-x", "--k", "0"}, "--k 0 must be in [1, 1000]"},
		{"models add without a name", runModels, []string{"add", "--from", dir}, "models add needs --name NAME"},
		{"models add under a built-in name", runModels, []string{"add", "--name", "glove-100d", "--from", dir}, `--name: "glove-100d" is a built-in encoder's name`},
		{"models add as onnxruntime", runModels, []string{"add", "--name", "onnxruntime", "--from", dir}, "where the models folder keeps ONNX Runtime"},
		{"models add without a source", runModels, []string{"add", "--name", "x"}, "models add needs --from SNAPSHOT"},
		{"models add with an unknown pooling", runModels, []string{"add", "--name", "x", "--from", dir, "--pooling", "attention"}, `--pooling "attention": want one of mean, cls, max, lasttoken, mean_sqrt_len, weightedmean`},
		{"models add with normalize yes", runModels, []string{"add", "--name", "x", "--from", dir, "--normalize", "yes"}, `--normalize "yes": want true or false`},
		{"models add with a negative limit", runModels, []string{"add", "--name", "x", "--from", dir, "--max-length", "-1"}, "--max-length must not be negative"},
	}
	for _, tt := range tests {
		err := tt.run(t.Context(), tt.args)
		if !errors.As(err, new(usageError)) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want a usage error containing %q", tt.name, err, tt.want)
		}
	}
	if _, err := os.Stat(prof); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused run left its CPU profile: %v", err)
	}
}

// --cpuprofile replaces an earlier profile but no other file.
func TestCPUProfileOverwritesOnlyAProfile(t *testing.T) {
	dir := t.TempDir()
	prof := filepath.Join(dir, "cpu.prof")
	for range 2 { // a new file, then the profile just written
		stop, err := startCPUProfile(prof)
		if err != nil {
			t.Fatalf("profile to %s: %v", prof, err)
		}
		stop()
	}
	corpus := filepath.Join(dir, "corpus.jsonl")
	if err := os.WriteFile(corpus, []byte(`{"_id":"d1","text":"a document"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := startCPUProfile(corpus); !errors.As(err, new(usageError)) || !strings.Contains(err.Error(), "is not a CPU profile; refusing to overwrite it") {
		t.Fatalf("profile over a corpus: %v", err)
	}
	if raw, _ := os.ReadFile(corpus); !strings.HasPrefix(string(raw), `{"_id":"d1"`) {
		t.Fatalf("the corpus was overwritten: %q", raw)
	}
	// Compressed JSON lines, CSV or text are gzip too, but not a profile.
	for i, content := range []string{`{"_id":"d1"}`, `"id","text"`, "hello world", "2\t3\t1"} {
		gz := filepath.Join(dir, fmt.Sprintf("data%d.gz", i))
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write([]byte(content))
		zw.Close()
		if err := os.WriteFile(gz, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := startCPUProfile(gz); !errors.As(err, new(usageError)) {
			t.Fatalf("profile over gzipped %q: %v", content, err)
		}
	}
}

// A run whose --out another run is writing to is refused before it
// touches the folder, and leaves it as it was.
func TestTrainRefusesAnOutAnotherRunHolds(t *testing.T) {
	beir, out := t.TempDir(), filepath.Join(t.TempDir(), "head")
	if err := os.MkdirAll(filepath.Join(beir, "qrels"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(beir, "qrels", "train.tsv"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	unlock, err := lockOutDir(out)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	err = runTrain(t.Context(), []string{"--beir", beir, "--out", out})
	if !errors.As(err, new(usageError)) || !strings.Contains(err.Error(), "another retune train is writing its head there") {
		t.Fatalf("train into a held --out: %v", err)
	}
	if _, err := os.Stat(out); err != nil {
		t.Fatalf("the held --out was removed: %v", err)
	}
	unlock()
	if again, err := lockOutDir(out); err != nil {
		t.Fatalf("the lock after its release: %v", err)
	} else {
		again()
	}
}

// vecEmbedder gives every text the same small vector, filed under its
// checksum (a default one when empty).
type vecEmbedder struct{ sum string }

func (e vecEmbedder) Checksum() (string, error) { return cmp.Or(e.sum, "cli-cache-test"), nil }
func (vecEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i := range out {
		out[i] = []float32{1, 2}
	}
	return out, nil
}

// cache prune bounds each encoder's file and says what it kept.
func TestCachePrune(t *testing.T) {
	dir := t.TempDir()
	var texts []string
	for i := range 5000 { // 5,000 records of 44 bytes: about 215 kB
		texts = append(texts, fmt.Sprintf("text %d", i))
	}
	if _, _, err := train.NewCache(dir).Embed(t.Context(), vecEmbedder{}, texts); err != nil {
		t.Fatal(err)
	}
	// What a prune killed mid-write left beside the file goes too.
	files, _ := filepath.Glob(filepath.Join(dir, "embeddings-*.bin"))
	if len(files) != 1 {
		t.Fatalf("cache files %v", files)
	}
	tmp := filepath.Join(dir, "."+filepath.Base(files[0])+".tmp-123")
	if err := os.WriteFile(tmp, make([]byte, 777), 0o644); err != nil {
		t.Fatal(err)
	}
	var err error
	out := stdout(t, func() { err = runCache(t.Context(), []string{"prune", "--cache", dir, "--keep-mb", "0"}) })
	var rep struct {
		Interrupted int64 `json:"interrupted_prunes_bytes"`
		Files       []struct {
			Records int `json:"records"`
			Kept    struct {
				Records int `json:"records"`
			} `json:"kept"`
		} `json:"files"`
	}
	if err != nil || json.Unmarshal([]byte(out), &rep) != nil || len(rep.Files) != 1 || rep.Files[0].Records != 5000 || rep.Files[0].Kept.Records != 0 {
		t.Fatalf("prune: %v\n%s", err, out)
	}
	if _, serr := os.Stat(tmp); rep.Interrupted != 777 || serr == nil {
		t.Fatalf("an interrupted prune's file: reported %d bytes, still there %v", rep.Interrupted, serr == nil)
	}
}

// cache prune --stale deletes the files of encoders no longer installed and
// keeps those of installed ones (named by their files' checksum).
func TestCachePruneStale(t *testing.T) {
	root, dir := t.TempDir(), t.TempDir()
	enc := filepath.Join(root, "mine")
	if err := os.MkdirAll(enc, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"model.onnx", "tokenizer.json"} {
		if err := os.WriteFile(filepath.Join(enc, f), []byte("the files of "+f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	installed, err := model.EncoderChecksum(enc)
	if err != nil {
		t.Fatal(err)
	}
	for _, sum := range []string{installed, "a-replaced-encoder"} {
		if _, _, err := train.NewCache(dir).Embed(t.Context(), vecEmbedder{sum: sum}, []string{"one", "two"}); err != nil {
			t.Fatal(err)
		}
	}
	out := stdout(t, func() { err = runCache(t.Context(), []string{"prune", "--cache", dir, "--stale", "--models", root}) })
	var rep struct {
		Dropped []struct {
			File    string `json:"file"`
			Records int    `json:"records"`
		} `json:"dropped"`
		Files []struct {
			File string `json:"file"`
			Kept *struct{}
		} `json:"files"`
	}
	if err != nil || json.Unmarshal([]byte(out), &rep) != nil {
		t.Fatalf("prune --stale: %v\n%s", err, out)
	}
	if len(rep.Dropped) != 1 || rep.Dropped[0].File != train.CacheFileName("a-replaced-encoder") || rep.Dropped[0].Records != 2 ||
		len(rep.Files) != 1 || rep.Files[0].File != train.CacheFileName(installed) || rep.Files[0].Kept != nil {
		t.Fatalf("prune --stale reported %s", out)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "embeddings-*.bin"))
	if len(left) != 1 || filepath.Base(left[0]) != train.CacheFileName(installed) {
		t.Fatalf("files left: %v", left)
	}
}

// Errors name the subcommand run, as its warnings do.
func TestCommandName(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"train", "--beir", "x"}, "train"},
		{[]string{"models", "add", "--name", "x"}, "models add"},
		{[]string{"models", "--models", "x"}, "models"},
		{[]string{"cache", "prune"}, "cache prune"},
		{[]string{"bench", "bogus"}, "bench"},
	} {
		if got := commandName(tc.args); got != tc.want {
			t.Errorf("commandName(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
}
