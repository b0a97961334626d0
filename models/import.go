package models

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/advancedclimatesystems/gonnx/onnx"

	"retune/internal/atomicfile"
	"retune/model/onnxgraph"
)

// ImportBuildPrefix starts the Build field of an imported encoder's
// encoder.json; Import replaces (with Force) only folders it wrote.
const ImportBuildPrefix = "retune-import/"

// ImportOptions say where an encoder comes from and which of its settings to
// take as given instead of reading them from the snapshot's configs.
type ImportOptions struct {
	Name string // folder name under the models root
	// From is a folder holding the ONNX export and tokenizer.json (a Hugging
	// Face or sentence-transformers snapshot, or a folder laid out like
	// retune's own), or the .onnx file itself.
	From string
	// ONNX is the model file when From holds several (e.g.
	// onnx/model_quantized.onnx); default model.onnx, then onnx/model.onnx.
	ONNX      string
	Pooling   string // "" detects; one of PoolingModes
	Normalize *bool  // nil detects
	MaxLength int    // 0 detects
	Force     bool   // replace an earlier import of the same name
	// Check opens the staged folder as retune will (session, tokenizer,
	// pooling), embeds a short text and one of maxLength tokens, and
	// returns the vectors' width. The models package cannot open encoders
	// itself (package model imports it).
	// tokenRows is the model's token table size (0: not found), for the
	// check that the tokenizer's ids fit it.
	Check func(ctx context.Context, dir string, maxLength, tokenRows int) (dim int, err error)
}

// ImportReport is what Import wrote and where each setting came from.
type ImportReport struct {
	Dir      string        `json:"dir"`
	Config   EncoderConfig `json:"encoder"` // its provenance's "settings" say where each setting came from
	Warnings []string      `json:"warnings,omitempty"`
}

// builtinNames are the encoders Setup and the fixtures own: an import under
// one of them would be overwritten by the next `make setup`.
var builtinNames = []string{GloveName, MiniLMFixture, TinyFixture}

// Import copies an ONNX encoder and its tokenizer into root/Name with an
// encoder.json holding its pooling, normalisation and token limit (read
// from the snapshot's sentence-transformers configs unless given), checks
// that retune can run it, and only then moves it into place: a failed
// import leaves the models folder as it was. Large weights kept as ONNX
// external data, under any file names, are rewritten into model.onnx.data,
// the one side file the encoder checksum (embedding caches, heads) covers.
func Import(ctx context.Context, root string, o ImportOptions) (ImportReport, error) {
	var rep ImportReport
	if o.Check == nil {
		return rep, errors.New("import: no encoder check given")
	}
	if err := checkImportName(root, o); err != nil {
		return rep, err
	}
	from, modelPath, tokPath, err := locateImport(o)
	if err != nil {
		return rep, err
	}
	ins, outs, err := onnxgraph.ReadIO(modelPath)
	if err != nil {
		return rep, fmt.Errorf("import: %s is not an ONNX model retune can read: %w", modelPath, err)
	}
	pooled, width := importOutput(outs)
	set, err := detectSettings(from, tokPath, o, pooled)
	if err != nil {
		return rep, fmt.Errorf("import: %w", err)
	}
	if err := CheckRoot(root); err != nil {
		return rep, err
	}
	cleanDeadStages(root)
	stg, err := newStaging(root)
	if err != nil {
		return rep, fmt.Errorf("import: %w", err)
	}
	defer stg.close()
	stage := stg.dir
	cfg, rows, err := stageImport(ctx, stage, modelPath, tokPath)
	if err != nil {
		return rep, fmt.Errorf("import: %w", err)
	}
	cfg.Name, cfg.FormatVersion, cfg.Build = o.Name, EncoderFormatVersion, ImportBuildPrefix+"1"
	cfg.Pooling, cfg.Normalize, cfg.MaxLength = set.pooling, set.normalize, set.maxLength
	cfg.Inputs = make([]string, 0, len(ins))
	for _, in := range ins {
		cfg.Inputs = append(cfg.Inputs, in.GetName())
	}
	cfg.Output = "last_hidden_state"
	if pooled {
		cfg.Output = "sentence_embedding"
	}
	// Paths inside the snapshot, not where it was on this machine:
	// encoder.json is part of the encoder's checksum (caches, heads,
	// collections), so the same snapshot imported from another folder, or
	// on another machine, must give the same encoder.
	cfg.Provenance = map[string]any{"model_file": inSnapshot(from, modelPath),
		"tokenizer_file": inSnapshot(from, tokPath), "settings": set.notes}
	if set.provenance != nil {
		cfg.Provenance = set.provenance // an earlier import's, which describes the snapshot it came from
	}
	if set.headApply != "" {
		cfg.Provenance[ProvenanceHeadApply] = set.headApply // a query-only fused export stays query-only
	}
	cfg.Dim = int(width)
	if cfg.Dim <= 0 {
		// A symbolic output width: learn it from the model before
		// encoder.json (which must record it) exists.
		if cfg.Dim, err = o.Check(ctx, stage, set.maxLength, rows); err != nil {
			return rep, checkError(err, stage, from, modelPath, tokPath)
		}
	}
	if err := writeEncoderConfig(stage, cfg); err != nil {
		return rep, fmt.Errorf("import: %w", err)
	}
	dim, err := o.Check(ctx, stage, set.maxLength, rows)
	if err != nil {
		return rep, checkError(err, stage, from, modelPath, tokPath)
	}
	if dim != cfg.Dim {
		return rep, fmt.Errorf("import: the model's vectors have %d values, its output declares %d", dim, cfg.Dim)
	}
	dest := filepath.Join(root, o.Name)
	if err := stg.place(dest, o.Force); err != nil {
		return rep, fmt.Errorf("import: %w", err)
	}
	return ImportReport{Dir: dest, Config: cfg, Warnings: set.warnings}, nil
}

// ErrNameTaken is matched by an import's refusal of a name already in use
// (without --force, or by a folder an import did not write): a command
// line to change, not a failure.
var ErrNameTaken = errors.New("encoder name taken")

type nameTaken struct{ error }

func (nameTaken) Is(target error) bool { return target == ErrNameTaken }

// ImportNameError says why name cannot name an imported encoder (nil: it
// can): a path, or a built-in encoder's name.
func ImportNameError(name string) error {
	if !ValidName(name) {
		return fmt.Errorf("name %q: use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit", name)
	}
	if slices.Contains(builtinNames, name) {
		maker := "`make setup`"
		if name != GloveName {
			maker = "`make fixtures`"
		}
		return fmt.Errorf("%q is a built-in encoder's name (%s would overwrite it); choose another", name, maker)
	}
	if name == ortFolder {
		return fmt.Errorf("%q is where the models folder keeps ONNX Runtime; choose another name", name)
	}
	return nil
}

// checkImportName refuses names that escape the models folder, that the
// built-in encoders own, or that an encoder other than an earlier import
// (or, without Force, any encoder) already holds.
func checkImportName(root string, o ImportOptions) error {
	if err := ImportNameError(o.Name); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	dest := filepath.Join(root, o.Name)
	if _, err := os.Stat(dest); errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	if !o.Force {
		return nameTaken{fmt.Errorf("import: %s already exists; --force replaces an earlier import", dest)}
	}
	cfg, ok, err := ReadEncoderConfig(dest)
	if err != nil || !ok || !strings.HasPrefix(cfg.Build, ImportBuildPrefix) {
		return nameTaken{fmt.Errorf("import: %s is not an encoder `retune models add` wrote; --force replaces only those (remove it yourself if it should go)", dest)}
	}
	return nil
}

// locateImport finds the model file and tokenizer.json of o.From.
func locateImport(o ImportOptions) (from, modelPath, tokPath string, err error) {
	from = o.From
	st, err := os.Stat(from)
	if err != nil {
		return "", "", "", fmt.Errorf("import: %w", err)
	}
	switch {
	case !st.IsDir():
		if o.ONNX != "" {
			return "", "", "", errors.New("import: --from names a model file; --onnx needs --from to be its snapshot folder")
		}
		modelPath, from = from, filepath.Dir(from)
		if filepath.Base(from) == "onnx" {
			from = filepath.Dir(from) // the snapshot's configs and tokenizer are one level up
		}
	case o.ONNX != "":
		modelPath = o.ONNX
		if !filepath.IsAbs(modelPath) {
			// The snapshot's file first: the same relative path may name
			// another model in the working directory.
			if _, err := os.Stat(filepath.Join(from, o.ONNX)); err == nil {
				modelPath = filepath.Join(from, o.ONNX)
			}
		}
	default:
		for _, c := range []string{ModelFile, filepath.Join("onnx", ModelFile)} {
			if _, err := os.Stat(filepath.Join(from, c)); err == nil {
				modelPath = filepath.Join(from, c)
				break
			}
		}
		if modelPath == "" {
			others, _ := filepath.Glob(filepath.Join(from, "onnx", "*.onnx"))
			hint := ""
			if len(others) > 0 {
				hint = fmt.Sprintf("; choose one of %s with --onnx", strings.Join(others, ", "))
			}
			return "", "", "", fmt.Errorf("import: %s holds neither %s nor onnx/%s%s", from, ModelFile, ModelFile, hint)
		}
	}
	if st, err := os.Stat(modelPath); err != nil {
		return "", "", "", fmt.Errorf("import: %w", err)
	} else if st.IsDir() {
		return "", "", "", fmt.Errorf("import: %s is a folder, not an ONNX model file", modelPath)
	}
	for _, c := range []string{filepath.Join(from, TokenizerFile), filepath.Join(filepath.Dir(modelPath), TokenizerFile)} {
		if _, err := os.Stat(c); err == nil {
			return from, modelPath, c, nil
		}
	}
	return "", "", "", fmt.Errorf("import: no %s in %s: retune needs the fast tokenizer's file (transformers' tokenizer.save_pretrained writes it)", TokenizerFile, from)
}

// importOutput says whether the model outputs a ready sentence_embedding
// (which model.Open prefers) and the width it declares (0: symbolic).
func importOutput(outs []*onnx.ValueInfoProto) (pooled bool, width int64) {
	for _, want := range []string{"sentence_embedding", "last_hidden_state"} {
		for _, out := range outs {
			if out.GetName() == want {
				w, _ := onnxgraph.LastDim(out)
				return want == "sentence_embedding", w
			}
		}
	}
	return false, 0 // the check names the outputs it wanted
}

// stageImport writes model.onnx (with its external data gathered into
// model.onnx.data) and tokenizer.json into stage, and returns an
// EncoderConfig holding their sizes and checksum, and the model's token
// table size (tokenRows).
func stageImport(ctx context.Context, stage, modelPath, tokPath string) (cfg EncoderConfig, rows int, err error) {
	m, err := onnxgraph.Load(modelPath)
	if err != nil {
		return cfg, 0, err
	}
	rows = tokenRows(m.Graph)
	dst := filepath.Join(stage, ModelFile)
	if hasExternal(m.Graph) {
		if err := onnxgraph.LoadExternal(m, filepath.Dir(modelPath)); err != nil {
			return cfg, rows, fmt.Errorf("%s: %w", modelPath, err)
		}
		chunks := onnxgraph.Externalize(m, DataFile, importExternalMin)
		dataPath := filepath.Join(stage, DataFile)
		err := atomicfile.WriteContext(ctx, dataPath, 0o644, func(w io.Writer) error { return onnxgraph.WriteExternal(w, chunks) })
		if err != nil {
			return cfg, rows, err
		}
		st, err := os.Stat(dataPath)
		if err != nil {
			return cfg, rows, err
		}
		cfg.DataSize = st.Size()
		data, err := onnxgraph.Marshal(m)
		if err != nil {
			return cfg, rows, err
		}
		if err := atomicfile.WriteFile(dst, data, 0o644); err != nil {
			return cfg, rows, err
		}
	} else if err := copyFileContext(ctx, modelPath, dst); err != nil {
		return cfg, rows, err
	}
	if cfg.ModelSHA256, err = fileSHA256(dst); err != nil {
		return cfg, rows, err
	}
	st, err := os.Stat(dst)
	if err != nil {
		return cfg, rows, err
	}
	cfg.ModelSize = st.Size()
	if err := copyFileContext(ctx, tokPath, filepath.Join(stage, TokenizerFile)); err != nil {
		return cfg, rows, err
	}
	return cfg, rows, nil
}

// tokenRows is the row count of the table input_ids index (the Gather whose
// indices are input_ids, possibly cast or reshaped first, and whose data is
// an initializer), 0 when the graph has no such lookup (the check is then
// skipped).
func tokenRows(g *onnx.GraphProto) int {
	inits := map[string]*onnx.TensorProto{}
	for _, t := range g.Initializer {
		inits[t.Name] = t
	}
	ids := map[string]bool{"input_ids": true} // and what merely re-types or re-shapes it
	for _, n := range g.Node {
		switch n.OpType {
		case "Cast", "Identity", "Reshape", "Unsqueeze", "Squeeze", "Flatten":
			if len(n.Input) > 0 && ids[n.Input[0]] {
				for _, out := range n.Output {
					ids[out] = true
				}
			}
			continue
		}
		if n.OpType != "Gather" || len(n.Input) < 2 || !ids[n.Input[1]] {
			continue
		}
		if t, ok := inits[n.Input[0]]; ok && len(t.Dims) > 0 {
			return int(t.Dims[0])
		}
	}
	return 0
}

// importExternalMin is the size above which a gathered initializer goes to
// model.onnx.data rather than back into the protobuf.
const importExternalMin = 1 << 10

// hasExternal reports whether any initializer of g or its subgraphs keeps
// its bytes in a side file.
func hasExternal(g *onnx.GraphProto) bool {
	for _, t := range g.Initializer {
		if t.DataLocation == onnx.TensorProto_EXTERNAL {
			return true
		}
	}
	for _, n := range g.Node {
		for _, sg := range onnxgraph.Subgraphs(n) {
			if hasExternal(sg) {
				return true
			}
		}
	}
	return false
}

func copyFileContext(ctx context.Context, src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	return atomicfile.WriteContext(ctx, dst, 0o644, func(w io.Writer) error {
		_, err := io.Copy(w, in)
		return err
	})
}

// inSnapshot is p's path inside the snapshot folder from, or its base name
// for a file outside it.
func inSnapshot(from, p string) string {
	rel, err := filepath.Rel(absPath(from), absPath(p))
	if err != nil || !filepath.IsLocal(rel) {
		return filepath.Base(p)
	}
	return filepath.ToSlash(rel)
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// stageError names the user's model where an error names the staging
// folder, which is gone by the time the user reads it.
type stageError struct {
	err  error
	text string
}

func (e stageError) Error() string { return e.text }
func (e stageError) Unwrap() error { return e.err }

func checkError(err error, stage, from, modelPath, tokPath string) error {
	text := strings.NewReplacer(filepath.Join(stage, ModelFile), modelPath, filepath.Join(stage, TokenizerFile), tokPath,
		stage, from).Replace(err.Error())
	return stageError{err: err, text: "import: retune cannot run " + modelPath + ": " + text}
}
