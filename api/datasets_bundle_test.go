package api_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"io/fs"
	"net/http"
	"strings"
	"testing"
)

// archiveFile is one archive entry; a body "-> target" makes it a
// symbolic link to target.
type archiveFile struct{ name, body string }

func (f archiveFile) link() (string, bool) { return strings.CutPrefix(f.body, "-> ") }

func zipOf(t *testing.T, files ...archiveFile) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		h := &zip.FileHeader{Name: f.name, Method: zip.Deflate}
		body := f.body
		if target, ok := f.link(); ok {
			h.SetMode(fs.ModeSymlink | 0o777)
			body = target
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// padTo pads an archive with zero bytes to a multiple of record bytes.
func padTo(s string, record int) string {
	return s + strings.Repeat("\x00", (record-len(s)%record)%record)
}

func tarOf(t *testing.T, gzipped bool, files ...archiveFile) string {
	t.Helper()
	var buf bytes.Buffer
	var gz *gzip.Writer
	var tw *tar.Writer
	if gzipped {
		gz = gzip.NewWriter(&buf)
		tw = tar.NewWriter(gz)
	} else {
		tw = tar.NewWriter(&buf)
	}
	for _, f := range files {
		if strings.HasSuffix(f.name, "/") {
			tw.WriteHeader(&tar.Header{Name: f.name, Typeflag: tar.TypeDir, Mode: 0o755})
			continue
		}
		if target, ok := f.link(); ok {
			tw.WriteHeader(&tar.Header{Name: f.name, Typeflag: tar.TypeSymlink, Linkname: target, Mode: 0o777})
			continue
		}
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(f.body))}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(f.body))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if gz != nil {
		gz.Close()
	}
	return buf.String()
}

// encryptedZipOf is zipOf(files) plus an entry name flagged encrypted, as
// zip -e writes it: a 12-byte encryption header, then ciphertext.
func encryptedZipOf(t *testing.T, name string, files ...archiveFile) string {
	cipher := "\x8a\x1f\x03\xe2\x9c\x55\x10\x7d\x41\xd2\x88\x0b\xc6\x93\x2e\x71\xfa\x04"
	return zipWithRawEntry(t, zip.FileHeader{Name: name, Method: zip.Deflate, Flags: 0x1}, cipher, files...)
}

// bzip2ZipOf is zipOf(files) plus an entry name compressed with bzip2
// (method 12, as zip -Z bzip2 writes it), which archive/zip cannot read.
func bzip2ZipOf(t *testing.T, name string, files ...archiveFile) string {
	return zipWithRawEntry(t, zip.FileHeader{Name: name, Method: 12}, "BZh91AY&SY\x00\x01", files...)
}

// zipWithRawEntry is zipOf(files) plus an entry of hdr whose stored bytes
// are raw.
func zipWithRawEntry(t *testing.T, hdr zip.FileHeader, raw string, files ...archiveFile) string {
	t.Helper()
	plain := zipOf(t, files...)
	zr, err := zip.NewReader(strings.NewReader(plain), int64(len(plain)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		if err := zw.Copy(f); err != nil {
			t.Fatal(err)
		}
	}
	hdr.CompressedSize64, hdr.UncompressedSize64 = uint64(len(raw)), 100
	w, err := zw.CreateRaw(&hdr)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(raw))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func gzipOf(t *testing.T, s string) string {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	gz.Write([]byte(s))
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// tarEntryEnd is where the k-th entry of Go's tar of files ends (header,
// data and padding; names under 100 bytes).
func tarEntryEnd(files []archiveFile, k int) int {
	end := 0
	for _, f := range files[:k+1] {
		end += 512 + (len(f.body)+511)/512*512
	}
	return end
}

func (f beirFixture) files(root string) []archiveFile {
	return []archiveFile{
		{root + "corpus.jsonl", f.corpus},
		{root + "queries.jsonl", f.queries},
		{root + "qrels/train.tsv", f.qrelsTrain},
		{root + "qrels/test.tsv", f.qrelsTest},
	}
}

// A dataset folder sent as one zip or tar(.gz) part, as BEIR distributes
// its datasets, is stored exactly as the same files sent as parts.
func TestDatasetUploadBundle(t *testing.T) {
	cfg := jobsConfig(t)
	cfg.MaxUploadBytes = 64 << 10
	js := startJobsServer(t, cfg, false)
	fx := newBEIRFixture()
	want := mustJSON[datasetJSON](t, js.upload(fx.parts("parts")...), http.StatusCreated)

	junk := []archiveFile{{"__MACOSX/scifact/._corpus.jsonl", "junk"}, {"scifact/README.md", "about"}, {"../corpus.jsonl", "escape"},
		{"scifact/qrels/._test.tsv", "mac metadata"}, {"scifact/qrels/old/test.tsv", "an older copy"}}
	for name, bundle := range map[string]string{
		"zip, top folder":  zipOf(t, append(fx.files("scifact/"), junk...)...),
		"zip, flat":        zipOf(t, fx.files("")...),
		"tar.gz":           tarOf(t, true, append(append([]archiveFile{{"scifact/", ""}}, fx.files("scifact/")...), junk...)...),
		"tar, ./ prefixed": tarOf(t, false, fx.files("./")...),
		// tar's append stores a name twice: the last copy is the file.
		"tar with a file twice": tarOf(t, false, append([]archiveFile{{"qrels/test.tsv", "stale"}}, fx.files("")...)...),
		"zip with a file twice": zipOf(t, append([]archiveFile{{"corpus.jsonl", "{oops"}}, fx.files("")...)...),
		// A pairs file beside a BEIR folder is one of the files not read.
		"zip with a train.jsonl too": zipOf(t, append(fx.files(""), archiveFile{"train.jsonl", "not read"})...),
		// Files the dataset does not use are not read, encrypted or not.
		"zip with an encrypted README": encryptedZipOf(t, "README.md", fx.files("")...),
		"zip with a bzip2 README":      bzip2ZipOf(t, "README.md", fx.files("")...),
		// Some writers end a tar with one zero block; GNU tar pads it to a
		// 10240-byte record.
		"tar with one zero block": tarOf(t, false, fx.files("")...)[:len(tarOf(t, false, fx.files("")...))-512],
		"tar padded to a record":  padTo(tarOf(t, false, fx.files("")...), 10240),
	} {
		t.Run(name, func(t *testing.T) {
			js.use(t)
			ds := mustJSON[datasetJSON](t, js.upload(formPart{"name", "", "b"}, formPart{"bundle", "scifact.zip", bundle}), http.StatusCreated)
			if ds.Checksum != want.Checksum || ds.Bytes != want.Bytes || ds.Docs != 40 || ds.Splits["test"]["queries"] != 10 || ds.Format != "beir" {
				t.Fatalf("bundle gave %+v, want the parts' %+v", ds, want)
			}
		})
	}
	js.use(t)

	pairs := zipOf(t, archiveFile{"pairs/train.jsonl", `{"query":"cat speed","pos":["The cat is fast."]}` + "\n"})
	if ds := mustJSON[datasetJSON](t, js.upload(formPart{"bundle", "p.zip", pairs}), http.StatusCreated); ds.Format != "pairs" {
		t.Fatalf("pairs bundle: %+v", ds)
	}

	full := tarOf(t, false, fx.files("")...)
	bomb := zipOf(t, archiveFile{"corpus.jsonl", strings.Repeat(" ", 1<<20)})
	// In a tar the whole stream counts, entries the dataset does not use too.
	tarBomb := tarOf(t, true, append(fx.files(""), archiveFile{"padding.bin", strings.Repeat("\x00", 1<<20)})...)
	for _, tc := range []struct {
		name   string
		parts  []formPart
		status int
		msg    string
	}{
		{"not an archive", []formPart{{"bundle", "x.zip", "hello"}}, 400, "must be a .zip, .tar or .tar.gz"},
		{"no dataset", []formPart{{"bundle", "x.zip", zipOf(t, archiveFile{"README", "hi"})}}, 400, "no corpus.jsonl or train.jsonl at the top"},
		{"dataset too deep", []formPart{{"bundle", "x.zip", zipOf(t, archiveFile{"a/b/c/corpus.jsonl", fx.corpus})}}, 400, "a/b/c/corpus.jsonl is more than one folder down"},
		{"two datasets", []formPart{{"bundle", "x.zip", zipOf(t, append(fx.files("a/"), fx.files("b/")...)...)}}, 400, "more than one dataset (a/, b/)"},
		{"two datasets, one at the top", []formPart{{"bundle", "x.zip", zipOf(t, append(fx.files(""), fx.files("old/")...)...)}}, 400, "more than one dataset (the top level, old/)"},
		{"compressed corpus", []formPart{{"bundle", "x.zip", zipOf(t, append([]archiveFile{{"d/corpus.jsonl.gz", "\x1f\x8b"}}, fx.files("d/")[1:]...)...)}}, 400,
			"d/corpus.jsonl.gz is compressed inside the archive; files in an archive are read as they are: put corpus.jsonl in uncompressed"},
		{"missing queries", []formPart{{"bundle", "x.zip", zipOf(t, fx.files("")[0], fx.files("")[2])}}, 400, "the bundle has no queries.jsonl beside its corpus.jsonl"},
		{"missing qrels", []formPart{{"bundle", "x.zip", zipOf(t, fx.files("")[:2]...)}}, 400, "the bundle has no qrels/<split>.tsv"},
		{"bad split", []formPart{{"bundle", "x.zip", zipOf(t, append(fx.files(""), archiveFile{"qrels/a b.tsv", fx.qrelsTest})...)}}, 400, `split name "a b"`},
		{"bad line", []formPart{{"bundle", "x.zip", zipOf(t, append([]archiveFile{{"corpus.jsonl", "{oops\n"}}, fx.files("")[1:]...)...)}}, 400, "corpus.jsonl: line 1"},
		{"truncated", []formPart{{"bundle", "x.tgz", tarOf(t, true, fx.files("")...)[:200]}}, 400, "the archive is truncated"},
		// archive/tar reads a stream that stops where a header or padding
		// is due as the archive's end: the entries after it went missing.
		{"tar cut before its last entry", []formPart{{"bundle", "x.tar", full[:tarEntryEnd(fx.files(""), 2)]}}, 400, "the archive is truncated"},
		{"tar cut in an entry's padding", []formPart{{"bundle", "x.tar", full[:tarEntryEnd(fx.files(""), 1)-1]}}, 400, "the archive is truncated"},
		{"tar cut before its end marker", []formPart{{"bundle", "x.tar", full[:len(full)-1024]}}, 400, "the archive is truncated"},
		{"gzipped cut tar", []formPart{{"bundle", "x.tgz", gzipOf(t, full[:tarEntryEnd(fx.files(""), 2)])}}, 400, "the archive is truncated"},
		// Names are kept while the dataset's folder is found: none longer
		// than a path can be.
		{"tar entry name over 4096 bytes", []formPart{{"bundle", "x.tar", tarOf(t, false, append(fx.files(""), archiveFile{strings.Repeat("d/", 2100) + "x", "x"})...)}}, 400,
			`part "bundle": an entry's name is longer than 4096 bytes`},
		{"bzip2 entry the dataset uses", []formPart{{"bundle", "x.zip", bzip2ZipOf(t, "queries.jsonl", append(fx.files("")[:1], fx.files("")[2:]...)...)}}, 400,
			`part "bundle": queries.jsonl: zip: unsupported compression algorithm`},
		{"encrypted zip", []formPart{{"bundle", "x.zip", encryptedZipOf(t, "d/queries.jsonl", append(fx.files("d/")[:1], fx.files("d/")[2:]...)...)}}, 400,
			`part "bundle": encrypted zip entries are not supported (d/queries.jsonl)`},
		{"bomb", []formPart{{"bundle", "x.zip", bomb}}, 413, "bundle unpacks to more than 655360 bytes"},
		{"tar bomb in an unused entry", []formPart{{"bundle", "x.tgz", tarBomb}}, 413, "bundle unpacks to more than 655360 bytes"},
		{"bundle and parts", append(fx.parts(""), formPart{"bundle", "x.zip", zipOf(t, fx.files("")...)}), 400, "not both"},
		{"parts after bundle", []formPart{{"bundle", "x.zip", zipOf(t, fx.files("")...)}, {"corpus", "c.jsonl", fx.corpus}}, 400, "not both"},
		{"corpus as a tar symlink", []formPart{{"bundle", "x.tar", tarOf(t, false, append(fx.files("d/")[1:], archiveFile{"d/corpus.jsonl", "-> /data/corpus.jsonl"})...)}}, 400,
			"d/corpus.jsonl is a link; archive the files themselves"},
		{"qrels as a zip symlink", []formPart{{"bundle", "x.zip", zipOf(t, append(fx.files("")[:3], archiveFile{"qrels/test.tsv", "-> ../../test.tsv"})...)}}, 400,
			"qrels/test.tsv is a link"},
		{"qrels folder as a tar symlink", []formPart{{"bundle", "x.tar", tarOf(t, false, append(fx.files("")[:2], archiveFile{"qrels", "-> /data/qrels"})...)}}, 400,
			"qrels is a link"},
		{"bundle twice", []formPart{{"bundle", "x.zip", zipOf(t, fx.files("")...)}, {"bundle", "x.zip", zipOf(t, fx.files("")...)}}, 400, `part "bundle" sent twice`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			js.use(t)
			wantAPIError(t, js.upload(tc.parts...), tc.status, tc.msg)
		})
	}
	js.use(t)
	if page := mustJSON[listJSON[datasetJSON]](t, js.do("GET", "/v1/datasets", "", nil), http.StatusOK); len(page.Data) != 13 {
		t.Fatalf("%d datasets after the refused uploads, want the 13 accepted", len(page.Data))
	}
}
