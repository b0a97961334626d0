package store

import (
	"context"
	"errors"
	"reflect"
	"testing"
)

func TestDatasetCRUD(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	in := Dataset{Name: "scifact", Format: FormatBEIR, Checksum: "e3b0c442", Bytes: 1 << 40, Docs: 5183, Queries: 1109,
		Splits: map[string]SplitInfo{"train": {Queries: 809, Pairs: 919}, "test": {Queries: 300, Pairs: 339}}}
	d, err := s.CreateDataset(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if !ValidID(PrefixDataset, d.ID) || d.CreatedAt.IsZero() {
		t.Errorf("created dataset has id %q, created_at %v", d.ID, d.CreatedAt)
	}
	got, err := s.GetDataset(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, d) {
		t.Errorf("GetDataset = %+v\nwant %+v", got, d)
	}
	in.ID, in.CreatedAt = d.ID, d.CreatedAt
	if !reflect.DeepEqual(got, in) {
		t.Errorf("GetDataset = %+v\nwant the input %+v", got, in)
	}

	if _, err := s.CreateDataset(ctx, Dataset{ID: d.ID, Format: FormatPairs}); !errors.Is(err, ErrConflict) {
		t.Errorf("duplicate id: err = %v, want ErrConflict", err)
	}

	noSplits, err := s.CreateDataset(ctx, Dataset{Format: FormatPairs, Splits: map[string]SplitInfo{}})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetDataset(ctx, noSplits.ID); !reflect.DeepEqual(got, noSplits) || got.Splits != nil {
		t.Errorf("dataset without splits read back as %+v, created as %+v", got, noSplits)
	}

	if err := s.DeleteDataset(ctx, d.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetDataset(ctx, d.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetDataset after delete: err = %v, want ErrNotFound", err)
	}
	if err := s.DeleteDataset(ctx, d.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("second DeleteDataset: err = %v, want ErrNotFound", err)
	}
	list, _, err := s.ListDatasets(ctx, Page{})
	if err != nil || len(list) != 1 || list[0].ID != noSplits.ID {
		t.Errorf("ListDatasets after delete = %+v, %v", list, err)
	}
}

func TestCreateDatasetInvalid(t *testing.T) {
	s := openTest(t)
	for _, tc := range []struct {
		name string
		d    Dataset
	}{
		{"no format", Dataset{}},
		{"unknown format", Dataset{Format: "csv"}},
		{"negative bytes", Dataset{Format: FormatBEIR, Bytes: -1}},
		{"negative docs", Dataset{Format: FormatBEIR, Docs: -1}},
		{"negative queries", Dataset{Format: FormatBEIR, Queries: -1}},
	} {
		if _, err := s.CreateDataset(context.Background(), tc.d); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: err = %v, want ErrInvalidArgument", tc.name, err)
		}
	}
}

// TestDeleteDatasetInUse: a dataset cannot be deleted while a job that
// has not finished or a collection still indexing reads its files.
func TestDeleteDatasetInUse(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		jobStatus string
		wantErr   error
	}{
		{JobValidating, ErrConflict},
		{JobQueued, ErrConflict},
		{JobRunning, ErrConflict},
		{JobSucceeded, nil},
		{JobFailed, nil},
		{JobCancelled, nil},
	} {
		t.Run("job "+tc.jobStatus, func(t *testing.T) {
			s := openTest(t)
			d := mustDataset(t, s)
			job := mustJob(t, s, d.ID, tc.jobStatus)
			err := s.DeleteDataset(ctx, d.ID)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("DeleteDataset: err = %v, want %v", err, tc.wantErr)
			}
			_, getErr := s.GetDataset(ctx, d.ID)
			if deleted := errors.Is(getErr, ErrNotFound); deleted != (tc.wantErr == nil) {
				t.Errorf("dataset deleted = %v after DeleteDataset returned %v", deleted, err)
			}
			// A finished job keeps naming its dataset after the delete.
			if j, err := s.GetJob(ctx, job.ID); err != nil || j.DatasetID != d.ID {
				t.Errorf("job after DeleteDataset = %+v, %v", j, err)
			}
		})
	}
	for _, tc := range []struct {
		colStatus string
		wantErr   error
	}{
		{CollectionIndexing, ErrConflict},
		{CollectionReady, nil},
		{CollectionFailed, nil},
	} {
		t.Run("collection "+tc.colStatus, func(t *testing.T) {
			s := openTest(t)
			d := mustDataset(t, s)
			if _, err := s.CreateCollection(ctx, Collection{Encoder: "e", DatasetID: d.ID, Status: tc.colStatus}); err != nil {
				t.Fatal(err)
			}
			err := s.DeleteDataset(ctx, d.ID)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Errorf("DeleteDataset: err = %v, want %v", err, tc.wantErr)
			}
		})
	}
}
