package store

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

func TestHeadCRUD(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	j := mustJob(t, s, mustDataset(t, s).ID, JobRunning)
	in := Head{JobID: j.ID, Encoder: "bert-minilm", EncoderChecksum: "9f86d081", DIn: 384, DOut: 256,
		Apply: "query", Metrics: json.RawMessage(`{"ndcg@10":0.71}`)}
	h, err := s.CreateHead(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	in.ID, in.CreatedAt = h.ID, h.CreatedAt
	if !ValidID(PrefixHead, h.ID) || !reflect.DeepEqual(h, in) {
		t.Errorf("CreateHead = %+v\nwant %+v", h, in)
	}
	if got, err := s.GetHead(ctx, h.ID); err != nil || !reflect.DeepEqual(got, h) {
		t.Errorf("GetHead = %+v, %v\nwant %+v", got, err, h)
	}
	if _, err := s.CreateHead(ctx, Head{ID: h.ID, Encoder: "e", DIn: 1, DOut: 1}); !errors.Is(err, ErrConflict) {
		t.Errorf("duplicate id: err = %v, want ErrConflict", err)
	}
	if err := s.DeleteHead(ctx, h.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetHead(ctx, h.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetHead after delete: err = %v, want ErrNotFound", err)
	}
	if err := s.DeleteHead(ctx, h.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("second DeleteHead: err = %v, want ErrNotFound", err)
	}
}

func TestCreateHeadInvalid(t *testing.T) {
	s := openTest(t)
	for _, tc := range []struct {
		name    string
		h       Head
		wantErr error
	}{
		{"no encoder", Head{DIn: 1, DOut: 1}, ErrInvalidArgument},
		{"zero d_in", Head{Encoder: "e", DOut: 1}, ErrInvalidArgument},
		{"negative d_out", Head{Encoder: "e", DIn: 1, DOut: -1}, ErrInvalidArgument},
		{"metrics not JSON", Head{Encoder: "e", DIn: 1, DOut: 1, Metrics: json.RawMessage(`x`)}, ErrInvalidArgument},
		{"unknown job", Head{JobID: NewID(PrefixJob), Encoder: "e", DIn: 1, DOut: 1}, ErrNotFound},
	} {
		if _, err := s.CreateHead(context.Background(), tc.h); !errors.Is(err, tc.wantErr) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.wantErr)
		}
	}
}

// TestDeleteHeadInUse: a collection that is indexing or ready embeds its
// queries with the head, so the head cannot go while one uses it.
func TestDeleteHeadInUse(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		colStatus string
		wantErr   error
	}{
		{CollectionIndexing, ErrConflict},
		{CollectionReady, ErrConflict},
		{CollectionFailed, nil},
	} {
		t.Run(tc.colStatus, func(t *testing.T) {
			s := openTest(t)
			h, err := s.CreateHead(ctx, Head{Encoder: "e", DIn: 4, DOut: 4})
			if err != nil {
				t.Fatal(err)
			}
			c, err := s.CreateCollection(ctx, Collection{Encoder: "e", HeadID: h.ID, Status: tc.colStatus})
			if err != nil {
				t.Fatal(err)
			}
			err = s.DeleteHead(ctx, h.ID)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("DeleteHead: err = %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr != nil {
				// Once the collection is gone the head can be deleted.
				if err := s.DeleteCollection(ctx, c.ID); err != nil {
					t.Fatal(err)
				}
				if err := s.DeleteHead(ctx, h.ID); err != nil {
					t.Errorf("DeleteHead after its collection was deleted: %v", err)
				}
			}
		})
	}
}
