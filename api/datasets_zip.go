package api

import (
	"archive/zip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// zipDirectoryBudget bounds the bytes zip.NewReader may read while it opens
// an archive, which it does before any other check can run: it keeps every
// central directory record in memory (about 250 bytes for a 46-byte record
// with a short name), so 2,000,000 empty entries cost over 1 GB. The end
// record's entry count cannot bound this (archive/zip reads records until
// one fails to parse and checks the count only modulo 65,536), the bytes it
// reads can: 4 MiB is the 65 KiB end-record search plus ~400 bytes for each
// of maxBundleEntries records, and about 20 MB in memory.
const zipDirectoryBudget = 4 << 20

// zipEncrypted is bit 0 of an entry's general purpose flags (APPNOTE
// 4.4.4): archive/zip cannot decrypt, and inflating ciphertext reports a
// misleading "flate: corrupt input".
const zipEncrypted = 0x1

// errZipDirectory is a zip whose opening read more than zipDirectoryBudget.
var errZipDirectory = errors.New("zip directory over budget")

type zipEntries struct {
	zr *zip.Reader
	f  *os.File
}

// openZip opens a zip with its directory read under zipDirectoryBudget
// and refuses one of more than maxBundleEntries entries.
func openZip(file string) (bundleEntries, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	budget := &budgetReaderAt{r: f, left: zipDirectoryBudget}
	zr, err := zip.NewReader(budget, st.Size())
	budget.left = -1 // opened: entries are read in full, bounded by the unpack cap
	switch {
	case errors.Is(err, errZipDirectory):
		err = tooManyEntries(fmt.Sprintf("the zip's directory is over %d MiB (more than %d entries, or very long names)", zipDirectoryBudget>>20, maxBundleEntries))
	case err != nil:
		err = badUpload("part %q: not a readable zip (%v): if it was cut off on the way, send the whole file", partBundle, err)
	case !zipEndsAtItsEnd(f, st.Size()):
		// archive/zip accepts bytes after the end record: a zip cut off
		// after a zip stored inside it would open as that inner zip.
		err = badUpload("part %q: the zip is not whole: it was cut off on the way, or has data before or after it; send the whole file", partBundle)
	case len(zr.File) > maxBundleEntries:
		err = tooManyEntries(fmt.Sprintf("the archive holds more than %d entries", maxBundleEntries))
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return zipEntries{zr: zr, f: f}, nil
}

// zipEndsAtItsEnd reports whether the file is one zip from its first byte
// to its last: its last bytes are an end of central directory record
// (APPNOTE 4.3.16: a signature, 18 bytes of fields, then a comment of the
// length its last field gives), and the directory it points to, at the
// offset it gives, ends where that record starts. archive/zip accepts
// bytes before or after the zip, so a zip cut off just after a zip stored
// inside it would open as the inner one. (Zip64 archives, whose offsets are
// in another record, are checked for the first part only.)
func zipEndsAtItsEnd(f io.ReaderAt, size int64) bool {
	const endLen, maxComment = 22, 65535
	tail := make([]byte, min(size, endLen+maxComment))
	start := size - int64(len(tail))
	if _, err := f.ReadAt(tail, start); err != nil {
		return false
	}
	for p := len(tail) - endLen; p >= 0; p-- {
		if binary.LittleEndian.Uint32(tail[p:]) != 0x06054b50 ||
			p+endLen+int(binary.LittleEndian.Uint16(tail[p+20:])) != len(tail) {
			continue
		}
		dirSize, dirOffset := binary.LittleEndian.Uint32(tail[p+12:]), binary.LittleEndian.Uint32(tail[p+16:])
		if dirSize == 0xffffffff || dirOffset == 0xffffffff {
			return true // zip64
		}
		return int64(dirOffset)+int64(dirSize) == start+int64(p)
	}
	return false
}

// budgetReaderAt fails reads beyond left bytes in total; left < 0 reads
// without a limit.
type budgetReaderAt struct {
	r    io.ReaderAt
	left int64
}

func (b *budgetReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if b.left >= 0 {
		if int64(len(p)) > b.left {
			return 0, errZipDirectory
		}
		b.left -= int64(len(p))
	}
	return b.r.ReadAt(p, off)
}

func (z zipEntries) names() ([]string, error) {
	var out []string
	for _, f := range z.zr.File {
		n, ok := entryName(f.Name)
		if !ok {
			continue
		}
		if f.Mode().IsRegular() {
			out = append(out, n)
		} else if err := linkedDataFile(n, f.Mode()&fs.ModeSymlink != 0); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (z zipEntries) Close() error { return z.f.Close() }

func (z zipEntries) each(fn func(string, io.Reader) error) error {
	for _, f := range z.zr.File {
		n, ok := entryName(f.Name)
		if !ok || !f.Mode().IsRegular() {
			continue
		}
		if err := eachZipEntry(f, n, fn); err != nil {
			return err
		}
	}
	return nil
}

func eachZipEntry(f *zip.File, name string, fn func(string, io.Reader) error) error {
	if f.Flags&zipEncrypted != 0 {
		// Refused only if read: an encrypted file the dataset does not
		// use is ignored like any other.
		return fn(name, errReader{badUpload("part %q: encrypted zip entries are not supported (%s): zip the folder without a password", partBundle, name)})
	}
	r, err := f.Open()
	if err != nil {
		// Refused only if read, as above: an entry the dataset does not
		// use may be compressed by a method archive/zip lacks (bzip2).
		return fn(name, errReader{badUpload("part %q: %s: %v", partBundle, name, err)})
	}
	defer r.Close()
	return fn(name, &archiveReader{r: r, name: name})
}

// errReader fails every read with err.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
