package api

import (
	"encoding/json"
	"net/http"

	"github.com/gin-gonic/gin"

	"retune/store"
)

// collectionRoutes registers the collection and search routes.
func (s *Server) collectionRoutes(v1 *gin.RouterGroup) {
	v1.POST("/collections", s.createCollection)
	v1.GET("/collections", s.listCollections)
	v1.GET("/collections/:id", s.getCollection)
	v1.DELETE("/collections/:id", s.deleteCollection)
	v1.POST("/collections/:id/search", s.searchCollection)
}

// collectionObject is a collection as the API shows it.
type collectionObject struct {
	ID        string  `json:"id"`
	Object    string  `json:"object"`
	Name      string  `json:"name"`
	Model     string  `json:"model"`
	Head      *string `json:"head"`
	Dataset   *string `json:"dataset"`
	Status    string  `json:"status"`
	Docs      int     `json:"docs"`
	Progress  float64 `json:"progress"`
	Error     *string `json:"error"`
	CreatedAt int64   `json:"created_at"` // unix seconds, as OpenAI objects
	// Unembeddable lists the documents left out for having no vector.
	Unembeddable json.RawMessage `json:"unembeddable,omitempty"`
	// Queued is set while an indexing collection waits for a slot, every
	// slot being taken by other collections (serve --workers).
	Queued bool `json:"queued,omitempty"`
	// StorageWait says why the end of its indexing waits to be recorded
	// (a full disk), while it does.
	StorageWait *string `json:"storage_wait,omitempty"`
}

// collectionView is c as the API shows it, with whether it waits for an
// indexing slot.
func (s *Server) collectionView(c store.Collection) collectionObject {
	v := toCollectionObject(c)
	v.Queued = c.Status == store.CollectionIndexing && s.cols.queued(c.ID)
	v.StorageWait = s.storageWait(c.ID)
	return v
}

func toCollectionObject(c store.Collection) collectionObject {
	return collectionObject{ID: c.ID, Object: "collection", Name: c.Name, Model: c.Encoder,
		Head: nonEmpty(c.HeadID), Dataset: nonEmpty(c.DatasetID), Status: c.Status, Docs: c.Docs,
		Progress: c.Progress, Error: nonEmpty(c.Error), CreatedAt: c.CreatedAt.Unix(), Unembeddable: c.Unembeddable}
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (s *Server) createCollection(c *gin.Context) {
	var req createCollectionRequest
	if !decodeJSON(c, &req) {
		return
	}
	col, err := s.newCollection(c.Request.Context(), req)
	if err != nil {
		s.writeCollectionError(c, err)
		return
	}
	created(c, http.StatusAccepted, "/v1/collections/"+col.ID, s.collectionView(col)) // queued when its run waits for a slot
}

func (s *Server) listCollections(c *gin.Context) {
	page, ok := parsePage(c, store.PrefixCollection, "collection")
	if !ok {
		return
	}
	cols, more, err := s.store.ListCollections(c.Request.Context(), page)
	if err != nil {
		s.abortList(c, err, "collection", page.After)
		return
	}
	data := make([]collectionObject, len(cols))
	for i, col := range cols {
		data[i] = s.collectionView(col)
	}
	c.JSON(http.StatusOK, newList(data, more))
}

func (s *Server) getCollection(c *gin.Context) {
	id, ok := pathID(c, "id", store.PrefixCollection, "collection")
	if !ok {
		return
	}
	col, err := s.storedCollection(c.Request.Context(), id)
	if err != nil {
		s.writeCollectionError(c, err)
		return
	}
	c.JSON(http.StatusOK, s.collectionView(col))
}

func (s *Server) deleteCollection(c *gin.Context) {
	id, ok := pathID(c, "id", store.PrefixCollection, "collection")
	if !ok {
		return
	}
	if err := s.removeCollection(c.Request.Context(), id); err != nil {
		s.writeCollectionError(c, err)
		return
	}
	c.JSON(http.StatusOK, deletedObject{ID: id, Object: "collection", Deleted: true})
}
