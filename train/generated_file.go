package train

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
// says what is wrong with it: not the JSON SaveGenerated writes (unknown or
// missing fields, data after it), or a negative without its pair or text.
// It reads one negative at a time, so a large file costs no more memory
// than its largest item.
func CheckGenerated(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	dec := json.NewDecoder(bufio.NewReader(f))
	dec.DisallowUnknownFields()
	bad := func(format string, args ...any) error {
		return fmt.Errorf("not a %s as retune train writes it: %s", GeneratedFile, fmt.Sprintf(format, args...))
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return bad("it is not a JSON object")
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return bad("%v", err)
		}
		key, _ := tok.(string)
		if seen[key] {
			return bad("%q appears twice", key)
		}
		seen[key] = true
		switch key {
		case "report":
			var r negatives.Report
			if err := dec.Decode(&r); err != nil {
				return bad("report: %v", err)
			}
		case "negatives":
			if err := eachItem(dec, func(i int) error {
				var n negatives.Negative
				if err := dec.Decode(&n); err != nil {
					return bad("negatives[%d]: %v", i, err)
				}
				if n.QueryID == "" || n.PosID == "" || n.Text == "" {
					return fmt.Errorf("%s: negatives[%d] lacks its query_id, pos_id or text", GeneratedFile, i)
				}
				return nil
			}); err != nil {
				return err
			}
		case "rejected":
			if err := eachItem(dec, func(i int) error {
				var r negatives.Rejection
				if err := dec.Decode(&r); err != nil {
					return bad("rejected[%d]: %v", i, err)
				}
				return nil
			}); err != nil {
				return err
			}
		default:
			return bad("unknown field %q", key)
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return bad("%v", err)
	}
	if !seen["report"] || !seen["negatives"] {
		return fmt.Errorf("%s needs a \"report\" and a \"negatives\" array", GeneratedFile)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return bad("data after the JSON object")
	}
	return nil
}

// eachItem calls item for each element of the JSON array dec is at.
func eachItem(dec *json.Decoder, item func(i int) error) error {
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return fmt.Errorf("not a %s as retune train writes it: expected an array", GeneratedFile)
	}
	for i := 0; dec.More(); i++ {
		if err := item(i); err != nil {
			return err
		}
	}
	_, err := dec.Token() // ']'
	return err
}
