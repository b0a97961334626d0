package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"retune/dataset"
	"retune/index"
	"retune/store"
)

// A collection's folder, store.Dir("collections", id), holds:
//
//	corpus.jsonl  posted documents in BEIR corpus form ({"_id","title","text"}),
//	              written before the collection row so that an interrupted
//	              indexing run can always be resumed; removed once ready
//	manifest.json, docs.jsonl, vectors.bin
//	              the index (index.Collection.Save)
//	meta.json     collectionMeta: what the vectors were embedded with
const (
	collectionCorpusFile = "corpus.jsonl"
	collectionMetaFile   = "meta.json"
	collectionMetaFormat = 1
)

// collectionMeta records the embedding space of a collection's document
// vectors, so that search can refuse query vectors from another space
// instead of returning confident nonsense.
type collectionMeta struct {
	FormatVersion   int    `json:"format_version"`
	Encoder         string `json:"encoder"`
	EncoderChecksum string `json:"encoder_checksum"`
	// Head is the collection's head: the default query-side head.
	Head string `json:"head,omitempty"`
	// DocHead is the head the document vectors were projected through:
	// Head when it applies to documents (apply "shared"), else empty.
	DocHead string `json:"doc_head,omitempty"`
	Dim     int    `json:"dim"`
}

func writeCollectionMeta(dir string, m collectionMeta) error {
	js, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", collectionMetaFile, err)
	}
	if _, _, err := store.WriteFileAtomic(filepath.Join(dir, collectionMetaFile), bytes.NewReader(append(js, '\n'))); err != nil {
		return fmt.Errorf("write %s: %w", collectionMetaFile, err)
	}
	return nil
}

// errBadCollectionMeta marks a collection meta file that exists but cannot
// be read as one.
var errBadCollectionMeta = errors.New("damaged collection meta")

func readCollectionMeta(dir string) (collectionMeta, error) {
	var m collectionMeta
	js, err := os.ReadFile(filepath.Join(dir, collectionMetaFile))
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(js, &m); err != nil {
		return m, fmt.Errorf("%w: %s: %w", errBadCollectionMeta, collectionMetaFile, err)
	}
	if m.FormatVersion != collectionMetaFormat {
		// Not damage: another build's collection, readable again by it.
		return m, fmt.Errorf("%s: format_version %d, this build reads %d", collectionMetaFile, m.FormatVersion, collectionMetaFormat)
	}
	return m, nil
}

// loadCollection reads a ready collection's index and meta from disk.
func (s *Server) loadCollection(ctx context.Context, id string) (*index.Collection, collectionMeta, error) {
	dir, err := s.store.Dir(store.KindCollections, id)
	if err != nil {
		return nil, collectionMeta{}, err
	}
	meta, err := readCollectionMeta(dir)
	if err != nil {
		return nil, collectionMeta{}, fmt.Errorf("load collection %s: %w", id, err)
	}
	hold, err := s.admitLoad(id, dir)
	if err != nil {
		return nil, collectionMeta{}, err
	}
	defer hold.Release()
	ix, err := index.LoadCollection(ctx, dir)
	if err != nil {
		return nil, collectionMeta{}, fmt.Errorf("load collection %s: %w", id, err)
	}
	if ix.Dim() != meta.Dim {
		return nil, collectionMeta{}, fmt.Errorf("load collection %s: vectors have %d dims, %s says %d", id, ix.Dim(), collectionMetaFile, meta.Dim)
	}
	return ix, meta, nil
}

// loadReadyCollection is loadCollection for a collection the store lists
// as ready. When its files turn out damaged or missing on disk, the
// collection is marked failed with that reason, so that its users see why
// (GET shows it, searches answer 409) and no later search re-reads and
// re-hashes the same broken files.
func (s *Server) loadReadyCollection(ctx context.Context, id string) (*index.Collection, collectionMeta, error) {
	ix, meta, err := s.loadCollection(ctx, id)
	if err == nil || ctx.Err() != nil || !(errors.Is(err, index.ErrCorrupt) || errors.Is(err, fs.ErrNotExist) || errors.Is(err, errBadCollectionMeta)) {
		return ix, meta, err
	}
	bg := context.WithoutCancel(ctx)
	col, gerr := s.store.GetCollection(bg, id)
	if errors.Is(gerr, store.ErrNotFound) {
		// Deleted while it loaded: its files went with it, nothing is damaged.
		return nil, collectionMeta{}, colNotFound("collection %s not found", id)
	}
	s.log.Error("collection files damaged; marking it failed", "collection", id, "err", err)
	reason := "loading it found its index files on the server's disk damaged or missing"
	var ce *index.CorruptError
	if errors.As(err, &ce) { // its Detail names no server folder
		reason += " (" + ce.Detail + ")"
	}
	if gerr == nil {
		if uerr := s.store.UpdateCollection(bg, id, store.CollectionFailed, col.Docs, col.Progress, reason); uerr != nil {
			s.log.Error("record collection failure", "collection", id, "err", uerr)
		}
	}
	return nil, collectionMeta{}, colConflict("collection %s failed: %s; delete it and create it again", id, reason)
}

// datasetCorpusPath is where a dataset's corpus is: datasets are stored as
// BEIR folders (pairs uploads are converted), so every one has a
// corpus.jsonl.
func (s *Server) datasetCorpusPath(ds store.Dataset) (string, error) {
	dir, err := s.store.Dir(store.KindDatasets, ds.ID)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "corpus.jsonl")
	if _, err := os.Stat(path); err != nil {
		s.log.Error("dataset corpus", "dataset", ds.ID, "err", err.Error())
		return "", colConflict("dataset %s has no readable corpus to index", ds.ID)
	}
	return path, nil
}

// writeCollectionCorpus saves posted documents where a resumed indexing
// run finds them.
func writeCollectionCorpus(dir string, docs []dataset.Doc) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for _, d := range docs {
		line := struct {
			ID    string `json:"_id"`
			Title string `json:"title,omitempty"`
			Text  string `json:"text"`
		}{d.ID, d.Title, d.Text}
		if err := enc.Encode(line); err != nil {
			return fmt.Errorf("encode document %q: %w", d.ID, err)
		}
	}
	if _, _, err := store.WriteFileAtomic(filepath.Join(dir, collectionCorpusFile), &buf); err != nil {
		return fmt.Errorf("save documents: %w", err)
	}
	return nil
}

// readCorpusFile reads a BEIR corpus.jsonl with the dataset package's
// strict reader.
func readCorpusFile(path string) ([]dataset.Doc, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return dataset.ReadCorpus(f)
}

// dropPostedDocuments removes a ready collection's posted documents: the
// index holds them. A file left behind only costs disk until the collection
// is deleted (and the next start removes it), so a failure is logged.
func (s *Server) dropPostedDocuments(id, dir string) {
	err := os.Remove(filepath.Join(dir, collectionCorpusFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.log.Warn("remove indexed documents", "collection", id, "err", err.Error())
	}
}
