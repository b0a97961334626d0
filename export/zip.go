package export

import (
	"archive/zip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// storeAbove is the size from which files other than JSON are stored rather
// than deflated: float weights barely compress, and deflating hundreds of
// megabytes would dominate the time of a download. JSON (a tokenizer.json of
// a few megabytes) shrinks by two thirds and is always deflated.
const storeAbove = 1 << 20

// Zip writes a zip archive to w holding files, a map from the name inside
// the archive to the path of the file on disk, in name order. Every entry
// is dated modified (when not zero) rather than by its file, so the same
// export gives the same bytes whenever it is built. Names must be relative
// slash paths without "..". Large files are zip64-capable (archive/zip
// switches automatically).
func Zip(w io.Writer, files map[string]string, modified time.Time) error {
	names := make([]string, 0, len(files))
	for name := range files {
		if !fs.ValidPath(name) || name == "." {
			return fmt.Errorf("export: zip: %q is not a relative slash path inside the archive", name)
		}
		names = append(names, name)
	}
	sort.Strings(names)
	zw := zip.NewWriter(w)
	for _, name := range names {
		if err := zipFile(zw, name, files[name], modified); err != nil {
			return fmt.Errorf("export: zip %s: %w", name, err)
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("export: zip: %w", err)
	}
	return nil
}

// ZipDir is Zip of every regular file under dir, named by its path relative
// to dir: the archive of an exported folder.
func ZipDir(w io.Writer, dir string, modified time.Time) error {
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		files[filepath.ToSlash(rel)] = path
		return nil
	})
	if err != nil {
		return fmt.Errorf("export: zip %s: %w", dir, err)
	}
	return Zip(w, files, modified)
}

func zipFile(zw *zip.Writer, name, path string, modified time.Time) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", path)
	}
	hdr, err := zip.FileInfoHeader(st)
	if err != nil {
		return err
	}
	hdr.Name = name
	if !modified.IsZero() {
		hdr.Modified = modified
	}
	hdr.Method = zip.Deflate
	if st.Size() > storeAbove && !strings.HasSuffix(name, ".json") {
		hdr.Method = zip.Store
	}
	out, err := zw.CreateHeader(hdr)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, f)
	return err
}
