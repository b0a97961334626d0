package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
)

// partBundle is a multipart part holding a whole dataset folder as a zip,
// tar or gzipped tar, the way BEIR distributes its datasets (scifact.zip
// holds scifact/corpus.jsonl, scifact/queries.jsonl, scifact/qrels/*.tsv).
const partBundle = "bundle"

// bundleExpansion bounds what a bundle may unpack to, as a multiple of the
// upload limit: a few kilobytes of zip can otherwise expand to terabytes.
// Text compresses 3-10x; 10x leaves room without letting a bomb fill a disk.
const bundleExpansion = 10

// maxBundleEntries bounds the entries of a bundle: a BEIR folder holds a
// handful of files, while every entry costs memory before any other limit
// applies (archive/zip keeps its whole directory, and the names are kept
// to find the dataset's folder), and this happens before the upload waits
// for its turn at validation: 2,000,000 empty entries took 1.1 GB.
const maxBundleEntries = 10_000

// receiveBundle saves the bundle part to a scratch file (a zip is read
// from its end, a tar is read twice), then unpacks the dataset files in it
// into the upload's directory.
func (up *upload) receiveBundle(part io.Reader) error {
	if up.bundled {
		return badUpload("part %q sent twice", partBundle)
	}
	up.bundled = true
	scratch, err := up.tempDir("bundle-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(scratch)
	archive := filepath.Join(scratch, "bundle")
	f, err := os.Create(archive)
	if err != nil {
		return err
	}
	src := &trackedReader{r: part}
	_, err = io.Copy(f, src)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		if src.err != nil {
			return readError(src.err)
		}
		return fmt.Errorf("store the bundle: %w", err)
	}
	budget := newExpansionBudget(up.maxExtract, up.pool)
	up.budget = budget
	entries, err := openBundle(up.ctx, archive, budget)
	if err != nil {
		return err
	}
	defer entries.Close()
	names, err := entries.names()
	if err != nil {
		return err
	}
	files, err := bundleLayout(names)
	if err != nil {
		return err
	}
	// An archive may hold a name twice (tar's append does that): the last
	// copy wins, as when unpacking it.
	copies := map[string]int{}
	for _, n := range names {
		copies[n]++
	}
	return entries.each(func(name string, r io.Reader) error {
		rel, ok := files[name]
		if copies[name]--; !ok || copies[name] > 0 {
			return nil
		}
		if _, tarred := entries.(tarEntries); !tarred {
			r = budget.reader(r) // a tar's whole stream is counted already (its sparse entries, which expand, are refused)
		}
		r = budget.pooled(r)
		if strings.HasPrefix(rel, qrelsDir+"/") {
			if err := up.checkSplitCount(); err != nil {
				return err
			}
		}
		if err := up.save(r, partBundle, rel); err != nil {
			var ue *uploadError
			if errors.As(err, &ue) {
				return ue // the unpack cap, or a damaged entry
			}
			return fmt.Errorf("bundle entry %s: %w", name, err)
		}
		if rel == fileCorpus || rel == fileQueries || rel == fileTrain || rel == fileTest {
			return nil
		}
		up.splits = append(up.splits, strings.TrimSuffix(path.Base(rel), ".tsv"))
		return nil
	})
}

// bundleLayout maps the archive's file names that make up the dataset to
// their place in a dataset directory. The dataset's folder is the one that
// holds corpus.jsonl (or, for training pairs, train.jsonl), at the top or
// one folder down; other files (a README, __MACOSX/) are ignored.
func bundleLayout(names []string) (map[string]string, error) {
	var roots []string
	beir := true // found by corpus.jsonl; else by train.jsonl (pairs)
	for _, want := range []string{fileCorpus, fileTrain} {
		for _, n := range names {
			if dir, base := path.Split(n); base == want && strings.Count(dir, "/") <= 1 && !strings.HasPrefix(dir, "__MACOSX/") &&
				!slices.Contains(roots, dir) {
				roots = append(roots, dir)
			}
		}
		if len(roots) > 0 {
			break
		}
		beir = false
	}
	switch len(roots) {
	case 0:
		for _, n := range names {
			if strings.HasPrefix(n, "__MACOSX/") {
				continue
			}
			switch base := path.Base(n); {
			case base == fileCorpus || base == fileTrain:
				return nil, badUpload("part %q: %s is more than one folder down; put the dataset's folder at the top of the archive", partBundle, n)
			case strings.HasPrefix(base, fileCorpus+".") || strings.HasPrefix(base, fileTrain+"."):
				return nil, badUpload("part %q: %s is compressed inside the archive; files in an archive are read as they are: put %s in uncompressed", partBundle, n, strings.SplitAfter(base, ".jsonl")[0])
			}
		}
		return nil, badUpload("part %q: no %s or %s at the top of the archive or in its top folder; a BEIR bundle holds corpus.jsonl, queries.jsonl and qrels/<split>.tsv", partBundle, fileCorpus, fileTrain)
	case 1:
	default:
		slices.Sort(roots)
		shown := make([]string, len(roots))
		for i, r := range roots {
			if shown[i] = r; r == "" {
				shown[i] = "the top level"
			}
		}
		return nil, badUpload("part %q holds more than one dataset (%s): send one per upload", partBundle, strings.Join(shown, ", "))
	}
	root := roots[0]
	files := map[string]string{}
	for _, n := range names {
		rel, ok := strings.CutPrefix(n, root)
		if !ok {
			continue
		}
		// A BEIR folder's train.jsonl, or a pairs folder's corpus, is one
		// of the other files, which are ignored.
		switch {
		case beir && (rel == fileCorpus || rel == fileQueries), !beir && (rel == fileTrain || rel == fileTest):
			files[n] = rel
		case beir && strings.HasPrefix(rel, qrelsDir+"/") && strings.HasSuffix(rel, ".tsv"):
			split := strings.TrimSuffix(strings.TrimPrefix(rel, qrelsDir+"/"), ".tsv")
			if strings.Contains(split, "/") || strings.HasPrefix(split, ".") {
				continue // a sub-folder, or macOS's ._test.tsv: not a split
			}
			if !splitName.MatchString(split) {
				return nil, badUpload("part %q: %s: split name %q must be 1-64 letters, digits, '_' or '-'", partBundle, n, split)
			}
			files[n] = rel
		}
	}
	return files, nil
}

// bundleEntries is an opened archive: its regular files' names, cleaned
// and slash-separated, and a way to read them in archive order.
type bundleEntries interface {
	names() ([]string, error)
	each(fn func(name string, r io.Reader) error) error
	io.Closer
}

// openBundle recognises a zip, a tar or a gzipped tar by its first bytes.
func openBundle(ctx context.Context, file string, budget *expansionBudget) (bundleEntries, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	head := make([]byte, 512)
	n, _ := io.ReadFull(f, head)
	f.Close()
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")), bytes.HasPrefix(head, []byte("PK\x05\x06")):
		return openZip(file)
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		return tarEntries{file: file, gzipped: true, ctx: ctx, budget: budget}, nil
	case len(head) >= 262 && string(head[257:262]) == "ustar":
		return tarEntries{file: file, ctx: ctx, budget: budget}, nil
	}
	return nil, badUpload("part %q must be a .zip, .tar or .tar.gz of the dataset folder", partBundle)
}

// tooManyEntries is a 413, as for a bomb: the archive is over a limit
// rather than malformed.
func tooManyEntries(what string) error {
	return &uploadError{status: http.StatusRequestEntityTooLarge, msg: fmt.Sprintf(
		"part %q: %s; a dataset folder holds a handful of files (corpus.jsonl, queries.jsonl, qrels/<split>.tsv): archive only the dataset's folder", partBundle, what)}
}

// entryName cleans an archive entry's name; ok is false for names that
// leave the archive (absolute, or climbing with ..), which are skipped.
func entryName(name string) (string, bool) {
	name = path.Clean(strings.ReplaceAll(name, `\`, "/"))
	if path.IsAbs(name) || name == ".." || strings.HasPrefix(name, "../") {
		return "", false
	}
	return name, true
}

// linkedDataFile refuses a link entry named like a dataset file: skipping
// it would report the file as missing, when it is there but archived as a
// link to data the archive does not hold.
func linkedDataFile(name string, link bool) error {
	if !link {
		return nil
	}
	dir, base := path.Split(name)
	switch {
	case base == fileCorpus, base == fileQueries, base == fileTrain, base == fileTest, base == qrelsDir,
		path.Base(dir) == qrelsDir && strings.HasSuffix(base, ".tsv"):
		return badUpload("part %q: %s is a link; archive the files themselves (GNU tar: -h for symbolic links, --hard-dereference for hard ones; zip: without -y)", partBundle, name)
	}
	return nil
}

// archiveReader reports a damaged entry (bad checksum, truncated data) as
// the client's error, not as a failure of the server's disk.
type archiveReader struct {
	r    io.Reader
	name string
}

func (a *archiveReader) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	var ue *uploadError
	if err != nil && !errors.Is(err, io.EOF) && !errors.As(err, &ue) {
		err = badUpload("part %q: %s is damaged: %v", partBundle, a.name, err)
	}
	return n, err
}

// expansionBudget caps the bytes unpacked across a bundle's files, and
// takes them from the server's pool as well.
type expansionBudget struct {
	left, limit int64
	pool        *unpackPool // nil: no server-wide bound
	taken       int64       // what this bundle took from pool
}

func newExpansionBudget(limit int64, pool *unpackPool) *expansionBudget {
	return &expansionBudget{left: limit, limit: limit, pool: pool}
}

// unpackPool bounds the bytes that the bundles of all uploads under way
// unpack, to one bundle's limit: each bundle alone may unpack to
// bundleExpansion times the upload limit, and without a common bound a
// handful of small zip bombs sent at once unpack that much each, side by
// side, before any of them waits for its turn at validation (a probe filled
// 197 MB from four 125 KB zips under a 5 MB limit). An upload gives back
// what it took when it ends, stored or not.
type unpackPool struct {
	used  atomic.Int64
	limit int64
}

// take counts n more bytes unpacked by b, refusing them past the pool's
// limit.
func (b *expansionBudget) take(n int) error {
	if b.pool == nil || n == 0 {
		return nil
	}
	b.taken += int64(n)
	if b.pool.used.Add(int64(n)) > b.pool.limit {
		return &uploadError{status: http.StatusServiceUnavailable, msg: fmt.Sprintf(
			"the uploads under way unpack more than this server allows at once (%d bytes, %dx its upload limit); send this bundle again when they are done, or its files as parts",
			b.pool.limit, bundleExpansion)}
	}
	return nil
}

// giveBack returns what b took to its pool.
func (b *expansionBudget) giveBack() {
	if b.pool != nil {
		b.pool.used.Add(-b.taken)
		b.taken = 0
	}
}

func (b *expansionBudget) tooLarge() error {
	return &uploadError{status: http.StatusRequestEntityTooLarge, msg: fmt.Sprintf(
		"bundle unpacks to more than %d bytes (%dx the upload limit); send the files as parts, or ask the server's operator to raise retune serve --max-upload-mb",
		b.limit, bundleExpansion)}
}

func (b *expansionBudget) reader(r io.Reader) io.Reader { return budgetReader{b, r} }

type budgetReader struct {
	b *expansionBudget
	r io.Reader
}

func (br budgetReader) Read(p []byte) (int, error) {
	if br.b.left <= 0 {
		// Spent exactly: fine if the entry ends here.
		var one [1]byte
		if n, err := br.r.Read(one[:]); n == 0 && err != nil {
			return 0, err
		}
		return 0, br.b.tooLarge()
	}
	if int64(len(p)) > br.b.left {
		p = p[:br.b.left]
	}
	n, err := br.r.Read(p)
	br.b.left -= int64(n)
	return n, err
}

// pooled counts what is read from r, a file being unpacked to disk,
// against the server's pool.
func (b *expansionBudget) pooled(r io.Reader) io.Reader { return poolReader{b, r} }

type poolReader struct {
	b *expansionBudget
	r io.Reader
}

func (pr poolReader) Read(p []byte) (int, error) {
	n, err := pr.r.Read(p)
	if perr := pr.b.take(n); perr != nil {
		return n, perr
	}
	return n, err
}
