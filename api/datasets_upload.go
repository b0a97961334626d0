package api

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"retune/dataset"
	"retune/store"
)

// Multipart part names of POST /v1/datasets. A BEIR bundle is corpus +
// queries + one qrels file per split, sent as a part named qrels_<split> or
// as a part named qrels whose file name is <split>.tsv; training pairs are
// a train part and optionally a test part of held-out pairs.
const (
	partName    = "name"
	partCorpus  = "corpus"
	partQueries = "queries"
	partQrels   = "qrels"
	partTrain   = "train"
	partTest    = "test"
)

// Files of a dataset directory (store.Dir(KindDatasets, id)), in the BEIR
// layout dataset.LoadBEIR reads; a pairs dataset keeps its upload as
// train.jsonl beside the layout converted from it.
const (
	fileCorpus    = "corpus.jsonl"
	fileQueries   = "queries.jsonl"
	fileTrain     = "train.jsonl"
	fileTest      = "test.jsonl"
	fileNegatives = "negatives.json"
	qrelsDir      = "qrels"
)

// maxNamePart bounds a name part as read: whitespace around a name is
// trimmed and its length counted in characters (maxNameLen, as a
// collection's, as the spec's maxLength counts), so the bytes read may be
// several times that.
const maxNamePart = 64 << 10

var splitName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

// uploadError is a client error in an upload; details lists rejected lines.
type uploadError struct {
	status  int
	msg     string
	param   string // the offending field (a part), when one is
	details dataset.Errors
}

func (e *uploadError) Error() string { return e.msg }

func badUpload(format string, args ...any) *uploadError {
	return &uploadError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

// badUploadParam is a 400 about one field, which the error's param names.
func badUploadParam(param, format string, args ...any) *uploadError {
	return &uploadError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...), param: param}
}

// storedFile is one file written into a dataset directory.
type storedFile struct {
	bytes  int64
	sha256 string
}

// upload is what the multipart body delivered: files written under dir,
// keyed by their slash-separated path relative to it.
type upload struct {
	dir    string
	name   string
	named  bool // a name part came
	files  map[string]storedFile
	splits []string

	bundled    bool             // a bundle part came
	loose      int              // data parts other than a bundle
	maxExtract int64            // what a bundle may unpack to
	pool       *unpackPool      // what the bundles of all uploads under way may unpack to; nil: no bound
	budget     *expansionBudget // the bundle's, once one is unpacked
	ctx        context.Context  // the request's: unpacking stops when the client goes
	// tempDir makes a scratch folder outside dir (whose files are the
	// dataset's) for a bundle's archive.
	tempDir func(pattern string) (string, error)
}

// receiveUpload streams each part of the multipart body straight into its
// file under dir (one buffer at a time, never the whole upload in memory).
// up's dir, maxExtract and tempDir must be set.
func receiveUpload(r *http.Request, up *upload) (*upload, error) {
	parts, err := newPartReader(r)
	if err != nil {
		return nil, err
	}
	up.files = map[string]storedFile{}
	for {
		part, err := parts.next()
		if errors.Is(err, io.EOF) {
			return up, nil
		}
		if err != nil {
			return nil, err
		}
		err = up.receive(part)
		part.Close()
		if err != nil {
			return nil, err
		}
	}
}

// partReader reads the parts of a multipart body.
type partReader struct {
	mr       *multipart.Reader
	boundary string
	opened   bool // a part has been read
}

func newPartReader(r *http.Request) (*partReader, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, badUpload("malformed multipart body: %v", err)
	}
	_, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type")) // parsed by MultipartReader
	return &partReader{mr: mr, boundary: params["boundary"]}, nil
}

// next returns the next part, io.EOF after the last, or the body's error
// as readError classifies it. A body in which no line opens a part with
// the boundary its Content-Type names is refused as such: the multipart
// reader skips what comes before a first delimiter, so it ends at EOF as
// if the body held no part (the message was then a missing part's), or
// reads into a line too long to buffer ("bufio: buffer full").
func (p *partReader) next() (*multipart.Part, error) {
	part, err := p.mr.NextPart()
	switch {
	case err == nil:
		p.opened = true
		return part, nil
	case err == io.EOF: // the closing delimiter, unwrapped
		return nil, err
	case !p.opened && (errors.Is(err, io.EOF) || errors.Is(err, bufio.ErrBufferFull)):
		return nil, badUpload("no part delimited by boundary %q was found: the body does not use the boundary its Content-Type names", p.boundary)
	}
	return nil, readError(err)
}

// readError classifies a failure reading the request body (or a bundle's
// entry, which reports its own uploadError).
func readError(err error) error {
	var ue *uploadError
	if errors.As(err, &ue) {
		return ue
	}
	if errors.Is(err, errBodyCut) { // a 499: see cutBody
		return &uploadError{status: clientClosed, msg: errBodyCut.Error()}
	}
	if errors.Is(err, net.ErrClosed) {
		// Only this process closes its side of a connection: the server's
		// shutdown (http.Server.Close) cut the request off, not the client.
		return &uploadError{status: http.StatusServiceUnavailable, msg: "the server is shutting down: send the upload again once it is back"}
	}
	if isTooLarge(err) {
		limit := bodyLimitOf(err)
		return &uploadError{status: http.StatusRequestEntityTooLarge, msg: fmt.Sprintf(
			"upload too large: the limit is %d bytes (%.1f MiB); the server's operator can raise it with retune serve --max-upload-mb", limit, float64(limit)/(1<<20))}
	}
	return badUpload("malformed multipart body: %v", err)
}

func (up *upload) receive(part *multipart.Part) error {
	field := part.FormName()
	switch field {
	case partName:
		return up.receiveName(part)
	case partBundle:
		if up.loose > 0 {
			return errBundleAndParts()
		}
		return up.receiveBundle(part)
	}
	rel, split, err := loosePart(field, part.FileName())
	if err != nil {
		return err
	}
	if up.bundled {
		return errBundleAndParts()
	}
	up.loose++
	if rel == "" {
		return up.saveQrels(part, field, split)
	}
	return up.save(part, field, rel)
}

// loosePart is where a data part other than a bundle goes: its file, or
// (rel empty) for qrels its split.
func loosePart(field, fileName string) (rel, split string, err error) {
	switch {
	case field == partCorpus:
		return fileCorpus, "", nil
	case field == partQueries:
		return fileQueries, "", nil
	case field == partTrain:
		return fileTrain, "", nil
	case field == partTest:
		return fileTest, "", nil
	case field == partQrels:
		// Some Windows clients send the whole path; Part.FileName strips
		// only the server's own separator.
		fileName = fileName[strings.LastIndexAny(fileName, `\/`)+1:]
		split, ok := strings.CutSuffix(fileName, ".tsv")
		if !ok {
			return "", "", badUpload("part %q needs a file name <split>.tsv (e.g. test.tsv), got %q", field, fileName)
		}
		return "", split, nil
	case strings.HasPrefix(field, partQrels+"_"):
		return "", strings.TrimPrefix(field, partQrels+"_"), nil
	}
	return "", "", badUpload("unknown part %q: send corpus, queries and qrels_<split> (or qrels parts named <split>.tsv), or train (and optionally test), or the dataset folder as one bundle (.zip, .tar, .tar.gz); name is optional", field)
}

func errBundleAndParts() error {
	return badUpload("send the dataset either as a part %q or as separate parts (corpus, queries, qrels, train, test), not both", partBundle)
}

func (up *upload) receiveName(part *multipart.Part) error {
	if up.named {
		return badUploadParam(partName, "part %q sent twice", partName)
	}
	up.named = true
	b, err := io.ReadAll(io.LimitReader(part, maxNamePart+1))
	if err != nil {
		return readError(err)
	}
	// Trimmed as a collection's name is: one of only spaces is no name.
	name := strings.TrimSpace(string(b))
	switch {
	case len(b) > maxNamePart || utf8.RuneCountInString(name) > maxNameLen:
		return badUploadParam(partName, "name is longer than %d characters", maxNameLen)
	case !utf8.ValidString(name):
		return badUploadParam(partName, "name is not valid UTF-8")
	case strings.ContainsFunc(name, unicode.IsControl):
		return badUploadParam(partName, "name contains control characters")
	}
	up.name = name
	return nil
}

func (up *upload) saveQrels(part *multipart.Part, field, split string) error {
	if !splitName.MatchString(split) {
		return badUpload("part %q: split name %q must be 1-64 letters, digits, '_' or '-'", field, split)
	}
	if err := up.checkSplitCount(); err != nil {
		return err
	}
	if err := up.save(part, field, qrelsDir+"/"+split+".tsv"); err != nil {
		return err
	}
	up.splits = append(up.splits, split)
	return nil
}

// maxSplits bounds a dataset's qrels splits: train, dev and test, or a
// few more, not the thousands of files (each written and synced, each a
// row in the dataset's record) a client could send as separate parts.
const maxSplits = 64

// checkSplitCount refuses a qrels split past maxSplits.
func (up *upload) checkSplitCount() error {
	if len(up.splits) >= maxSplits {
		return &uploadError{status: http.StatusRequestEntityTooLarge, msg: fmt.Sprintf(
			"more than %d qrels splits: a dataset has a few (train, dev, test)", maxSplits)}
	}
	return nil
}

// save writes one part to rel under the upload's directory.
func (up *upload) save(r io.Reader, field, rel string) error {
	if _, dup := up.files[rel]; dup {
		return badUpload("part %q sent twice (%s)", field, rel)
	}
	src := &trackedReader{r: r}
	n, sum, err := store.WriteFileAtomic(filepath.Join(up.dir, filepath.FromSlash(rel)), src)
	if err != nil {
		if src.err != nil {
			return readError(src.err) // the client's body, not our disk
		}
		return fmt.Errorf("store %s: %w", rel, err)
	}
	up.files[rel] = storedFile{bytes: n, sha256: sum}
	return nil
}

// trackedReader remembers a read error, which tells a broken or oversized
// request apart from a failing disk when a copy fails.
type trackedReader struct {
	r   io.Reader
	err error
}

func (t *trackedReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		t.err = err
	}
	return n, err
}

// format decides what the upload is, or says what is missing.
func (up *upload) format() (string, error) {
	_, corpus := up.files[fileCorpus]
	_, queries := up.files[fileQueries]
	_, trainFile := up.files[fileTrain]
	_, testFile := up.files[fileTest]
	beir := corpus || queries || len(up.splits) > 0
	if up.bundled {
		// The bundle's files, named as in the folder it holds.
		switch {
		case beir && (trainFile || testFile):
			return "", badUpload("the bundle holds both a BEIR dataset (corpus.jsonl) and training pairs (train.jsonl or test.jsonl): send one")
		case testFile && !trainFile:
			return "", badUpload("the bundle's test.jsonl (held-out pairs) goes with a train.jsonl of training pairs")
		case trainFile:
			return store.FormatPairs, nil
		case !queries:
			return "", badUpload("the bundle has no queries.jsonl beside its corpus.jsonl")
		case len(up.splits) == 0:
			return "", badUpload("the bundle has no qrels/<split>.tsv beside its corpus.jsonl")
		}
		return store.FormatBEIR, nil
	}
	switch {
	case beir && (trainFile || testFile):
		return "", badUpload("send either a BEIR bundle (corpus, queries, qrels) or training pairs (train, optionally test), not both")
	case testFile && !trainFile:
		return "", badUpload("part %q (held-out pairs) goes with a part %q of training pairs", partTest, partTrain)
	case trainFile:
		return store.FormatPairs, nil
	case !corpus:
		return "", badUpload("missing part %q: send a BEIR bundle (corpus, queries, and qrels_<split> or qrels parts named <split>.tsv) or training pairs (train)", partCorpus)
	case !queries:
		return "", badUpload("missing part %q (queries.jsonl)", partQueries)
	case len(up.splits) == 0:
		return "", badUpload("missing qrels: send a part qrels_<split>, or a part qrels with file name <split>.tsv")
	}
	return store.FormatBEIR, nil
}

// done gives back what up's bundle took from the server's unpacking pool:
// its files are now the dataset's, or gone.
func (up *upload) done() {
	if up.budget != nil {
		up.budget.giveBack()
	}
}
