package main

import (
	"compress/gzip"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"

	"retune/internal/ortenv"
	"retune/linalg"
	"retune/model"
	"retune/models"
)

// runtimeFlags are shared by every command that runs a model.
type runtimeFlags struct {
	ortLib       string
	modelsFolder *hiddenString
	blas         string
}

func (r *runtimeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&r.ortLib, "ort-lib", "", "path to libonnxruntime.so (default: $RETUNE_ORT_LIB, then the models folder)")
	r.modelsFolder = modelsFlag(fs)
	fs.StringVar(&r.blas, "blas", "ort", "large matrix products (training, head projection): ort = ONNX Runtime's MLAS, in float32; gonum = pure Go (training products in float64)")
}

// init loads ONNX Runtime following the documented lookup order.
func (r *runtimeFlags) init() error {
	lib, err := models.ResolveORTLib(r.ortLib, r.modelsFolder.Get())
	if err != nil {
		return err
	}
	if err := ortenv.Init(lib); err != nil {
		return err
	}
	switch r.blas {
	case "ort":
		blasOnce.Do(func() { _, blasErr = linalg.Install(runtime.NumCPU()) })
		return blasErr
	case "gonum":
		return nil
	}
	return usageError{fmt.Errorf("--blas %q: want ort or gonum", r.blas)}
}

// The BLAS is process-wide (gonum's blas64.Use); one install serves every
// command and is never undone before exit.
var (
	blasOnce sync.Once
	blasErr  error
)

// encoderFlags select an encoder by name (models folder) or by path.
type encoderFlags struct {
	runtimeFlags
	name string
	onnx string
	// nameFromHead: name is the encoder a --head records, not one the
	// command line gave (its absence is then no usage error).
	nameFromHead bool
}

func (e *encoderFlags) register(fs *flag.FlagSet, def string) {
	e.runtimeFlags.register(fs)
	fs.StringVar(&e.name, "model", def, "encoder name in the models folder")
	fs.StringVar(&e.onnx, "onnx", "", "encoder folder (model.onnx + tokenizer.json) or its model.onnx; overrides --model")
}

// savedHead is a --head folder, loaded once.
type savedHead struct {
	head *model.Head
	meta model.HeadMeta
}

// loadHead loads the head in dir (nil for "") and, when the command line
// named no encoder (neither --model nor --onnx), makes --model the one the
// head was trained on: a head works only with its own encoder.
func (e *encoderFlags) loadHead(fs *flag.FlagSet, dir string) (*savedHead, error) {
	if dir == "" {
		return nil, nil
	}
	if err := mustExist("head", dir, "folder"); err != nil {
		return nil, err
	}
	h, meta, err := model.LoadHead(dir)
	if err != nil {
		return nil, headFolderHint(dir, err)
	}
	if e.onnx == "" && !flagSet(fs, "model") && meta.Encoder != "" {
		e.name, e.nameFromHead = meta.Encoder, true
	}
	return &savedHead{head: h, meta: meta}, nil
}

// headFolderHint turns a --head that is an encoder's folder (a fused
// export holds the head inside the model) into a usage error naming --onnx.
func headFolderHint(dir string, err error) error {
	if _, serr := os.Stat(filepath.Join(dir, models.ModelFile)); serr == nil {
		return usageError{fmt.Errorf("--head %s is an encoder's folder (a fused export carries its head inside): pass it as --onnx %s", dir, dir)}
	}
	return err
}

// checkedFor returns the head (nil without --head) once it is checked to
// have been trained on enc.
func (s *savedHead) checkedFor(enc *model.Encoder) (*model.Head, error) {
	if s == nil {
		return nil, nil
	}
	sum, err := enc.Checksum()
	if err != nil {
		return nil, err
	}
	if err := model.VerifyEncoder(s.meta, sum); err != nil {
		if s.meta.Encoder != "" && s.meta.Encoder != enc.Name() {
			return nil, withHint(err, fmt.Sprintf("the head was trained on %q: leave out --model and --onnx, or pass --model %s", s.meta.Encoder, s.meta.Encoder))
		}
		return nil, err
	}
	return s.head, nil
}

func (e *encoderFlags) open(ctx context.Context, opts ...model.Option) (*model.Encoder, error) {
	dir, err := e.onnxFolder()
	if err != nil {
		return nil, err
	}
	if dir == "" && e.name == "" {
		return nil, usageError{errors.New("name an encoder with --model NAME or --onnx PATH")}
	}
	if err := e.init(); err != nil {
		return nil, err
	}
	if dir != "" {
		return model.Open(ctx, dir, opts...)
	}
	if dir, err = e.installedDir(); err != nil {
		return nil, err
	}
	return model.Open(ctx, dir, append([]model.Option{model.WithName(e.name)}, opts...)...)
}

// installedDir is the folder of the encoder --model names in the models
// folder, or why there is none: a usage error (exit 2, as a --beir folder
// that is not there) unless the name came from a --head's record.
func (e *encoderFlags) installedDir() (string, error) {
	root := e.modelsFolder.Get()
	if err := models.CheckRoot(root); err != nil {
		return "", err
	}
	dir := filepath.Join(root, e.name)
	if _, err := os.Stat(filepath.Join(dir, models.ModelFile)); err != nil {
		hint := "`make setup` builds the default glove-100d"
		if strings.HasSuffix(e.name, "-fixture") {
			hint = "`make fixtures` builds the random-weight BERT fixtures"
		}
		err := fmt.Errorf("model %q not found in %s (`retune models list` lists what is there; %s)", e.name, root, hint)
		if e.nameFromHead {
			return "", fmt.Errorf("the head's encoder: %w", err)
		}
		return "", usageError{err}
	}
	return dir, nil
}

// mustExist is a usage error (exit 2) when the path flag names is not
// there ("--head DIR: no such folder"): a typo on the command line, told
// before anything loads. Other stat errors are left to the code that opens
// the path, which names them.
func mustExist(flag, path, kind string) error {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return usageError{fmt.Errorf("--%s %s: no such %s", flag, path, kind)}
	}
	return nil
}

// onnxFolder is the encoder folder --onnx names ("" without --onnx): the
// folder itself, or the folder of its model.onnx. model.Open reads
// <folder>/model.onnx, so any other file name would silently load a
// different model.
func (e *encoderFlags) onnxFolder() (string, error) {
	if e.onnx == "" {
		return "", nil
	}
	st, err := os.Stat(e.onnx)
	if errors.Is(err, os.ErrNotExist) {
		return "", usageError{fmt.Errorf("--onnx %s: no such file or folder", e.onnx)}
	}
	if err == nil && st.IsDir() {
		if _, err := os.Stat(filepath.Join(e.onnx, models.ModelFile)); err != nil {
			if model.IsHeadFolder(e.onnx) {
				return "", usageError{fmt.Errorf("--onnx %s is a trained head's folder, not an encoder's: pass it as --head %s", e.onnx, e.onnx)}
			}
			return "", usageError{fmt.Errorf("--onnx %s holds no %s: give an encoder folder (model.onnx + tokenizer.json), e.g. a fused export", e.onnx, models.ModelFile)}
		}
	}
	if err != nil || st.IsDir() {
		return e.onnx, nil // model.Open names what is missing
	}
	if filepath.Base(e.onnx) != models.ModelFile {
		return "", usageError{fmt.Errorf("--onnx %s: give the encoder folder or its %s (the tokenizer.json and encoder.json beside it go with it)", e.onnx, models.ModelFile)}
	}
	return filepath.Dir(e.onnx), nil
}

// parseFlags parses a command's flags and refuses leftover arguments, which
// would otherwise be silently ignored (a typo such as "--epochs 5 10").
// Asked-for help goes to stdout (so `retune train -h | less` works); a bad
// flag is one line on stderr, printed by main, not the whole usage.
func parseFlags(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	if slices.ContainsFunc(args, isHelpFlag) {
		fs.SetOutput(os.Stdout)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{fmt.Errorf("%w (retune %s -h lists the flags)", err, fs.Name())}
	}
	if fs.NArg() > 0 {
		if prev := boolFlagBefore(fs, args); prev != "" {
			// "--in-batch false" parses as --in-batch, then a stray "false".
			return usageError{fmt.Errorf("unexpected argument %q: a true/false flag takes its value after '=' (--%s=%s)", fs.Arg(0), prev, fs.Arg(0))}
		}
		return usageError{fmt.Errorf("unexpected argument %q (all options are --flags; see retune %s -h)", fs.Arg(0), fs.Name())}
	}
	return nil
}

// boolFlagBefore is the name of the boolean flag written just before the
// first leftover argument when that argument reads as a boolean, else "".
func boolFlagBefore(fs *flag.FlagSet, args []string) string {
	i := len(args) - fs.NArg()
	if i < 1 {
		return ""
	}
	if _, err := strconv.ParseBool(fs.Arg(0)); err != nil {
		return ""
	}
	name := strings.TrimLeft(args[i-1], "-")
	if f := fs.Lookup(name); f != nil {
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			return name
		}
	}
	return ""
}

func isHelpFlag(a string) bool { return a == "-h" || a == "--h" || a == "-help" || a == "--help" }

// usageError is a command line that does not parse; main exits 2 for it,
// as for an unknown command, and 1 for a run that failed.
type usageError struct{ error }

// hintedError carries advice on what to do next, which main prints after
// "interrupted" as well as after the error's own text.
type hintedError struct {
	error
	hint string
}

func (e hintedError) Error() string { return e.error.Error() + "; " + e.hint }
func (e hintedError) Unwrap() error { return e.error }

// reworded is an error with another message and the same chain (an
// interrupted import still exits 130).
type reworded struct {
	error
	msg string
}

func (e reworded) Error() string { return e.msg }
func (e reworded) Unwrap() error { return e.error }

// withHint adds hint to a non-nil err.
func withHint(err error, hint string) error {
	if err == nil || hint == "" {
		return err
	}
	return hintedError{err, hint}
}

func (e usageError) Unwrap() error { return e.error }

// writeAllocProfile writes the allocation profile to path (no-op when
// empty); failures are logged, since the run itself succeeded.
func writeAllocProfile(path string, log *slog.Logger) {
	if path == "" {
		return
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.Lookup("allocs").WriteTo(f, 0)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		log.Error("write allocation profile", "path", path, "err", err)
	}
}

// startCPUProfile writes a CPU profile to path until the returned stop runs
// (a no-op when path is empty).
func startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	if st, err := os.Stat(path); err == nil && (!st.Mode().IsRegular() || st.Size() > 0 && !isCPUProfile(path)) {
		return nil, usageError{fmt.Errorf("--cpuprofile %s exists and is not a CPU profile; refusing to overwrite it (give a new file name)", path)}
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil { // a full disk: the profile is cut short
			fmt.Fprintf(os.Stderr, "retune: CPU profile %s: %v\n", path, err)
		}
	}, nil
}

// isCPUProfile reports whether path looks like a profile this program
// wrote: a gzip stream whose content starts as runtime/pprof starts a
// Profile message, with the key of time_nanos (field 9, a varint: 0x48) and
// then the value's first byte. An earlier run's profile may be replaced;
// any other file (a corpus, a model, compressed CSV or JSON) may not.
func isCPUProfile(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return false
	}
	var head [2]byte
	_, err = io.ReadFull(zr, head[:])
	return err == nil && head[0] == 0x48
}

// newFlags is a command's flag set whose -h output starts with how to call
// the command and what it does, then its flags.
func newFlags(name, synopsis, about string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintf(out, "usage: retune %s %s\n\n%s\n\nflags:\n", name, synopsis, about)
		fs.PrintDefaults()
	}
	return fs
}
