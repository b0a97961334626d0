package api

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
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
	data, err := dataset.LoadBEIR(up.dir, splits...)
	if err != nil {
		return store.Dataset{}, datasetError(err, "")
	}
	d := store.Dataset{Name: up.name, Format: format, Docs: len(data.Corpus), Queries: len(data.Queries),
		Splits: map[string]store.SplitInfo{}}
	for _, split := range data.Splits() {
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
func (up *upload) checksum() (string, int64) {
	paths := make([]string, 0, len(up.files))
	for p := range up.files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	h := sha256.New()
	var total int64
	for _, p := range paths {
		fmt.Fprintf(h, "%s  %s\n", up.files[p].sha256, p)
		total += up.files[p].bytes
	}
	return hex.EncodeToString(h.Sum(nil)), total
}

// lineErrorJSON is one entry of a 400's details.
type lineErrorJSON struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

// abortUpload answers a failed upload: client errors with their status
// (and the rejected lines as error.details), anything else as a 500.
func (s *Server) abortUpload(c *gin.Context, err error) {
	var ue *uploadError
	if !errors.As(err, &ue) {
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
		}
		abort(c, ue.status, code, ue.msg)
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
	c.AbortWithStatusJSON(ue.status, gin.H{"error": withDetails{
		apiError: apiError{Message: ue.msg, Type: "invalid_request_error", Code: codeInvalidRequest}, Details: details}})
}

// removeDatasetFiles deletes a dataset directory (a failed upload or a deleted dataset).
func (s *Server) removeDatasetFiles(id string) {
	if err := s.store.RemoveDir(store.KindDatasets, id); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.Error("remove dataset files", "dataset", id, "err", err)
	}
}
