package dataset

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestLineReader(t *testing.T) {
	type got struct {
		n            int
		text         string
		unterminated bool
		tooLong      bool
	}
	tests := []struct {
		name string
		in   string
		max  int
		want []got
	}{
		{"empty", "", 10, nil},
		{"newline terminated", "a\nbb\n", 10, []got{{1, "a", false, false}, {2, "bb", false, false}}},
		{"unterminated last line", "a\nbb", 10, []got{{1, "a", false, false}, {2, "bb", true, false}}},
		{"CRLF stripped", "a\r\nb\r\n", 10, []got{{1, "a", false, false}, {2, "b", false, false}}},
		{"byte order mark dropped from line 1 only", "\ufeffa\n\ufeffb\n", 10, []got{{1, "a", false, false}, {2, "\ufeffb", false, false}}},
		{"blank lines keep numbering", "\n\nc\n", 10, []got{{1, "", false, false}, {2, "", false, false}, {3, "c", false, false}}},
		{
			name: "exactly max is fine, max+1 is too long, reading goes on",
			in:   "12345\n123456\r\n123456\nok\n1234567",
			max:  5,
			want: []got{
				{1, "12345", false, false},
				{2, "", false, true},
				{3, "", false, true},
				{4, "ok", false, false},
				{5, "", true, true},
			},
		},
		{"max with CRLF counts content only", "12345\r\n", 5, []got{{1, "12345", false, false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// OneByteReader makes every line span many ReadSlice calls.
			for _, r := range []io.Reader{strings.NewReader(tt.in), iotest.OneByteReader(strings.NewReader(tt.in))} {
				lr := newLineReader(r, tt.max)
				var lines []got
				for {
					l, err := lr.next()
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						t.Fatal(err)
					}
					lines = append(lines, got{l.n, string(l.text), l.unterminated, l.tooLong})
				}
				if len(lines) != len(tt.want) {
					t.Fatalf("lines = %+v, want %+v", lines, tt.want)
				}
				for i := range lines {
					if lines[i] != tt.want[i] {
						t.Errorf("line %d = %+v, want %+v", i, lines[i], tt.want[i])
					}
				}
			}
		})
	}
}

// A line longer than the buffer but under the limit must come back whole:
// abstracts can run to many kilobytes.
func TestLineReaderLongLine(t *testing.T) {
	long := strings.Repeat("x", 300<<10) // several 64 KiB buffer fills
	lr := newLineReader(strings.NewReader(long+"\nnext\n"), MaxLineBytes)
	l, err := lr.next()
	if err != nil || string(l.text) != long {
		t.Fatalf("long line: len %d, err %v", len(l.text), err)
	}
	if l, err = lr.next(); err != nil || string(l.text) != "next" || l.n != 2 {
		t.Fatalf("after long line: %q line %d, err %v", l.text, l.n, err)
	}
}

func TestOverlongLineReportedByReaders(t *testing.T) {
	c := &collector{}
	var seen []int
	in := "{}\n" + strings.Repeat("y", 40) + "\n{}\n"
	if err := forEachLine(strings.NewReader(in), 32, c, func(l line) bool {
		seen = append(seen, l.n)
		return true
	}); err != nil {
		t.Fatal(err)
	}
	checkErrs(t, c.err(), []wantErr{{2, "line longer than 32 bytes"}})
	if len(seen) != 2 || seen[0] != 1 || seen[1] != 3 {
		t.Errorf("lines handed on = %v, want [1 3]", seen)
	}
}

func TestReadErrorIsWrapped(t *testing.T) {
	boom := errors.New("disk on fire")
	r := io.MultiReader(strings.NewReader(`{"_id": "a", "text": "x"}`+"\n"), iotest.ErrReader(boom))
	_, err := ReadCorpus(r)
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want it to wrap %v", err, boom)
	}
	if !strings.Contains(err.Error(), "line 2") {
		t.Errorf("err = %v, want it to name line 2", err)
	}
}

// Files saved by Windows tools start with a byte order mark; every reader
// accepts them.
func TestReadersAcceptByteOrderMark(t *testing.T) {
	const bom = "\ufeff"
	if docs, err := ReadCorpus(strings.NewReader(bom + `{"_id":"d1","text":"cells"}` + "\n")); err != nil || len(docs) != 1 {
		t.Errorf("corpus: %v %v", docs, err)
	}
	if qs, err := ReadQueries(strings.NewReader(bom + `{"_id":"q1","text":"why"}` + "\n")); err != nil || len(qs) != 1 {
		t.Errorf("queries: %v %v", qs, err)
	}
	if qr, err := ReadQrels(strings.NewReader(bom + "query-id\tcorpus-id\tscore\nq1\td1\t1\n")); err != nil || len(qr) != 1 {
		t.Errorf("qrels: %v %v", qr, err)
	}
}

// TestCompressedFilesAreNamed: a compressed file is one error saying so,
// for every reader, not a hundred about invalid UTF-8.
func TestCompressedFilesAreNamed(t *testing.T) {
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	for i := range 500 {
		fmt.Fprintf(w, `{"_id":"%d","text":"document %d"}`+"\n", i, i)
	}
	w.Close()
	readers := map[string]func(io.Reader) error{
		"corpus":  func(r io.Reader) error { _, err := ReadCorpus(r); return err },
		"queries": func(r io.Reader) error { _, err := ReadQueries(r); return err },
		"qrels":   func(r io.Reader) error { _, err := ReadQrels(r); return err },
		"pairs":   func(r io.Reader) error { _, err := ReadPairs(r); return err },
	}
	for name, read := range readers {
		err := read(bytes.NewReader(gz.Bytes()))
		var es Errors
		if !errors.As(err, &es) || len(es) != 1 || es[0].Line != 1 || es[0].Reason != "the file is gzip-compressed: decompress it first" {
			t.Errorf("%s: %v, want one error naming gzip", name, err)
		}
	}
	// A zip header can be ASCII up to a newline: its control bytes tell.
	if _, err := ReadCorpus(strings.NewReader("PK\x03\x04\x14\x00\x00\x00\x08\x00\n{}\n")); err == nil ||
		!strings.Contains(err.Error(), "the file is zip-compressed") {
		t.Errorf("a zip whose first line is ASCII: %v, want it named", err)
	}
	// Text that merely starts with such bytes' printable part is text.
	if _, err := ReadQrels(strings.NewReader("BZh\tcorpus-id\tscore\n")); err == nil || strings.Contains(err.Error(), "compressed") {
		t.Errorf("a text line starting BZh: %v, want a header error", err)
	}
}
