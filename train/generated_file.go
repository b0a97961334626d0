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
	"reflect"
	"slices"

	"retune/internal/atomicfile"
	"retune/internal/jsontype"
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
// says what is wrong with it: not the JSON SaveGenerated writes (fields
// unknown, in another case, repeated or null; data after it), a negative
// without its pair or text or with a generator or violation type retune
// does not have, a rejection without its reason, or counts that disagree
// with the lists. It reads one item at a time, so a large file costs no
// more memory than its largest item.
func CheckGenerated(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	dec := json.NewDecoder(bufio.NewReader(f))
	bad := func(format string, args ...any) error {
		return fmt.Errorf("not a %s as retune train writes it: %s", GeneratedFile, fmt.Sprintf(format, args...))
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return bad("it is not a JSON object")
	}
	var report negatives.Report
	kept, rejected := 0, -1 // -1: no "rejected" list (files from before it was kept)
	byType, byReason := map[string]int{}, map[string]int{}
	var generators []string // of the negatives, kept and refused, in order
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
			if err := decodeReport(dec, &report); err != nil {
				return bad("%v", err)
			}
			if report.RejectedByReason == nil || report.KeptByType == nil {
				return bad("the report lacks rejected_by_reason or kept_by_type")
			}
		case "negatives":
			if kept, err = eachItem(dec, func(i int) error {
				var n negatives.Negative
				if err := decodeStrict(dec, fmt.Sprintf("negatives[%d]", i), &n, false); err != nil {
					return bad("%v", err)
				}
				generators = append(generators, n.Generator)
				if n.Type != "" {
					byType[string(n.Type)]++
				}
				return checkNegative(n, fmt.Sprintf("negatives[%d]", i))
			}); err != nil {
				return err
			}
		case "rejected":
			if rejected, err = eachItem(dec, func(i int) error {
				var r negatives.Rejection
				at := fmt.Sprintf("rejected[%d]", i)
				if err := decodeStrict(dec, at, &r, false); err != nil {
					return bad("%v", err)
				}
				if r.Reason == "" || r.Negative.QueryID == "" {
					return fmt.Errorf("%s: %s lacks its reason or its negative's query_id", GeneratedFile, at)
				}
				generators = append(generators, r.Negative.Generator)
				byReason[r.Reason]++
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
	if !slices.Contains(generatorKinds, report.Generator) {
		return fmt.Errorf("%s: the report names generator %q (offline, causal or naive)", GeneratedFile, report.Generator)
	}
	for _, g := range generators {
		if g != report.Generator {
			return fmt.Errorf("%s: a negative's generator %q is not the report's %q", GeneratedFile, g, report.Generator)
		}
	}
	if !sameCounts(report.KeptByType, byType) {
		return fmt.Errorf("%s: the report's kept_by_type %v does not count the kept negatives' types %v", GeneratedFile, report.KeptByType, byType)
	}
	if rejected >= 0 && !sameCounts(report.RejectedByReason, byReason) {
		return fmt.Errorf("%s: the report's rejected_by_reason %v does not count the rejected list's reasons %v", GeneratedFile, report.RejectedByReason, byReason)
	}
	if report.Kept != kept {
		return fmt.Errorf("%s: the report keeps %d negatives, the list holds %d", GeneratedFile, report.Kept, kept)
	}
	if rejected >= 0 && report.Generated != kept+rejected+report.Surplus {
		return fmt.Errorf("%s: the report generated %d negatives, but %d kept + %d rejected + %d surplus is %d",
			GeneratedFile, report.Generated, kept, rejected, report.Surplus, kept+rejected+report.Surplus)
	}
	return nil
}

// Caps on the parts of a negatives.json, which a file sent to the server
// must not turn into gigabytes of parsed values (a parsed value takes many
// times its text: a probe's 63 MB list of empty strings took 3 GB). A
// run's report is counts, diagnostics, ten error samples, an LLM's usage
// counters and the failed pairs' ids (about 2 MiB for 100,000 failed
// pairs); a negative is a passage.
const (
	maxReportBytes = 4 << 20
	maxUsageBytes  = 1 << 20 // the free-form usage: counters
	maxItemBytes   = 1 << 20 // one negative, or one refused one
)

// decodeReport is decodeStrict for the report, refusing one past the caps
// before it is parsed any further.
func decodeReport(dec *json.Decoder, report *negatives.Report) error {
	raw, err := nextValue(dec, "report", "a report", maxReportBytes)
	if err != nil {
		return err
	}
	var fields map[string]json.RawMessage // values left unparsed
	if err := json.Unmarshal(raw, &fields); err == nil && len(fields["usage"]) > maxUsageBytes {
		return fmt.Errorf("report: usage is %d bytes; it is at most %d MiB", len(fields["usage"]), maxUsageBytes>>20)
	}
	return decodeStrictRaw(raw, "report", report, true)
}

// decodeStrict decodes the next JSON value into v, refusing keys v's type
// does not have (in any case) and repeated keys, and null fields unless
// nullOK (a report, where SaveGenerated writes null for an empty list).
func decodeStrict(dec *json.Decoder, at string, v any, nullOK bool) error {
	raw, err := nextValue(dec, at, "an item", maxItemBytes)
	if err != nil {
		return err
	}
	return decodeStrictRaw(raw, at, v, nullOK)
}

// nextValue reads the next JSON value, unparsed, refusing one over limit
// bytes (at names where it is, what what it is).
func nextValue(dec *json.Decoder, at, what string, limit int) (json.RawMessage, error) {
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("%s: %w", at, err)
	}
	if len(raw) > limit {
		return nil, fmt.Errorf("%s: %d bytes; %s is at most %d MiB", at, len(raw), what, limit>>20)
	}
	return raw, nil
}

func decodeStrictRaw(raw json.RawMessage, at string, v any, nullOK bool) error {
	check := jsontype.ExactKeys
	if nullOK {
		check = jsontype.KnownKeys
	}
	if err := check(raw, reflect.TypeOf(v)); err != nil {
		return fmt.Errorf("%s: %w", at, err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%s: %w", at, err)
	}
	return nil
}

// checkNegative refuses a negative without its pair or text, or with a
// generator or violation type retune does not have.
func checkNegative(n negatives.Negative, at string) error {
	switch {
	case n.QueryID == "" || n.PosID == "" || n.Text == "":
		return fmt.Errorf("%s: %s lacks its query_id, pos_id or text", GeneratedFile, at)
	case !slices.Contains(generatorKinds, n.Generator):
		return fmt.Errorf("%s: %s has generator %q (offline, causal or naive)", GeneratedFile, at, n.Generator)
	case n.Type != "" && !slices.Contains(negatives.ViolationTypes, n.Type):
		return fmt.Errorf("%s: %s has violation type %q", GeneratedFile, at, n.Type)
	}
	return nil
}

// eachItem calls item for each element of the JSON array dec is at and
// returns how many there were.
func eachItem(dec *json.Decoder, item func(i int) error) (int, error) {
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return 0, fmt.Errorf("not a %s as retune train writes it: expected an array", GeneratedFile)
	}
	i := 0
	for ; dec.More(); i++ {
		if err := item(i); err != nil {
			return i, err
		}
	}
	_, err := dec.Token() // ']'
	return i, err
}

// generatorKinds are the generators a negative may come from.
var generatorKinds = []string{negatives.KindOffline, negatives.KindCausal, negatives.KindNaive}

// sameCounts reports whether two counts agree, a missing key counting 0.
func sameCounts(a, b map[string]int) bool {
	for k, n := range a {
		if b[k] != n {
			return false
		}
	}
	for k, n := range b {
		if a[k] != n {
			return false
		}
	}
	return true
}
