package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gin-gonic/gin"

	"retune/dataset"
	"retune/store"
)

// lineErrorsShown is how many rejected lines an error message spells out;
// the details array lists all of them (up to dataset.MaxErrors per file).
const lineErrorsShown = 10

// describeDataset validates an upload by parsing it back from disk, converts
// training pairs to the BEIR layout, and returns the dataset's record.
func describeDataset(up *upload) (store.Dataset, error) {
	format, err := up.format()
	if err != nil {
		return store.Dataset{}, err
	}
	splits := up.splits
	if format == store.FormatPairs {
		if splits, err = up.convertPairs(); err != nil {
			return store.Dataset{}, err
		}
	}
	data, err := dataset.CheckBEIR(up.dir, splits...)
	if err != nil {
		return store.Dataset{}, datasetError(err, "")
	}
	d := store.Dataset{Name: up.name, Format: format, Docs: len(data.Corpus), Queries: len(data.Queries),
		Splits: map[string]store.SplitInfo{}}
	for _, split := range data.Splits() {
		if _, _, err := data.Split(split); err != nil {
			// A split without one relevant judgement can neither train nor
			// score: refuse it now rather than fail (or report nothing) later.
			return store.Dataset{}, badUpload("split %q has no relevant judgement (every score is 0 or below): judge at least one document relevant (score > 0), or leave the split out", split)
		}
		info := store.SplitInfo{Queries: len(data.Qrels[split])}
		for _, docs := range data.Qrels[split] {
			info.Pairs += len(docs)
		}
		d.Splits[split] = info
	}
	d.Checksum, d.Bytes = up.checksum()
	return d, nil
}

// datasetError turns a dataset reader's error into a 400 listing the
// rejected lines (file names relative to the upload, never server paths);
// other errors are the server's. file names the file when the reader does
// not (single-file readers).
func datasetError(err error, file string) error {
	var lines dataset.Errors
	if !errors.As(err, &lines) {
		return err
	}
	lines = append(dataset.Errors(nil), lines...)
	for i := range lines {
		if lines[i].File == "" {
			lines[i].File = file
		}
	}
	return &uploadError{status: http.StatusBadRequest, msg: describeLineErrors(lines), details: lines}
}

// describeLineErrors lists rejected lines as "corpus.jsonl: line 3: ...".
func describeLineErrors(lines dataset.Errors) string {
	parts := make([]string, 0, min(len(lines), lineErrorsShown))
	for i, l := range lines {
		if i == lineErrorsShown {
			break
		}
		parts = append(parts, l.Error())
	}
	msg := strings.Join(parts, "; ")
	if len(lines) > lineErrorsShown {
		msg += fmt.Sprintf("; and %d more (see details)", len(lines)-lineErrorsShown)
	}
	return msg
}

// checksum is the SHA-256 of the sha256sum-style manifest of the stored
// files ("<sha256>  <path>\n", sorted by path), with their total size: it
// changes when any file's content or name does.
func (up *upload) checksum() (string, int64) { return manifestChecksum(up.files) }

func manifestChecksum(files map[string]storedFile) (string, int64) {
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	h := sha256.New()
	var total int64
	for _, p := range paths {
		fmt.Fprintf(h, "%s  %s\n", files[p].sha256, p)
		total += files[p].bytes
	}
	return hex.EncodeToString(h.Sum(nil)), total
}

// checkDatasetFiles recomputes the stored dataset's checksum from the files
// in dir and compares it with the one recorded at upload, so that files
// edited, truncated or removed on the server since are refused with that
// reason rather than trained on or indexed as they now are. It reads every
// file once (a fraction of a second per hundred megabytes).
func checkDatasetFiles(ctx context.Context, dir string, ds store.Dataset) error {
	files := map[string]storedFile{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		h := sha256.New()
		n, err := io.Copy(h, f)
		if err != nil {
			return err
		}
		files[filepath.ToSlash(rel)] = storedFile{bytes: n, sha256: hex.EncodeToString(h.Sum(nil))}
		return nil
	})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%w: %w", errDatasetChanged, err)
	}
	if sum, n := manifestChecksum(files); sum != ds.Checksum || n != ds.Bytes {
		return fmt.Errorf("%w: %d files, %d bytes now (%d recorded), content checksum %s (recorded %s)",
			errDatasetChanged, len(files), n, ds.Bytes, short(sum), short(ds.Checksum))
	}
	return nil
}

// checkDataset is checkDatasetFiles with the details (server paths
// included) logged and a message for the dataset's users returned.
func (s *Server) checkDataset(ctx context.Context, dir string, ds store.Dataset) error {
	err := checkDatasetFiles(ctx, dir, ds)
	if errors.Is(err, errDatasetChanged) {
		s.log.Error("dataset files changed", "dataset", ds.ID, "err", err)
		return fmt.Errorf("dataset %s: its files on the server were edited, truncated or removed since the upload (checksum mismatch); upload it again", ds.ID)
	}
	return err
}

// errDatasetChanged marks a dataset whose stored files no longer match
// their upload.
var errDatasetChanged = errors.New("dataset files changed on the server since the upload")

// lineErrorJSON is one entry of a 400's details.
type lineErrorJSON struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

// abortUpload answers a failed upload: client errors with their status
// (and the rejected lines as error.details), a collectionError (one the
// checks share with the collection routes, e.g. an encoder that does not
// open) with its own, anything else as a 500.
func (s *Server) abortUpload(c *gin.Context, err error) {
	var ue *uploadError
	if !errors.As(err, &ue) {
		if errors.As(err, new(*collectionError)) {
			s.writeCollectionError(c, err)
			return
		}
		if errors.Is(err, context.Canceled) && c.Request.Context().Err() != nil {
			c.Abort() // the client went away; nobody reads an answer
			return
		}
		s.internalError(c, err)
		return
	}
	if len(ue.details) == 0 {
		code := codeInvalidRequest
		switch ue.status {
		case http.StatusRequestEntityTooLarge:
			code = codeTooLarge
		case http.StatusNotFound:
			code = codeNotFound
		case http.StatusConflict:
			code = codeConflict
		case http.StatusServiceUnavailable:
			code = codeUnavailable
		}
		abortParam(c, ue.status, code, ue.param, ue.msg)
		return
	}
	details := make([]lineErrorJSON, len(ue.details))
	for i, l := range ue.details {
		details[i] = lineErrorJSON{File: l.File, Line: l.Line, Reason: l.Reason}
	}
	type withDetails struct {
		apiError
		Details []lineErrorJSON `json:"details"`
	}
	c.Set(ctxErrorMsg, ue.msg) // for the access log, as abort does
	c.AbortWithStatusJSON(ue.status, gin.H{"error": withDetails{
		apiError: apiError{Message: ue.msg, Type: "invalid_request_error", Code: codeInvalidRequest}, Details: details}})
}

// removeDatasetFiles deletes a dataset directory (a failed upload or a deleted dataset).
func (s *Server) removeDatasetFiles(id string) {
	if err := s.store.RemoveDir(store.KindDatasets, id); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.Error("remove dataset files", "dataset", id, "err", err)
	}
}
