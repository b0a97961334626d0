package api

import (
	"errors"
	"log/slog"
	"testing"

	"retune/store"
)

// A ready collection deleted while it loads (its row and files gone) is a
// 404 to the load, not files reported damaged in an ERROR line.
func TestLoadOfADeletedCollectionIsNotDamage(t *testing.T) {
	st, _ := storeWithDataset(t, t.TempDir())
	logs := &countingHandler{sub: "damaged"}
	s := &Server{store: st, log: slog.New(logs)}
	_, _, err := s.loadReadyCollection(t.Context(), store.NewID(store.PrefixCollection))
	var ce *collectionError
	if !errors.As(err, &ce) || ce.code != codeNotFound {
		t.Fatalf("load of a deleted collection: %v, want a 404", err)
	}
	if logs.n() != 0 {
		t.Fatalf("%d log lines call it damaged", logs.n())
	}
}
