package models

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/advancedclimatesystems/gonnx/onnx"

	"retune/model/onnxgraph"
)

// fakeCheck stands in for model.CheckFolder: it records the folders it was
// given and what encoder.json held then.
type fakeCheck struct {
	dim   int
	err   error
	calls []EncoderConfig
}

func (f *fakeCheck) check(_ context.Context, dir string, _, _ int) (int, error) {
	cfg, _, err := ReadEncoderConfig(dir)
	if err != nil {
		return 0, err
	}
	f.calls = append(f.calls, cfg)
	return f.dim, f.err
}

// writeFiles writes name → content under dir, creating folders.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// snapshot lays the tiny BERT fixture out as a sentence-transformers
// snapshot with its ONNX export under onnx/, plus the given config files.
func snapshot(t *testing.T, configs map[string]string) (dir, fixture string) {
	t.Helper()
	fixture = writeFixture(t, TinyBERTConfig(), 3)
	dir = t.TempDir()
	model, _ := os.ReadFile(filepath.Join(fixture, ModelFile))
	tok, _ := os.ReadFile(filepath.Join(fixture, TokenizerFile))
	writeFiles(t, dir, map[string]string{"onnx/model.onnx": string(model), TokenizerFile: string(tok)})
	writeFiles(t, dir, configs)
	return dir, fixture
}

const stModules = `[{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"},
 {"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.models.Pooling"},
 {"idx":2,"name":"2","path":"2_Normalize","type":"sentence_transformers.models.Normalize"}]`

func TestImportSentenceTransformersSnapshot(t *testing.T) {
	src, fixture := snapshot(t, map[string]string{
		"modules.json":              stModules,
		"1_Pooling/config.json":     `{"word_embedding_dimension":32,"pooling_mode_cls_token":true,"pooling_mode_mean_tokens":false}`,
		"sentence_bert_config.json": `{"max_seq_length":128,"do_lower_case":false}`,
		"config.json":               `{"max_position_embeddings":512}`,
	})
	root := t.TempDir()
	fc := &fakeCheck{dim: 32}
	rep, err := Import(t.Context(), root, ImportOptions{Name: "mine", From: src, Check: fc.check})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "mine")
	cfg, ok, err := ReadEncoderConfig(dir)
	if err != nil || !ok {
		t.Fatalf("encoder.json: %v %v", ok, err)
	}
	if cfg.Pooling != PoolingCLS || !cfg.Normalize || cfg.MaxLength != 128 || cfg.Dim != 32 || cfg.Name != "mine" ||
		!strings.HasPrefix(cfg.Build, ImportBuildPrefix) || !slices.Equal(cfg.Inputs, []string{"input_ids", "attention_mask", "token_type_ids"}) {
		t.Errorf("encoder.json = %+v", cfg)
	}
	if rep.Dir != dir || rep.Config.ModelSHA256 != cfg.ModelSHA256 {
		t.Errorf("report %+v does not describe %s", rep, dir)
	}
	settings, _ := cfg.Provenance["settings"].([]any)
	joined := ""
	for _, s := range settings {
		joined += s.(string) + "\n"
	}
	for _, want := range []string{"pooling cls (1_Pooling/config.json)", "normalize true (modules.json has a Normalize module)",
		"max_length 128 (sentence_bert_config.json max_seq_length)"} {
		if !strings.Contains(joined, want) {
			t.Errorf("provenance settings %q lack %q", joined, want)
		}
	}
	for _, f := range []string{ModelFile, TokenizerFile} {
		got, _ := os.ReadFile(filepath.Join(dir, f))
		want, _ := os.ReadFile(filepath.Join(fixture, f))
		if !bytes.Equal(got, want) {
			t.Errorf("%s is not a copy of the snapshot's", f)
		}
	}
	if sum, _ := fileSHA256(filepath.Join(dir, ModelFile)); sum != cfg.ModelSHA256 {
		t.Errorf("model_sha256 %s, file %s", cfg.ModelSHA256, sum)
	}
	// The check ran once, on the staged folder with its final encoder.json.
	if len(fc.calls) != 1 || fc.calls[0].Pooling != PoolingCLS || fc.calls[0].MaxLength != 128 {
		t.Errorf("checks %+v, want one with the final settings", fc.calls)
	}
	if names := dirNames(t, root); !slices.Equal(names, []string{"mine"}) {
		t.Errorf("models folder holds %v, want only the import", names)
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestDetectSettings(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		name    string
		files   map[string]string
		o       ImportOptions
		pooled  bool
		pooling string
		norm    bool
		maxLen  int
		note    string // one of the notes
		warn    string // one of the warnings ("" none)
		err     string
	}{
		{"no configs", nil, ImportOptions{}, false, PoolingMean, true, 512, "pooling mean (assumed", "", ""},
		{"modules without Normalize", map[string]string{"modules.json": `[{"path":"1_Pooling","type":"sentence_transformers.models.Pooling"}]`,
			"1_Pooling/config.json": `{"pooling_mode_mean_tokens":true}`}, ImportOptions{}, false, PoolingMean, false, 512, "normalize false (modules.json", "", ""},
		{"RoBERTa's 514 positions", map[string]string{"config.json": `{"max_position_embeddings":514}`}, ImportOptions{}, false, PoolingMean, true, 512, "max_position_embeddings 514", "", ""},
		{"a short model", map[string]string{"config.json": `{"max_position_embeddings":128}`}, ImportOptions{}, false, PoolingMean, true, 128, "max_length 128 (config.json", "", ""},
		{"flags win", map[string]string{"modules.json": stModules, "1_Pooling/config.json": `{"pooling_mode_mean_tokens":true}`,
			"sentence_bert_config.json": `{"max_seq_length":256}`}, ImportOptions{Pooling: PoolingCLS, Normalize: &no, MaxLength: 64}, false, PoolingCLS, false, 64, "normalize false (--normalize)", "", ""},
		{"a pooled model", map[string]string{"modules.json": stModules}, ImportOptions{Normalize: &yes}, true, PoolingMean, true, 512, "pooling by the model itself", "", ""},
		{"Dense after pooling", map[string]string{"modules.json": `[{"path":"1_Pooling","type":"sentence_transformers.models.Pooling"},{"path":"2_Dense","type":"sentence_transformers.models.Dense"}]`,
			"1_Pooling/config.json": `{"pooling_mode_mean_tokens":true}`}, ImportOptions{}, false, PoolingMean, false, 512, "", "Dense layer after pooling (2_Dense)", ""},
		{"combined pooling", map[string]string{"modules.json": stModules, "1_Pooling/config.json": `{"pooling_mode_mean_tokens":true,"pooling_mode_max_tokens":true}`},
			ImportOptions{}, false, "", false, 0, "", "", "combines pooling modes pooling_mode_max_tokens + pooling_mode_mean_tokens"},
		{"max pooling", map[string]string{"modules.json": stModules, "1_Pooling/config.json": `{"pooling_mode_max_tokens":true}`},
			ImportOptions{}, false, PoolingMax, true, 512, "pooling max (1_Pooling/config.json)", "", ""},
		{"last-token pooling", map[string]string{"modules.json": stModules, "1_Pooling/config.json": `{"pooling_mode_lasttoken":true}`},
			ImportOptions{}, false, PoolingLastToken, true, 512, "pooling lasttoken (1_Pooling/config.json)", "", ""},
		{"weighted-mean pooling", map[string]string{"modules.json": stModules, "1_Pooling/config.json": `{"pooling_mode_weightedmean_tokens":true}`},
			ImportOptions{}, false, PoolingWeightedMean, true, 512, "pooling weightedmean (1_Pooling/config.json)", "", ""},
		{"mean-sqrt-len pooling", map[string]string{"modules.json": stModules, "1_Pooling/config.json": `{"pooling_mode_mean_sqrt_len_tokens":true}`},
			ImportOptions{}, false, PoolingMeanSqrtLen, true, 512, "pooling mean_sqrt_len (1_Pooling/config.json)", "", ""},
		{"an unknown pooling mode", map[string]string{"modules.json": stModules, "1_Pooling/config.json": `{"pooling_mode_attention":true,"pooling_mode_cls_token":false}`},
			ImportOptions{}, false, "", false, 0, "", "", "asks for pooling_mode_attention, which retune does not compute"},
		{"no pooling mode", map[string]string{"modules.json": stModules, "1_Pooling/config.json": `{}`}, ImportOptions{}, false, "", false, 0, "", "", "turns on no pooling mode"},
		{"a module outside the folder", map[string]string{"modules.json": `[{"path":"../x","type":"sentence_transformers.models.Pooling"}]`}, ImportOptions{}, false, "", false, 0, "", "", `module path "../x"`},
		{"broken modules.json", map[string]string{"modules.json": `{`}, ImportOptions{}, false, "", false, 0, "", "", "modules.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tt.files)
			s, err := detectSettings(dir, filepath.Join(dir, TokenizerFile), tt.o, tt.pooled)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.pooling != tt.pooling || s.normalize != tt.norm || s.maxLength != tt.maxLen {
				t.Errorf("got %s/%t/%d, want %s/%t/%d", s.pooling, s.normalize, s.maxLength, tt.pooling, tt.norm, tt.maxLen)
			}
			if tt.note != "" && !slices.ContainsFunc(s.notes, func(n string) bool { return strings.Contains(n, tt.note) }) {
				t.Errorf("notes %q lack %q", s.notes, tt.note)
			}
			gotWarn := strings.Join(s.warnings, "\n")
			if tt.warn == "" && gotWarn != "" || !strings.Contains(gotWarn, tt.warn) {
				t.Errorf("warnings %q, want %q", gotWarn, tt.warn)
			}
		})
	}
}

// A failed import leaves the models folder as it was: no staging folder,
// an earlier import untouched.
func TestImportRefusals(t *testing.T) {
	src, _ := snapshot(t, nil)
	root := t.TempDir()
	ok := &fakeCheck{dim: 32}
	if _, err := Import(t.Context(), root, ImportOptions{Name: "mine", From: src, Check: ok.check}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(root, "mine", ConfigFile))
	writeFiles(t, root, map[string]string{"hand-made/model.onnx": "x"})
	noTok := t.TempDir()
	writeFiles(t, noTok, map[string]string{ModelFile: "x"})
	noModel := t.TempDir()
	writeFiles(t, noModel, map[string]string{"onnx/model_quantized.onnx": "x", TokenizerFile: "{}"})

	tests := []struct {
		name string
		o    ImportOptions
		want string
	}{
		{"a path as name", ImportOptions{Name: "../x", From: src}, `name "../x"`},
		{"a built-in name", ImportOptions{Name: GloveName, From: src}, "built-in encoder's name"},
		{"an existing import without force", ImportOptions{Name: "mine", From: src}, "already exists; --force replaces"},
		{"a hand-made folder with force", ImportOptions{Name: "hand-made", From: src, Force: true}, "is not an encoder `retune models add` wrote"},
		{"no tokenizer", ImportOptions{Name: "b", From: noTok}, "no tokenizer.json in"},
		{"no model.onnx", ImportOptions{Name: "b", From: noModel}, "choose one of " + filepath.Join(noModel, "onnx", "model_quantized.onnx") + " with --onnx"},
		{"a missing source", ImportOptions{Name: "b", From: filepath.Join(src, "nope")}, "no such file"},
		{"a model the check refuses", ImportOptions{Name: "mine", From: src, Force: true, MaxLength: 4096}, "too long"},
		{"a width that differs", ImportOptions{Name: "b", From: src}, "vectors have 7 values, its output declares 32"},
	}
	for _, tt := range tests {
		fc := &fakeCheck{dim: 32}
		switch tt.name {
		case "a model the check refuses":
			fc.err = errors.New("too long")
		case "a width that differs":
			fc.dim = 7
		}
		tt.o.Check = fc.check
		_, err := Import(t.Context(), root, tt.o)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
		taken := strings.Contains(tt.name, "existing import") || strings.Contains(tt.name, "hand-made")
		if errors.Is(err, ErrNameTaken) != taken {
			t.Errorf("%s: errors.Is(ErrNameTaken) = %v, want %v", tt.name, !taken, taken)
		}
	}
	if names := dirNames(t, root); !slices.Equal(names, []string{"hand-made", "mine"}) {
		t.Errorf("models folder holds %v after refused imports", names)
	}
	if after, _ := os.ReadFile(filepath.Join(root, "mine", ConfigFile)); !bytes.Equal(before, after) {
		t.Error("a failed --force import changed the earlier one")
	}
	// With --force and good settings the earlier import is replaced.
	if _, err := Import(t.Context(), root, ImportOptions{Name: "mine", From: src, Force: true, MaxLength: 64, Check: ok.check}); err != nil {
		t.Fatal(err)
	}
	if cfg, _, _ := ReadEncoderConfig(filepath.Join(root, "mine")); cfg.MaxLength != 64 {
		t.Errorf("forced import kept max_length %d", cfg.MaxLength)
	}
	if names := dirNames(t, root); !slices.Equal(names, []string{"hand-made", "mine"}) {
		t.Errorf("models folder holds %v after a replacement", names)
	}
}

// Weights kept as external data under another file name are gathered into
// model.onnx.data, the side file the encoder checksum covers, and read back
// to the same tensors.
func TestImportGathersExternalData(t *testing.T) {
	fixture := writeFixture(t, TinyBERTConfig(), 5)
	m, err := onnxgraph.Load(filepath.Join(fixture, ModelFile))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{}
	for _, init := range m.Graph.Initializer {
		want[init.Name] = slices.Clone(init.RawData)
	}
	src := t.TempDir()
	chunks := onnxgraph.Externalize(m, "weights.bin", 256)
	var buf bytes.Buffer
	if err := onnxgraph.WriteExternal(&buf, chunks); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, src, map[string]string{"weights.bin": buf.String()})
	if err := onnxgraph.WriteFile(filepath.Join(src, ModelFile), m); err != nil {
		t.Fatal(err)
	}
	testCopy(t, filepath.Join(fixture, TokenizerFile), filepath.Join(src, TokenizerFile))

	root := t.TempDir()
	fc := &fakeCheck{dim: 32}
	rep, err := Import(t.Context(), root, ImportOptions{Name: "ext", From: src, Check: fc.check})
	if err != nil {
		t.Fatal(err)
	}
	dir := rep.Dir
	st, err := os.Stat(filepath.Join(dir, DataFile))
	if err != nil || st.Size() != rep.Config.DataSize || rep.Config.DataSize == 0 {
		t.Fatalf("model.onnx.data: %v, size vs encoder.json %d", err, rep.Config.DataSize)
	}
	got, err := onnxgraph.Load(filepath.Join(dir, ModelFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, init := range got.Graph.Initializer {
		for _, kv := range init.ExternalData {
			if kv.Key == "location" && kv.Value != DataFile {
				t.Fatalf("initializer %s still points at %s", init.Name, kv.Value)
			}
		}
	}
	if err := onnxgraph.LoadExternal(got, dir); err != nil {
		t.Fatal(err)
	}
	for _, init := range got.Graph.Initializer {
		if !bytes.Equal(init.RawData, want[init.Name]) {
			t.Errorf("initializer %s differs after the import", init.Name)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "weights.bin")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the source's side file was copied as well: %v", err)
	}
}

func testCopy(t *testing.T, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// The same snapshot imported from two folders writes the same encoder.json
// (part of the encoder's checksum, which caches, heads and collections are
// filed under): where it was on this machine is not in it.
func TestImportIsTheSameFromAnyFolder(t *testing.T) {
	src, _ := snapshot(t, map[string]string{"modules.json": stModules, "1_Pooling/config.json": `{"pooling_mode_cls_token":true}`})
	moved := filepath.Join(t.TempDir(), "elsewhere")
	if err := os.CopyFS(moved, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	var written [2][]byte
	for i, from := range []string{src, moved} {
		root := t.TempDir()
		if _, err := Import(t.Context(), root, ImportOptions{Name: "mine", From: from, Check: (&fakeCheck{dim: 32}).check}); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(root, "mine", ConfigFile))
		if err != nil {
			t.Fatal(err)
		}
		written[i] = b
	}
	if string(written[0]) != string(written[1]) {
		t.Errorf("encoder.json differs by the snapshot's folder:\n%s\n%s", written[0], written[1])
	}
	// An imported encoder copied elsewhere (another machine) and imported
	// again under its name is the same encoder too.
	first := t.TempDir()
	if _, err := Import(t.Context(), first, ImportOptions{Name: "mine", From: src, Check: (&fakeCheck{dim: 32}).check}); err != nil {
		t.Fatal(err)
	}
	copied := filepath.Join(t.TempDir(), "copied")
	if err := os.CopyFS(copied, os.DirFS(filepath.Join(first, "mine"))); err != nil {
		t.Fatal(err)
	}
	again := t.TempDir()
	if _, err := Import(t.Context(), again, ImportOptions{Name: "mine", From: copied, Check: (&fakeCheck{dim: 32}).check}); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(again, "mine", ConfigFile)); err != nil || string(b) != string(written[0]) {
		t.Errorf("re-imported encoder.json differs (%v):\n%s\n%s", err, b, written[0])
	}
}

// Where the snapshot's settings are read from: the folder above onnx/ when
// --from names the model file, encoder.json when the folder has one (its
// query-only mark kept), the snapshot's file before the working
// directory's for --onnx, nothing when every setting is given.
func TestImportSources(t *testing.T) {
	st := map[string]string{"modules.json": stModules, "1_Pooling/config.json": `{"pooling_mode_cls_token":true}`,
		"sentence_bert_config.json": `{"max_seq_length":96}`}
	src, _ := snapshot(t, st)
	root := t.TempDir()
	fc := &fakeCheck{dim: 32}
	rep, err := Import(t.Context(), root, ImportOptions{Name: "by-file", From: filepath.Join(src, "onnx", ModelFile), Check: fc.check})
	if err != nil {
		t.Fatal(err)
	}
	if c := rep.Config; c.Pooling != PoolingCLS || c.MaxLength != 96 {
		t.Errorf("--from onnx/model.onnx: %s/%d, want the snapshot's cls/96", c.Pooling, c.MaxLength)
	}

	own := t.TempDir()
	writeFiles(t, own, map[string]string{ConfigFile: `{"name":"x","format_version":1,"pooling":"cls","normalize":false,"max_length":64,"dim":32,
		"provenance":{"head_apply":"query"}}`, "modules.json": `{broken`})
	for _, f := range []string{ModelFile, TokenizerFile} {
		testCopy(t, filepath.Join(src, map[string]string{ModelFile: "onnx/model.onnx", TokenizerFile: TokenizerFile}[f]), filepath.Join(own, f))
	}
	rep, err = Import(t.Context(), root, ImportOptions{Name: "own", From: own, MaxLength: 48, Check: fc.check})
	if err != nil {
		t.Fatal(err)
	}
	if c := rep.Config; c.Pooling != PoolingCLS || c.Normalize || c.MaxLength != 48 || !c.QueryOnly() {
		t.Errorf("from encoder.json with --max-length 48: %+v", c)
	}

	// A broken modules.json does not matter when every setting is given,
	// and the query-only mark is kept even then.
	yes := true
	rep, err = Import(t.Context(), root, ImportOptions{Name: "all-given", From: own, Pooling: PoolingMean, Normalize: &yes, MaxLength: 32, Check: fc.check})
	if err != nil || !rep.Config.QueryOnly() {
		t.Errorf("every setting given: %v, query-only %t", err, rep.Config.QueryOnly())
	}

	// --onnx relative: the snapshot's file, not the working directory's.
	cwd := t.TempDir()
	writeFiles(t, cwd, map[string]string{"onnx/model.onnx": "not this one"})
	t.Chdir(cwd)
	rep, err = Import(t.Context(), root, ImportOptions{Name: "rel", From: src, ONNX: "onnx/model.onnx", Check: fc.check})
	if err != nil || rep.Config.Provenance["model_file"] != "onnx/"+ModelFile {
		t.Errorf("--onnx onnx/model.onnx: %v, model_file %v", err, rep.Config.Provenance["model_file"])
	}
}

// The tokenizer's truncation length is a source of max_length, after
// sentence-transformers' and before the model's positions.
func TestDetectMaxLengthFromTokenizer(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{TokenizerFile: `{"truncation":{"max_length":128}}`, "config.json": `{"max_position_embeddings":512}`})
	s, err := detectSettings(dir, filepath.Join(dir, TokenizerFile), ImportOptions{}, false)
	if err != nil || s.maxLength != 128 {
		t.Errorf("max_length %d, %v; want the tokenizer's 128", s.maxLength, err)
	}
}

// An import that finds its name taken when it is placed (another import of
// the same name finished first) fails instead of replacing it; with force
// the two folders are exchanged. The next import removes the staging
// folders of imports that died, puts back an encoder one had moved aside,
// and leaves live imports alone.
func TestImportPlacementAndDeadStages(t *testing.T) {
	root := t.TempDir()
	dest := filepath.Join(root, "taken")
	writeFiles(t, dest, map[string]string{"a": "first"})
	stg, err := newStaging(root)
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, stg.dir, map[string]string{"a": "new"})
	if err := stg.place(dest, false); err == nil || !strings.Contains(err.Error(), "appeared while this import ran") {
		t.Errorf("placing over a finished import: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dest, "a")); string(b) != "first" {
		t.Errorf("the first import was replaced: %q", b)
	}
	if err := stg.place(dest, true); err != nil {
		t.Fatal(err)
	}
	stg.close()
	if b, _ := os.ReadFile(filepath.Join(dest, "a")); string(b) != "new" {
		t.Errorf("a forced placement left %q", b)
	}
	if names := dirNames(t, root); !slices.Equal(names, []string{"taken"}) {
		t.Errorf("after a forced placement the models folder holds %v", names)
	}

	// A dead import: its lock file is not held; it had moved "victim"
	// aside and died before the new one took its place.
	dead := filepath.Join(root, stagePrefix+"dead")
	writeFiles(t, root, map[string]string{stagePrefix + "dead" + lockSuffix: ""})
	writeFiles(t, dead, map[string]string{"a": "half"})
	writeFiles(t, dead+replacedSuffix, map[string]string{ConfigFile: `{"name":"victim","format_version":1,"pooling":"mean","normalize":true,"max_length":8,"dim":2}`})
	live, err := newStaging(root)
	if err != nil {
		t.Fatal(err)
	}
	defer live.close()
	cleanDeadStages(root)
	want := []string{filepath.Base(live.dir), filepath.Base(live.dir) + lockSuffix, "taken", "victim"}
	if names := dirNames(t, root); !slices.Equal(names, want) {
		t.Errorf("after cleaning: %v, want %v", names, want)
	}
}

// The token table is found behind a Cast of input_ids too (exports that
// gather with int32 indices), and in the tiny BERT fixture directly.
func TestTokenRows(t *testing.T) {
	b := onnxgraph.New("g")
	ids := b.Input("input_ids", onnx.TensorProto_INT64, onnxgraph.Sym("b"), onnxgraph.Sym("s"))
	table := b.Float32("table", []int64{7, 2}, make([]float32, 14))
	cast := b.Op("Cast", []string{ids}, onnxgraph.AttrInt("to", int64(onnx.TensorProto_INT32)))
	b.NamedOp("Gather", "out", []string{table, cast})
	b.Output("out", onnx.TensorProto_FLOAT, onnxgraph.Sym("b"), onnxgraph.Sym("s"), onnxgraph.Fixed(2))
	m, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	if got := tokenRows(m.Graph); got != 7 {
		t.Errorf("token rows behind a Cast: %d, want 7", got)
	}
	fixture, err := onnxgraph.Load(filepath.Join(writeFixture(t, TinyBERTConfig(), 3), ModelFile))
	if err != nil {
		t.Fatal(err)
	}
	if got := tokenRows(fixture.Graph); got != TinyBERTConfig().VocabSize {
		t.Errorf("tiny BERT's token rows: %d, want %d", got, TinyBERTConfig().VocabSize)
	}
}

// do_lower_case over a tokenizer that keeps case is warned about (retune
// tokenizes as tokenizer.json says); over one that lowercases it is moot.
func TestImportWarnsOfDoLowerCase(t *testing.T) {
	for _, tc := range []struct {
		name      string
		lowercase bool
		warned    bool
	}{{"cased tokenizer", false, true}, {"uncased tokenizer", true, false}} {
		t.Run(tc.name, func(t *testing.T) {
			src, _ := snapshot(t, map[string]string{"sentence_bert_config.json": `{"max_seq_length":64,"do_lower_case":true}`})
			path := filepath.Join(src, TokenizerFile)
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var tok map[string]any
			if err := json.Unmarshal(raw, &tok); err != nil {
				t.Fatal(err)
			}
			tok["normalizer"] = map[string]any{"type": "BertNormalizer", "lowercase": tc.lowercase, "clean_text": true}
			raw, _ = json.Marshal(tok)
			writeFiles(t, src, map[string]string{TokenizerFile: string(raw)})
			rep, err := Import(t.Context(), t.TempDir(), ImportOptions{Name: "mine", From: src, Check: (&fakeCheck{dim: 32}).check})
			if err != nil {
				t.Fatal(err)
			}
			warned := strings.Contains(strings.Join(rep.Warnings, "\n"), "do_lower_case")
			if warned != tc.warned {
				t.Errorf("warnings %q, want a do_lower_case warning: %t", rep.Warnings, tc.warned)
			}
		})
	}
}
