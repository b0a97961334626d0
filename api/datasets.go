package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"retune/store"
)

// datasetsPath is the upload route, whose body limit is MaxUploadBytes.
const datasetsPath = "/v1/datasets"

func (s *Server) datasetRoutes(g *gin.RouterGroup) {
	g.POST("/datasets", s.createDataset)
	g.GET("/datasets", s.listDatasets)
	g.GET("/datasets/:dataset_id", s.getDataset)
	g.DELETE("/datasets/:dataset_id", s.deleteDataset)
}

// datasetObject is a dataset as the API shows it.
type datasetObject struct {
	ID        string                     `json:"id"`
	Object    string                     `json:"object"`
	Name      string                     `json:"name"`
	Format    string                     `json:"format"`
	Docs      int                        `json:"docs"`
	Queries   int                        `json:"queries"`
	Splits    map[string]store.SplitInfo `json:"splits"`
	Checksum  string                     `json:"checksum"`
	Bytes     int64                      `json:"bytes"`
	CreatedAt int64                      `json:"created_at"`
}

func datasetView(d store.Dataset) datasetObject {
	splits := d.Splits
	if splits == nil {
		splits = map[string]store.SplitInfo{}
	}
	return datasetObject{ID: d.ID, Object: "dataset", Name: d.Name, Format: d.Format, Docs: d.Docs,
		Queries: d.Queries, Splits: splits, Checksum: d.Checksum, Bytes: d.Bytes, CreatedAt: d.CreatedAt.Unix()}
}

// deletedObject answers a DELETE, as OpenAI's delete endpoints do.
type deletedObject struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Deleted bool   `json:"deleted"`
}

// createDataset stores a multipart upload, validates it from disk and
// records it; on any failure its files are removed.
func (s *Server) createDataset(c *gin.Context) {
	if msg := checkMultipartContentType(c.GetHeader("Content-Type")); msg != "" {
		abort(c, http.StatusUnsupportedMediaType, codeInvalidRequest, msg)
		return
	}
	id := store.NewID(store.PrefixDataset)
	d, err := s.ingestDataset(c.Request.Context(), id, c.Request)
	if err != nil {
		s.removeDatasetFiles(id)
		s.abortUpload(c, err)
		return
	}
	s.log.Info("dataset stored", "dataset", d.ID, "format", d.Format, "docs", d.Docs, "queries", d.Queries, "bytes", d.Bytes)
	created(c, http.StatusCreated, datasetsPath+"/"+d.ID, datasetView(d))
}

func (s *Server) ingestDataset(ctx context.Context, id string, r *http.Request) (store.Dataset, error) {
	dir, err := s.store.Dir(store.KindDatasets, id)
	if err != nil {
		return store.Dataset{}, err
	}
	in := &upload{dir: dir, maxExtract: bundleExpansion * s.cfg.MaxUploadBytes, pool: &s.unpacking, tempDir: s.store.TempDir, ctx: ctx}
	defer in.done()
	up, err := receiveUpload(r, in)
	if err != nil {
		return store.Dataset{}, err
	}
	// Validation parses the stored files into memory (a few times their
	// size): uploads stream to disk side by side, then take turns here.
	release, err := takeSlot(ctx, s.ingestSlots)
	if err != nil {
		return store.Dataset{}, err
	}
	d, err := func() (store.Dataset, error) {
		defer release()
		return describeDataset(up)
	}()
	if err != nil {
		return store.Dataset{}, err
	}
	d.ID = id
	return s.store.CreateDataset(ctx, d)
}

func (s *Server) listDatasets(c *gin.Context) {
	page, ok := parsePage(c, store.PrefixDataset, "dataset")
	if !ok {
		return
	}
	list, more, err := s.store.ListDatasets(c.Request.Context(), page)
	if err != nil {
		s.abortList(c, err, "dataset", page.After)
		return
	}
	views := make([]datasetObject, len(list))
	for i, d := range list {
		views[i] = datasetView(d)
	}
	c.JSON(http.StatusOK, newList(views, more))
}

func (s *Server) getDataset(c *gin.Context) {
	id, ok := pathID(c, "dataset_id", store.PrefixDataset, "dataset")
	if !ok {
		return
	}
	d, err := s.store.GetDataset(c.Request.Context(), id)
	if err != nil {
		s.abortStore(c, err, fmt.Sprintf("dataset %s not found", id))
		return
	}
	c.JSON(http.StatusOK, datasetView(d))
}

// deleteDataset refuses (409) while an unfinished job or an indexing
// collection reads the dataset; finished jobs keep naming it.
func (s *Server) deleteDataset(c *gin.Context) {
	id, ok := pathID(c, "dataset_id", store.PrefixDataset, "dataset")
	if !ok {
		return
	}
	if err := s.store.DeleteDataset(c.Request.Context(), id); err != nil {
		s.abortStore(c, err, fmt.Sprintf("dataset %s not found", id))
		return
	}
	s.removeDatasetFiles(id)
	c.JSON(http.StatusOK, deletedObject{ID: id, Object: "dataset", Deleted: true})
}
