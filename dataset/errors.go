package dataset

import (
	"fmt"
	"strings"

	"retune/internal/textcut"
)

// MaxErrors caps the LineErrors collected from one file. Past it the reader
// stops (a file that bad is the wrong file, and listing a million errors
// helps nobody) and one more entry says so.
const MaxErrors = 100

// errorsShown is how many entries Errors.Error spells out before "and N more".
const errorsShown = 10

// LineError is one rejected line. File is set when the error comes from a
// multi-file loader such as LoadBEIR (the path relative to the BEIR
// directory); Line is 1-based, or 0 for a problem with the whole file.
type LineError struct {
	File   string
	Line   int
	Reason string
	// Stopped marks the entry saying the reader gave up on the file after
	// MaxErrors: the count of invalid lines is then a lower bound.
	Stopped bool
}

func (e LineError) Error() string {
	switch {
	case e.Line == 0 && e.File != "": // a whole-file problem, e.g. no records
		return fmt.Sprintf("%s: %s", e.File, e.Reason)
	case e.Line == 0:
		return e.Reason
	case e.File != "":
		return fmt.Sprintf("%s: line %d: %s", e.File, e.Line, e.Reason)
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Reason)
}

// Errors is every LineError found, in file then line order.
type Errors []LineError

func (es Errors) Error() string {
	var b strings.Builder
	if len(es) == 1 && es[0].Line == 0 {
		return es[0].Error() // a whole-file problem ("no pairs") is no line
	}
	if len(es) == 1 {
		b.WriteString("1 invalid line: ")
		b.WriteString(es[0].Error())
		return b.String()
	}
	n, files, stopped := 0, 0, false
	for _, e := range es {
		switch {
		case e.Stopped:
			stopped = true
		case e.Line == 0:
			files++ // a whole file's problem, not a line's
		default:
			n++
		}
	}
	var head []string
	switch {
	case stopped:
		head = append(head, fmt.Sprintf("at least %d invalid lines (a file that bad is likely the wrong file)", n))
	case n == 1:
		head = append(head, "1 invalid line")
	case n > 1:
		head = append(head, fmt.Sprintf("%d invalid lines", n))
	}
	switch {
	case files == 1:
		head = append(head, "1 problem with a whole file")
	case files > 1:
		head = append(head, fmt.Sprintf("%d problems with whole files", files))
	}
	b.WriteString(strings.Join(head, " and ") + ":")
	for i, e := range es {
		if i == errorsShown {
			fmt.Fprintf(&b, "\n\tand %d more", len(es)-errorsShown)
			break
		}
		b.WriteString("\n\t")
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap exposes the individual LineErrors to errors.As and errors.Is.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// collector accumulates LineErrors for one file up to MaxErrors.
type collector struct {
	file string
	errs Errors
	full bool
	// idsOnly keeps the records' ids and drops their texts once checked
	// (CheckBEIR: validation needs no text, and texts are most of a file).
	idsOnly bool
}

// addf records an error on line n and reports whether reading should go on.
// The error past the cap is not recorded; a final entry on its line says
// that reading stopped there, so the caller knows the list is incomplete.
func (c *collector) addf(n int, format string, args ...any) bool {
	if c.full {
		return false
	}
	if len(c.errs) == MaxErrors {
		c.errs = append(c.errs, LineError{File: c.file, Line: n,
			Reason: fmt.Sprintf("more than %d errors: stopped reading", MaxErrors), Stopped: true})
		c.full = true
		return false
	}
	for i, a := range args {
		if s, ok := a.(string); ok {
			args[i] = clip(s)
		}
	}
	c.errs = append(c.errs, LineError{File: c.file, Line: n, Reason: fmt.Sprintf(format, args...)})
	return true
}

// maxQuoted is the longest value an error quotes in full: a 100 KB id need
// not come back in the message, twice (message and details).
const maxQuoted = 100

// clip shortens s to about maxQuoted bytes at a character boundary, saying
// how long it was.
func clip(s string) string {
	if len(s) <= maxQuoted {
		return s
	}
	return fmt.Sprintf("%s... (%d bytes)", textcut.Prefix(s, maxQuoted), len(s))
}

// err returns the collected errors as an error, or nil.
func (c *collector) err() error {
	if len(c.errs) == 0 {
		return nil
	}
	return c.errs
}
