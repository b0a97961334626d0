package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"retune/dataset"
	"retune/model"
	"retune/store"
)

// Limits of POST /v1/collections.
const (
	defaultMaxDocuments = 50_000 // posted documents; larger corpora come as datasets
	maxDocIDLen         = 256    // characters
	maxNameLen          = 256    // characters
)

type createCollectionRequest struct {
	Name      string          `json:"name"`
	Model     string          `json:"model"`
	Head      *string         `json:"head"`      // nil when absent; "" is an error
	Dataset   *string         `json:"dataset"`   // as Head
	Documents []documentInput `json:"documents"` // nil when absent
}

// deref is *s, "" for nil.
func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// documentInput is a posted document; pointers tell a missing id or text
// from an empty one (null is refused while decoding).
type documentInput struct {
	ID    *string `json:"id"`
	Text  *string `json:"text"`
	Title string  `json:"title"`
}

func (s *Server) maxDocuments() int {
	if s.cfg.MaxDocuments > 0 {
		return s.cfg.MaxDocuments
	}
	return defaultMaxDocuments
}

// newCollection validates req, records the collection and starts indexing
// it. Posted documents are saved before the collection row exists, so a
// row in "indexing" always has what a resumed run needs.
func (s *Server) newCollection(ctx context.Context, req createCollectionRequest) (store.Collection, error) {
	// Trimmed as a dataset's name is: one of only spaces is no name.
	req.Name = strings.TrimSpace(req.Name)
	docs, err := s.checkCreateRequest(req)
	if err != nil {
		return store.Collection{}, err
	}
	if base, headID, ok := parseHeadModel(req.Model); ok {
		return store.Collection{}, colBadParam("model", `model %q is a fine-tuned model: give its encoder and head separately, {"model": %q, "head": %q}`, req.Model, base, headID)
	}
	enc, err := s.cfg.Models.Get(ctx, req.Model)
	if errors.Is(err, model.ErrUnknownModel) {
		return store.Collection{}, colNotFoundParam("model", "model %q not found; GET /v1/models lists the available ones", req.Model)
	}
	if err != nil {
		if errors.Is(err, model.ErrEncoderBroken) {
			return store.Collection{}, withParam(s.encoderBroken(err), "model")
		}
		return store.Collection{}, fmt.Errorf("load model: %w", err)
	}
	if err := enc.CheckDocumentEncoder(); err != nil {
		return store.Collection{}, colBadParam("model", "%s", err)
	}
	headID, datasetID := deref(req.Head), deref(req.Dataset) // "" when absent (checked above)
	var head *model.Head
	if headID != "" {
		if head, err = s.collectionHead(ctx, headID, enc); err != nil {
			return store.Collection{}, withParam(err, "head")
		}
	}
	col := store.Collection{ID: store.NewID(store.PrefixCollection), Name: req.Name, Encoder: req.Model,
		HeadID: headID, DatasetID: datasetID, Docs: len(docs)}
	corpusBytes, param := postedBytes(docs), "documents"
	if datasetID != "" {
		ds, err := s.store.GetDataset(ctx, datasetID)
		if errors.Is(err, store.ErrNotFound) {
			return store.Collection{}, colNotFoundParam("dataset", "dataset %s not found", datasetID)
		}
		if err != nil {
			return store.Collection{}, err
		}
		path, err := s.datasetCorpusPath(ds)
		if err != nil {
			return store.Collection{}, err
		}
		col.Docs, corpusBytes, param = ds.Docs, fileBytes(path), "dataset"
	}
	shape := newIndexShape(col.Docs, corpusBytes, enc, head)
	if err := s.checkIndexingMemory(shape, param); err != nil {
		return store.Collection{}, err
	}
	dir, err := s.store.Dir(store.KindCollections, col.ID)
	if err != nil {
		return store.Collection{}, err
	}
	// Nothing refers to the folder until the collection is stored.
	removeDir := func() {
		if rmErr := s.store.RemoveDir(store.KindCollections, col.ID); rmErr != nil {
			s.log.Error("remove documents of an uncreated collection", "collection", col.ID, "err", rmErr.Error())
		}
	}
	if docs != nil {
		if err := writeCollectionCorpus(dir, docs); err != nil {
			removeDir() // a full disk: the folder would stay until a restart
			return store.Collection{}, err
		}
	}
	created, err := s.store.CreateCollection(ctx, col)
	if err != nil {
		removeDir()
		if errors.Is(err, store.ErrNotFound) { // the head or dataset was deleted meanwhile
			what, id := "dataset", col.DatasetID
			if col.HeadID != "" {
				if _, gerr := s.store.GetHead(ctx, col.HeadID); errors.Is(gerr, store.ErrNotFound) {
					what, id = "head", col.HeadID
				}
			}
			return store.Collection{}, colNotFoundParam(what, "%s %s not found (deleted while the collection was being created)", what, id)
		}
		return store.Collection{}, err
	}
	s.startIndexing(created)
	return created, nil
}

// checkCreateRequest validates the request's own fields and returns the
// posted documents (nil when indexing a dataset).
func (s *Server) checkCreateRequest(req createCollectionRequest) ([]dataset.Doc, error) {
	switch {
	case req.Model == "":
		return nil, colBadParam("model", "field \"model\" is required")
	case utf8.RuneCountInString(req.Name) > maxNameLen || !utf8.ValidString(req.Name):
		return nil, colBadParam("name", "name must be valid UTF-8 of at most %d characters", maxNameLen)
	case strings.ContainsFunc(req.Name, unicode.IsControl):
		return nil, colBadParam("name", "name contains control characters")
	case req.Head != nil && !store.ValidID(store.PrefixHead, *req.Head):
		return nil, colBadParam("head", "head %q is not a head id (head-...; leave it out for none)", *req.Head)
	case req.Dataset != nil && req.Documents != nil:
		return nil, colBadRequest("give either \"dataset\" or \"documents\", not both")
	case req.Dataset == nil && req.Documents == nil:
		return nil, colBadRequest("give \"dataset\" (a dataset id) or \"documents\" (an array of {id, text}) to index")
	case req.Dataset != nil:
		if !store.ValidID(store.PrefixDataset, *req.Dataset) {
			return nil, colBadParam("dataset", "dataset %q is not a dataset id (ds-...)", *req.Dataset)
		}
		return nil, nil
	case len(req.Documents) == 0:
		return nil, colBadParam("documents", "documents is empty")
	case len(req.Documents) > s.maxDocuments():
		return nil, colErrorf(http.StatusRequestEntityTooLarge, codeTooLarge,
			"%d documents in one request; the limit is %d (upload a dataset for larger corpora; the server's operator can raise it with retune serve --max-documents)", len(req.Documents), s.maxDocuments())
	}
	docs := make([]dataset.Doc, len(req.Documents))
	seen := make(map[string]int, len(req.Documents))
	for i, d := range req.Documents {
		at := fmt.Sprintf("documents[%d]", i)
		if err := checkDocument(at, d); err != nil {
			return nil, err
		}
		if j, dup := seen[*d.ID]; dup {
			return nil, colBadParam(at+".id", "%s.id %q repeats documents[%d].id", at, *d.ID, j)
		}
		seen[*d.ID] = i
		docs[i] = dataset.Doc{ID: *d.ID, Title: d.Title, Text: *d.Text}
	}
	return docs, nil
}

// checkDocument validates posted document d, which at names
// ("documents[3]"); the error's param is the offending field's path.
func checkDocument(at string, d documentInput) error {
	switch {
	case d.ID == nil:
		return colBadParam(at+".id", "%s.id is missing: each document needs \"id\" and \"text\"", at)
	case strings.TrimSpace(*d.ID) == "":
		return colBadParam(at+".id", "%s.id is empty", at)
	case utf8.RuneCountInString(*d.ID) > maxDocIDLen:
		return colBadParam(at+".id", "%s.id is longer than %d characters", at, maxDocIDLen)
	case strings.ContainsAny(*d.ID, "\t\r\n"):
		// The index stores ids one per line; datasets refuse them too.
		return colBadParam(at+".id", "%s.id contains a tab or line break", at)
	case d.Text == nil:
		return colBadParam(at+".text", "%s.text is missing: each document needs \"id\" and \"text\"", at)
	case strings.TrimSpace(*d.Text) == "":
		return colBadParam(at+".text", "%s.text is empty", at)
	}
	return nil
}

// storedCollection returns the collection row, mapping a malformed id to
// 400 and an unknown one to 404.
func (s *Server) storedCollection(ctx context.Context, id string) (store.Collection, error) {
	if !store.ValidID(store.PrefixCollection, id) {
		return store.Collection{}, colBadRequest("%q is not a collection id (col-...)", id)
	}
	col, err := s.store.GetCollection(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Collection{}, colNotFound("collection %s not found", id)
	}
	return col, err
}

// removeCollection stops any indexing of the collection, deletes its row,
// forgets it in memory and removes its files.
func (s *Server) removeCollection(ctx context.Context, id string) error {
	if _, err := s.storedCollection(ctx, id); err != nil {
		return err
	}
	s.cols.stopRun(id)
	if err := s.store.DeleteCollection(ctx, id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return colNotFound("collection %s not found", id)
		}
		// The run was stopped for a delete that did not happen (a full
		// disk): start it again, or the collection would read "indexing"
		// with nothing behind it.
		if col, gerr := s.store.GetCollection(context.WithoutCancel(ctx), id); gerr == nil && col.Status == store.CollectionIndexing {
			s.startIndexing(col)
		}
		return err
	}
	s.cols.forget(id)
	if err := s.store.RemoveDir(store.KindCollections, id); err != nil {
		// The collection is gone from the API; only disk space is at stake.
		s.log.Error("remove collection files", "collection", id, "err", err.Error())
	}
	return nil
}
