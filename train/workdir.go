package train

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"syscall"

	"retune/dataset"
	"retune/internal/atomicfile"
	"retune/negatives"
)

// WorkRunFile records what a work folder's stage outputs and checkpoint
// were made from; a folder holding it is a run's work folder. A resumed run must match it: with other settings, an
// other encoder or other data, reusing mined.json or the checkpoint would
// report a result nobody asked for.
const WorkRunFile = "run.json"

// ErrOtherRun is wrapped by Run when its work folder holds a run with other
// settings, encoder or data.
var ErrOtherRun = errors.New("the work folder holds another run")

// workRun is the identity of a run, as stored in WorkRunFile.
type workRun struct {
	Config          PipelineConfig `json:"config"`
	Encoder         string         `json:"encoder"`
	EncoderChecksum string         `json:"encoder_checksum"`
	// Generator is set when the run generates negatives: generated.json
	// is reused on resume only with the same generator settings.
	Generator *negatives.GeneratorSettings `json:"generator,omitempty"`
	// Data fingerprints the dataset's ids and the training judgements (not
	// the texts, which the embedding cache keys by content anyway).
	Data string `json:"data"`
}

// checkWorkDir records this run in the work folder, or, when the folder
// already holds one, refuses to resume it with anything different.
func (p *Pipeline) checkWorkDir(data *dataset.BEIR, trainQrels map[string]map[string]int, cfg PipelineConfig) error {
	if p.WorkDir == "" {
		return nil
	}
	sum, err := p.Encoder.Checksum()
	if err != nil {
		return err
	}
	run := workRun{Config: cfg, Encoder: p.Encoder.Name(), EncoderChecksum: sum, Data: dataFingerprint(data, trainQrels)}
	if (cfg.Negatives == NegGenerated || cfg.Negatives == NegBoth) && p.Generator != nil {
		gs := negatives.SettingsOf(p.Generator)
		run.Generator = &gs
	}
	err = checkWorkRun(p.WorkDir, run)
	var other *otherRunError
	if p.RestartOnOtherRun && errors.As(err, &other) {
		if err := clearAttempt(p.WorkDir); err != nil {
			return err
		}
		note := fmt.Sprintf("this run's settings changed since its last attempt (%s): it starts over", strings.Join(other.diff, "; "))
		if other.encoderOnly() {
			note = fmt.Sprintf("encoder %s was replaced since this run's last attempt: it starts over on the new files", run.Encoder)
		}
		p.emit(StageEvent{Stage: StageEmbedding, Warn: true, Note: note})
		return checkWorkRun(p.WorkDir, run)
	}
	return err
}

// otherRunError is checkWorkRun's refusal, with the settings that differ.
type otherRunError struct {
	dir       string
	prev, now workRun
	diff      []string // "path: earlier → now"
}

func (e *otherRunError) Error() string {
	if err := e.prev.Config.Validate(); err != nil {
		// An earlier build, with looser bounds, recorded a run this one
		// cannot resume with the same settings.
		return fmt.Sprintf("%s: %v, with other settings (%s), which this build refuses (%s): use a new work folder",
			e.dir, ErrOtherRun, strings.Join(e.diff, "; "), strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	return fmt.Sprintf("%s: %v, with other settings (%s): resume it with the same ones, or use a new work folder",
		e.dir, ErrOtherRun, strings.Join(e.diff, "; "))
}

func (e *otherRunError) Unwrap() error { return ErrOtherRun }

// encoderOnly reports whether only the encoder's checksum differs: the
// same encoder name, other files.
func (e *otherRunError) encoderOnly() bool {
	prev := e.prev
	prev.EncoderChecksum = e.now.EncoderChecksum
	return e.prev.EncoderChecksum != e.now.EncoderChecksum && len(diffJSON(prev, e.now)) == 0
}

// attemptFiles are what an attempt keeps in a work folder, in the order
// clearAttempt removes them: run.json, which names whose the others are,
// last, so that a crash part way leaves them claimed by the run they are
// of, not adopted by the next one.
var attemptFiles = []string{minedStageFile, generatedStageFile, timingsFile, checkpointDir, WorkRunFile}

// IsWorkFile reports whether name is one a run keeps in its work folder
// (or a temporary file of one, which a killed run leaves): a folder of
// nothing else, without run.json, is an earlier build's.
func IsWorkFile(name string) bool {
	return name == llmSpentFile || slices.Contains(attemptFiles, name) || atomicfile.IsTemp(name)
}

// clearAttempt removes what an earlier attempt kept in a work folder: its
// identity, stage outputs, checkpoints and timings. The LLM spending record
// stays: that money is spent whatever the run trains on.
func clearAttempt(dir string) error {
	for _, name := range attemptFiles {
		if err := os.RemoveAll(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("work folder %s: %w", dir, err)
		}
	}
	return nil
}

// writeWorkFile writes a file that only spares a restart work (a stage's
// output, a checkpoint) into the work folder dir, which it creates. A
// folder fsync that fails after the rename counts as written: the file is
// there for any restart but one after a power cut.
func writeWorkFile(dir, name string, b []byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil && !errors.Is(err, atomicfile.ErrSyncDir) {
		return err
	}
	return nil
}

// writeCause is what made a write fail, without the paths in err: a job's
// notes reach its client, who has no business with the server's folders.
func writeCause(err error) string {
	var pe *fs.PathError
	var le *os.LinkError
	var errno syscall.Errno
	switch {
	case errors.As(err, &pe):
		return pe.Op + ": " + writeCause(pe.Err)
	case errors.As(err, &le):
		return le.Op + ": " + writeCause(le.Err)
	case errors.As(err, &errno):
		return errno.Error()
	}
	return "the write failed"
}

// checkWorkRun writes run into dir, or compares it with the one there.
func checkWorkRun(dir string, run workRun) error {
	path := filepath.Join(dir, WorkRunFile)
	raw, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		b, err := json.MarshalIndent(run, "", " ")
		if err != nil {
			return err
		}
		return atomicfile.WriteFile(path, b, 0o644)
	case err != nil:
		return err
	}
	// Read over (a copy of) this run: a setting a later build added, absent
	// from the file, counts as this run's, not as a difference.
	var prev workRun
	now, err := json.Marshal(run)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(now, &prev); err != nil {
		return err
	}
	if err := json.Unmarshal(raw, &prev); err != nil {
		return fmt.Errorf("work folder %s: %s: %w", dir, WorkRunFile, err)
	}
	// How many pairs are generated at once changes how fast, not what:
	// a resume may change it, as it may the LLM's concurrency.
	prev.Config.Generation.Concurrency = run.Config.Generation.Concurrency
	// No temperature now means the model takes none, so none was sent to it
	// either: an earlier build recorded the configured one regardless.
	if run.Generator != nil && run.Generator.Temperature == nil && prev.Generator != nil {
		prev.Generator.Temperature = nil
	}
	if diff := diffJSON(prev, run); len(diff) > 0 {
		return &otherRunError{dir: dir, prev: prev, now: run, diff: diff}
	}
	return nil
}

// dataFingerprint hashes the corpus and query ids and the judgements.
func dataFingerprint(data *dataset.BEIR, qrels map[string]map[string]int) string {
	h := sha256.New()
	for _, d := range data.Corpus {
		fmt.Fprintf(h, "d\x00%s\x00", d.ID)
	}
	for _, q := range data.Queries {
		fmt.Fprintf(h, "q\x00%s\x00", q.ID)
	}
	for _, q := range sortedKeys(qrels) {
		for _, d := range sortedKeys(qrels[q]) {
			fmt.Fprintf(h, "j\x00%s\x00%s\x00%d\x00", q, d, qrels[q][d])
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// diffJSON lists the leaves where a and b differ, as "path: a → b", in
// path order.
func diffJSON(a, b any) []string {
	fa, fb := map[string]any{}, map[string]any{}
	flattenJSON(a, fa)
	flattenJSON(b, fb)
	keys := map[string]bool{}
	for k := range fa {
		keys[k] = true
	}
	for k := range fb {
		keys[k] = true
	}
	var out []string
	for k := range keys {
		if !reflect.DeepEqual(fa[k], fb[k]) {
			out = append(out, fmt.Sprintf("%s: %v → %v", k, show(fa[k]), show(fb[k])))
		}
	}
	sort.Strings(out)
	return out
}

func show(v any) string {
	if v == nil {
		return "unset"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// flattenJSON maps v's JSON form to dotted leaf paths.
func flattenJSON(v any, out map[string]any) {
	var generic any
	b, _ := json.Marshal(v) // config and strings: cannot fail
	_ = json.Unmarshal(b, &generic)
	var walk func(x any, path string)
	walk = func(x any, path string) {
		if m, ok := x.(map[string]any); ok {
			for k, c := range m {
				p := k
				if path != "" {
					p = path + "." + k
				}
				walk(c, p)
			}
			return
		}
		out[path] = x
	}
	walk(generic, "")
}
