package api

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// tarBlock is tar's unit: every header starts on a block boundary, and
// each entry's data is padded to one.
const tarBlock = 512

// maxEntryName bounds a tar entry's name (PAX and GNU headers allow 1 MiB):
// the names of all entries are kept while the layout is worked out, and no
// file system has paths longer than Linux's PATH_MAX, 4096 bytes.
const maxEntryName = 4096

// tarEntries reads a tar twice (names, then the entries used), each time
// from the start: every byte either pass decompresses, skipped entries'
// included, counts against the upload's unpack cap, so a gzip bomb in an
// entry the dataset does not even use stops at the cap.
type tarEntries struct {
	file    string
	gzipped bool
	ctx     context.Context
	budget  *expansionBudget
}

func (t tarEntries) walk(fn func(h *tar.Header, name string, r io.Reader) error) error {
	f, err := os.Open(t.file)
	if err != nil {
		return err
	}
	defer f.Close()
	var r io.Reader = bufio.NewReader(f)
	if t.gzipped {
		if r, err = gzip.NewReader(r); err != nil {
			return badUpload("part %q: not a readable gzip: %v", partBundle, err)
		}
	}
	// Each pass has the whole cap: a legitimate tar is read twice.
	end := &endReader{r: newExpansionBudget(t.budget.limit, nil).reader(r)}
	tr := tar.NewReader(end)
	for n := 0; ; n++ {
		if err := t.ctx.Err(); err != nil {
			return err
		}
		h, err := nextTarEntry(tr, end)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if n == maxBundleEntries {
			return tooManyEntries(fmt.Sprintf("the archive holds more than %d entries", maxBundleEntries))
		}
		if err := visitTarEntry(h, tr, fn); err != nil {
			return err
		}
	}
}

// nextTarEntry is tr.Next, but io.EOF only after the end-of-archive
// marker: archive/tar also answers io.EOF when the stream stops where a
// header or an entry's padding should be, which would drop the entries cut
// off without a word.
func nextTarEntry(tr *tar.Reader, end *endReader) (*tar.Header, error) {
	// The previous entry was read to its end (visitTarEntry): only its
	// padding lies before the next header.
	header := (end.pos + tarBlock - 1) / tarBlock * tarBlock
	h, err := tr.Next()
	switch {
	case err == nil:
		return h, nil
	case errors.Is(err, io.EOF) && !end.marked(header):
		return nil, errTruncated()
	case errors.Is(err, io.EOF):
		return nil, io.EOF
	}
	return nil, tarError(err)
}

// visitTarEntry hands a regular file to fn, then reads what fn left of it.
func visitTarEntry(h *tar.Header, tr *tar.Reader, fn func(h *tar.Header, name string, r io.Reader) error) error {
	if err := checkTarEntry(h); err != nil {
		return err
	}
	if n, ok := entryName(h.Name); ok {
		var err error
		if h.Typeflag == tar.TypeReg {
			err = fn(h, n, tr)
		} else {
			err = linkedDataFile(n, h.Typeflag == tar.TypeSymlink || h.Typeflag == tar.TypeLink)
		}
		if err != nil {
			return err
		}
	}
	// nextTarEntry locates the next header from where this entry ends.
	if _, err := io.Copy(io.Discard, tr); err != nil {
		return tarError(err)
	}
	return nil
}

// checkTarEntry refuses entries whose reading the unpack cap cannot bound:
// a name kept in memory, or a sparse file, whose holes read as zeros up to
// any size its header claims without a byte of the archive to count.
func checkTarEntry(h *tar.Header) error {
	if len(h.Name) > maxEntryName {
		return badUpload("part %q: an entry's name is longer than %d bytes (%.64s…)", partBundle, maxEntryName, h.Name)
	}
	sparse := h.Typeflag == tar.TypeGNUSparse
	for k := range h.PAXRecords {
		sparse = sparse || strings.HasPrefix(k, "GNU.sparse.")
	}
	if sparse {
		return badUpload("part %q: %s is a sparse file; archive the folder without tar's --sparse (-S)", partBundle, h.Name)
	}
	return nil
}

// tarError reports a tar read failure as the client's error.
func tarError(err error) error {
	var ue *uploadError
	switch {
	case errors.As(err, &ue):
		return ue // the unpack cap
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errTruncated()
	}
	return badUpload("part %q: not a readable tar: %v", partBundle, err)
}

func errTruncated() error {
	return badUpload("part %q: the archive is truncated (it ends before its end-of-archive marker, so files may be missing): send the whole file", partBundle)
}

// endReader counts the bytes tar reads, the zero bytes they end with, and
// whether the stream ended, which tells tar's io.EOF at the end-of-archive
// marker from its io.EOF where the stream just stops. archive/tar reads
// only the bytes it needs, so pos is where it is in the archive.
type endReader struct {
	r     io.Reader
	pos   int64
	zeros int64 // trailing zero bytes of what was read
	eof   bool
}

func (e *endReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	e.pos += int64(n)
	if z := trailingZeros(p[:n]); z < n {
		e.zeros = int64(z)
	} else {
		e.zeros += int64(z)
	}
	if errors.Is(err, io.EOF) {
		e.eof = true
	}
	return n, err
}

func trailingZeros(b []byte) int {
	n := len(b)
	for n > 0 && b[n-1] == 0 {
		n--
	}
	return len(b) - n
}

// marked reports whether tar's io.EOF, with the next header due at
// header, came from the end-of-archive marker. The marker is two zero
// blocks in place of the header; tar stops reading after them, so a stream
// that ended came with one zero block only (some writers stop there) or
// with both. A stream that ended at the header, inside the padding before
// it, or after meta headers (a PAX or GNU long-name header is not zero)
// was cut off.
func (e *endReader) marked(header int64) bool {
	read := e.pos - header // what tar read from the header's place on
	return !e.eof || read >= tarBlock && e.zeros >= read
}

func (t tarEntries) Close() error { return nil } // each walk opens and closes the file

func (t tarEntries) names() ([]string, error) {
	var out []string
	err := t.walk(func(_ *tar.Header, n string, _ io.Reader) error {
		out = append(out, n)
		return nil
	})
	return out, err
}

func (t tarEntries) each(fn func(string, io.Reader) error) error {
	return t.walk(func(_ *tar.Header, n string, r io.Reader) error {
		return fn(n, &archiveReader{r: r, name: n})
	})
}
