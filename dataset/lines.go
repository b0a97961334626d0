package dataset

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// MaxLineBytes is the longest line accepted. Abstracts in BEIR corpora run to
// tens of kilobytes; 16 MiB leaves room for any real document while still
// catching a file that is not line-oriented at all (e.g. one huge JSON array).
const MaxLineBytes = 16 << 20

// line is one physical line of input.
type line struct {
	n    int    // 1-based line number
	text []byte // without "\n" or "\r\n"; only valid until the next call
	// unterminated marks a last line with no trailing newline. It is valid
	// if it parses; if it does not, the reason says the file looks truncated.
	unterminated bool
	tooLong      bool // longer than the limit; text is empty
	// compressed names the format of a first line that starts like a
	// compressed file (gzip, zip, ...): reading it as lines would give a
	// hundred "invalid UTF-8" errors and no clue.
	compressed string
}

// compressedMagic are the leading bytes of the compressed formats a data
// file is most often sent in by mistake.
var compressedMagic = []struct {
	format string
	magic  []byte
}{
	{"gzip", []byte{0x1f, 0x8b}}, {"zip", []byte("PK\x03\x04")}, {"zstd", []byte{0x28, 0xb5, 0x2f, 0xfd}},
	{"xz", []byte{0xfd, '7', 'z', 'X', 'Z', 0}}, {"bzip2", []byte("BZh")},
}

// compressedFormat names the format whose magic text starts with, when
// the rest of the line is binary too: not UTF-8, or holding control bytes
// no text line has (a zip header is ASCII up to its first 0x80 byte, and
// may end its first "line" before one).
func compressedFormat(text []byte) string {
	for _, m := range compressedMagic {
		if bytes.HasPrefix(text, m.magic) && (!utf8.Valid(text) || bytes.ContainsFunc(text, isControlByte)) {
			return m.format
		}
	}
	return ""
}

func isControlByte(r rune) bool { return r < 0x20 && r != '\t' && r != '\r' }

// compressedReason is the error for a line.compressed file.
func compressedReason(format string) string {
	return fmt.Sprintf("the file is %s-compressed: decompress it first", format)
}

// lineReader reads lines of any length up to max bytes without holding a
// max-sized buffer: bufio.Scanner would need one and fails hard at its limit,
// while here an over-long line becomes one reported error and reading goes
// on at the next line.
type lineReader struct {
	r   *bufio.Reader
	max int
	n   int
	buf []byte
}

func newLineReader(r io.Reader, max int) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, 64<<10), max: max}
}

// next returns the next line, io.EOF after the last one, or a read error.
func (lr *lineReader) next() (line, error) {
	lr.buf = lr.buf[:0]
	tooLong := false
	for {
		chunk, err := lr.r.ReadSlice('\n')
		if !tooLong {
			if len(lr.buf)+len(chunk) > lr.max+2 { // +2: the "\r\n" is not content
				tooLong = true
				lr.buf = lr.buf[:0]
			} else {
				lr.buf = append(lr.buf, chunk...)
			}
		}
		switch {
		case err == nil:
			lr.n++
			return lr.finish(false, tooLong), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			if len(lr.buf) == 0 && !tooLong {
				return line{}, io.EOF
			}
			lr.n++
			return lr.finish(true, tooLong), nil
		default:
			return line{}, fmt.Errorf("read line %d: %w", lr.n+1, err)
		}
	}
}

func (lr *lineReader) finish(unterminated, tooLong bool) line {
	text := bytes.TrimSuffix(lr.buf, []byte("\n"))
	text = bytes.TrimSuffix(text, []byte("\r"))
	if lr.n == 1 {
		// A UTF-8 byte order mark, as Windows editors and Excel write it,
		// is not part of the first record.
		text = bytes.TrimPrefix(text, []byte("\ufeff"))
	}
	if len(text) > lr.max {
		tooLong = true
	}
	if tooLong {
		text = nil
	}
	l := line{n: lr.n, text: text, unterminated: unterminated, tooLong: tooLong}
	if lr.n == 1 {
		l.compressed = compressedFormat(text)
	}
	return l
}

// isBlank reports whether a line holds only whitespace; such lines are the
// only ones skipped without an error.
func isBlank(b []byte) bool { return len(bytes.TrimSpace(b)) == 0 }

// forEachLine feeds every non-blank line of r to fn, reporting over-long
// lines to c itself. It stops when fn or c says so and returns only I/O
// errors.
func forEachLine(r io.Reader, max int, c *collector, fn func(l line) bool) error {
	return eachLine(r, max, func(l line) bool {
		if l.compressed != "" {
			c.addf(l.n, "%s", compressedReason(l.compressed))
			return false
		}
		if l.tooLong {
			return c.addf(l.n, "line longer than %d bytes", max)
		}
		return fn(l)
	})
}

// eachLine feeds fn every line of r that is not blank, over-long ones
// included (with tooLong set and no text), until fn returns false or the
// input ends; it returns only I/O errors.
func eachLine(r io.Reader, max int, fn func(l line) bool) error {
	lr := newLineReader(r, max)
	for {
		l, err := lr.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if !l.tooLong && isBlank(l.text) {
			continue
		}
		if !fn(l) {
			return nil
		}
	}
}

// hint is text a message appends for the reader's sake; collector.addf
// clips string arguments (user values) but never a hint.
type hint string

// truncatedHint is appended to a parse error on an unterminated last line
// that stops inside a value: that combination nearly always means the file
// was cut off mid-write. A JSON line that is whole (two objects on one
// line, a wrong field) gets no hint: it was not cut off.
func truncatedHint(l line) hint {
	if l.unterminated && endsEarly(l.text) {
		return " (last line has no newline: file truncated?)"
	}
	return ""
}

// endsEarly reports whether a line's text stops inside its first JSON
// value; a line that is not JSON (a qrels row) always may have.
func endsEarly(text []byte) bool {
	t := bytes.TrimSpace(text)
	if len(t) == 0 || t[0] != '{' {
		return true
	}
	var v json.RawMessage
	return errors.Is(json.NewDecoder(bytes.NewReader(t)).Decode(&v), io.ErrUnexpectedEOF)
}
