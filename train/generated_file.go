package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"retune/internal/atomicfile"
	"retune/negatives"
)

// GeneratedFile is the file, in a head's folder, that holds the run's kept
// counterfactuals with their provenance (pair, requirement broken, violation
// type, source, explanation), the refused ones with their reasons, and the
// generation report with its shortcut
// diagnostics and, for LLM generators, the model and prompts: what a head
// was trained against travels with it.
const GeneratedFile = "negatives.json"

// generatedDoc is GeneratedFile's content.
type generatedDoc struct {
	Report    *negatives.Report     `json:"report"`
	Negatives []negatives.Negative  `json:"negatives"`
	Rejected  []negatives.Rejection `json:"rejected"` // absent in files from before it was kept
}

// SaveGenerated writes res's generated negatives into dir as
// GeneratedFile, or removes that file when the run generated none (a folder
// reused from a run that did must not keep them).
func SaveGenerated(dir string, res *Result) error {
	path := filepath.Join(dir, GeneratedFile)
	if res.Generation == nil {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	kept := res.Generated
	if kept == nil {
		kept = []negatives.Negative{} // [] rather than null when none was kept
	}
	rejected := res.Rejected
	if rejected == nil {
		rejected = []negatives.Rejection{}
	}
	b, err := json.MarshalIndent(generatedDoc{Report: res.Generation, Negatives: kept, Rejected: rejected}, "", " ")
	if err != nil {
		return fmt.Errorf("encode generated negatives: %w", err)
	}
	return atomicfile.WriteFile(path, b, 0o644)
}

// CheckGenerated reads a GeneratedFile (one sent with an uploaded head) and
// says what is wrong with it: not the JSON SaveGenerated writes, or a
// negative without its pair or text.
func CheckGenerated(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	dec.DisallowUnknownFields()
	var doc generatedDoc
	if err := dec.Decode(&doc); err != nil {
		return fmt.Errorf("not a %s as retune train writes it: %w", GeneratedFile, err)
	}
	if doc.Report == nil || doc.Negatives == nil {
		return fmt.Errorf("%s needs a \"report\" and a \"negatives\" array", GeneratedFile)
	}
	for i, n := range doc.Negatives {
		if n.QueryID == "" || n.PosID == "" || n.Text == "" {
			return fmt.Errorf("%s: negatives[%d] lacks its query_id, pos_id or text", GeneratedFile, i)
		}
	}
	return nil
}
