package models

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"retune/internal/atomicfile"
)

// npmCommand is the npm executable; tests swap in a stand-in.
var npmCommand = "npm"

// ErrChecksumMismatch is wrapped by every error about content that differs
// from its pinned sha256, as opposed to content that could not be fetched.
var ErrChecksumMismatch = errors.New("checksum mismatch")

// Pack fetches the npm package spec ("name@version" or "@scope/name@version")
// as a tarball into cacheDir with `npm pack`, which goes through npm's own
// registry configuration and cache. A tarball already in cacheDir with the
// pinned sha256 is reused without running npm. The returned path always has
// the pinned checksum; anything else is an error.
func Pack(ctx context.Context, spec, wantSHA256, cacheDir string) (string, error) {
	if wantSHA256 == "" {
		return "", fmt.Errorf("npm pack %s: no pinned sha256", spec)
	}
	name, err := tarballName(spec)
	if err != nil {
		return "", err
	}
	path := filepath.Join(cacheDir, name)
	if got, err := fileSHA256(path); err == nil && got == wantSHA256 {
		return path, nil
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", fmt.Errorf("npm pack %s: %w", spec, err)
	}
	// Pack into a private folder and rename, so a concurrent Pack or an
	// interrupted download never leaves a partial tarball under the final name.
	work, err := os.MkdirTemp(cacheDir, ".pack-*")
	if err != nil {
		return "", fmt.Errorf("npm pack %s: %w", spec, err)
	}
	defer os.RemoveAll(work)
	cmd := exec.CommandContext(ctx, npmCommand, "pack", "--ignore-scripts", spec)
	cmd.Dir = work
	var stderr bytes.Buffer
	cmd.Stdout = io.Discard
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("npm pack %s: %w\n%s", spec, err, lastLines(stderr.String(), 10))
	}
	produced := filepath.Join(work, name)
	got, err := fileSHA256(produced)
	if err != nil {
		return "", fmt.Errorf("npm pack %s did not produce %s: %w", spec, name, err)
	}
	if got != wantSHA256 {
		return "", fmt.Errorf("npm pack %s: %w: tarball sha256 is %s, pinned %s; refusing to use it", spec, ErrChecksumMismatch, got, wantSHA256)
	}
	if err := os.Rename(produced, path); err != nil {
		return "", fmt.Errorf("npm pack %s: %w", spec, err)
	}
	return path, nil
}

// tarballName is the file `npm pack` writes for an exact spec:
// "@scope/name@1.0.0" becomes "scope-name-1.0.0.tgz".
func tarballName(spec string) (string, error) {
	at := strings.LastIndex(spec, "@")
	if at <= 0 || at == len(spec)-1 {
		return "", fmt.Errorf("npm spec %q: want name@version", spec)
	}
	name, version := spec[:at], spec[at+1:]
	name = strings.ReplaceAll(strings.TrimPrefix(name, "@"), "/", "-")
	return name + "-" + version + ".tgz", nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// OpenMember returns a streaming reader over one member of a gzipped
// tarball, and the member's size. Nothing is unpacked to disk: the GloVe
// member alone is 307 MB.
func OpenMember(tgzPath, member string) (io.ReadCloser, int64, error) {
	f, err := os.Open(tgzPath)
	if err != nil {
		return nil, 0, err
	}
	zr, err := gzip.NewReader(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("%s: %w", tgzPath, err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			f.Close()
			return nil, 0, fmt.Errorf("%s has no member %s", tgzPath, member)
		}
		if err != nil {
			f.Close()
			return nil, 0, fmt.Errorf("%s: %w", tgzPath, err)
		}
		if h.Name == member && h.Typeflag == tar.TypeReg {
			return &memberReader{Reader: tr, closers: []io.Closer{zr, f}}, h.Size, nil
		}
	}
}

type memberReader struct {
	io.Reader
	closers []io.Closer
}

func (m *memberReader) Close() error {
	var errs []error
	for _, c := range m.closers {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// ExtractMember writes one member of a gzipped tarball to dst atomically.
// When wantSHA256 is set the member's content must match it, else dst is
// left untouched.
func ExtractMember(tgzPath, member, dst, wantSHA256 string, perm os.FileMode) error {
	r, size, err := OpenMember(tgzPath, member)
	if err != nil {
		return err
	}
	defer r.Close()
	if err := atomicfile.MkdirAllSync(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return atomicfile.Write(dst, perm, func(w io.Writer) error {
		h := sha256.New()
		n, err := io.Copy(io.MultiWriter(w, h), r)
		if err != nil {
			return fmt.Errorf("extract %s from %s: %w", member, tgzPath, err)
		}
		if n != size {
			return fmt.Errorf("extract %s from %s: got %d bytes, header says %d", member, tgzPath, n, size)
		}
		if got := hex.EncodeToString(h.Sum(nil)); wantSHA256 != "" && got != wantSHA256 {
			return fmt.Errorf("%s in %s: %w: sha256 %s, pinned %s", member, tgzPath, ErrChecksumMismatch, got, wantSHA256)
		}
		return nil
	})
}
