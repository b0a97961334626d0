package store

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"testing"
	"time"
)

func TestCollectionCRUD(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	d := mustDataset(t, s)
	h, err := s.CreateHead(ctx, Head{Encoder: "glove-100d", DIn: 100, DOut: 100})
	if err != nil {
		t.Fatal(err)
	}
	in := Collection{Name: "scifact corpus", Encoder: "glove-100d", HeadID: h.ID, DatasetID: d.ID}
	c, err := s.CreateCollection(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	in.ID, in.CreatedAt, in.Status = c.ID, c.CreatedAt, CollectionIndexing
	if !ValidID(PrefixCollection, c.ID) || !reflect.DeepEqual(c, in) {
		t.Errorf("CreateCollection = %+v\nwant %+v", c, in)
	}
	if got, err := s.GetCollection(ctx, c.ID); err != nil || !reflect.DeepEqual(got, c) {
		t.Errorf("GetCollection = %+v, %v\nwant %+v", got, err, c)
	}

	for _, u := range []struct {
		status   string
		docs     int
		progress float64
		errMsg   string
	}{
		{CollectionIndexing, 2000, 0.4, ""},
		{CollectionFailed, 2000, 0.4, "disk full"},
		{CollectionIndexing, 0, 0, ""}, // retried: the error is cleared
		{CollectionReady, 5183, 1, ""},
	} {
		if err := s.UpdateCollection(ctx, c.ID, u.status, u.docs, u.progress, u.errMsg); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetCollection(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != u.status || got.Docs != u.docs || got.Progress != u.progress || got.Error != u.errMsg {
			t.Errorf("after UpdateCollection(%+v): %+v", u, got)
		}
	}

	if _, err := s.CreateCollection(ctx, Collection{ID: c.ID, Encoder: "e"}); !errors.Is(err, ErrConflict) {
		t.Errorf("duplicate id: err = %v, want ErrConflict", err)
	}
	if err := s.DeleteCollection(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetCollection(ctx, c.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetCollection after delete: err = %v, want ErrNotFound", err)
	}
	if err := s.DeleteCollection(ctx, c.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("second DeleteCollection: err = %v, want ErrNotFound", err)
	}
}

func TestCollectionInvalid(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		c       Collection
		wantErr error
	}{
		{"no encoder", Collection{}, ErrInvalidArgument},
		{"unknown status", Collection{Encoder: "e", Status: "done"}, ErrInvalidArgument},
		{"negative docs", Collection{Encoder: "e", Docs: -1}, ErrInvalidArgument},
		{"progress > 1", Collection{Encoder: "e", Progress: 1.5}, ErrInvalidArgument},
		{"unknown head", Collection{Encoder: "e", HeadID: NewID(PrefixHead)}, ErrNotFound},
		{"unknown dataset", Collection{Encoder: "e", DatasetID: NewID(PrefixDataset)}, ErrNotFound},
	} {
		if _, err := s.CreateCollection(ctx, tc.c); !errors.Is(err, tc.wantErr) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.wantErr)
		}
	}
	c, err := s.CreateCollection(ctx, Collection{Encoder: "e"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		status   string
		docs     int
		progress float64
	}{
		{"unknown status", "paused", 0, 0},
		{"negative docs", CollectionIndexing, -5, 0},
		{"NaN progress", CollectionIndexing, 0, math.NaN()},
		{"negative progress", CollectionIndexing, 0, -0.1},
	} {
		if err := s.UpdateCollection(ctx, c.ID, tc.status, tc.docs, tc.progress, ""); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("UpdateCollection %s: err = %v, want ErrInvalidArgument", tc.name, err)
		}
	}
}

func TestUnfinishedCollections(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	base := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	var want []string
	// Five indexing collections, so that ids, which are random, sort in
	// the expected order by chance only once in 120 runs.
	statuses := []string{CollectionReady, CollectionIndexing, CollectionFailed, CollectionIndexing,
		CollectionIndexing, CollectionReady, CollectionIndexing, CollectionIndexing}
	for i, st := range statuses {
		// Each is older than the one before, so oldest first is the
		// reverse of creation order.
		c, err := s.CreateCollection(ctx, Collection{Encoder: "e", Status: st, CreatedAt: base.Add(-time.Duration(i) * time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		if st == CollectionIndexing {
			want = append([]string{c.ID}, want...)
		}
	}
	got, err := s.UnfinishedCollections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if gotIDs := ids(got, func(c Collection) string { return c.ID }); !reflect.DeepEqual(gotIDs, want) {
		t.Errorf("UnfinishedCollections = %v, want %v", gotIDs, want)
	}
}

func TestCollectionUnembeddable(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	c, err := s.CreateCollection(ctx, Collection{Name: "c", Encoder: "glove-100d"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Unembeddable != nil {
		t.Fatalf("new collection: unembeddable %s", c.Unembeddable)
	}
	for _, tc := range []struct {
		set  json.RawMessage
		want string
	}{
		{json.RawMessage(`{"docs":1,"doc_ids":["junk"]}`), `{"docs":1,"doc_ids":["junk"]}`},
		{nil, ""},
	} {
		if err := s.SetCollectionUnembeddable(ctx, c.ID, tc.set); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetCollection(ctx, c.ID)
		if err != nil || string(got.Unembeddable) != tc.want {
			t.Fatalf("after setting %s: %s, %v", tc.set, got.Unembeddable, err)
		}
	}
	if err := s.SetCollectionUnembeddable(ctx, c.ID, json.RawMessage(`{`)); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("invalid JSON: err %v", err)
	}
	if err := s.SetCollectionUnembeddable(ctx, "col-aaaaaaaaaaaaaaaaaaaaaaaa", nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown collection: err %v", err)
	}
}
