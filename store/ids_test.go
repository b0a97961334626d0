package store

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestNewID(t *testing.T) {
	for _, prefix := range []string{PrefixDataset, PrefixJob, PrefixHead, PrefixCollection} {
		seen := map[string]bool{}
		for range 1000 {
			id := NewID(prefix)
			if len(id) != len(prefix)+24 || !strings.HasPrefix(id, prefix) {
				t.Fatalf("NewID(%q) = %q: want prefix + 24 chars", prefix, id)
			}
			if !ValidID(prefix, id) {
				t.Fatalf("ValidID(%q, NewID(%q) = %q) = false", prefix, prefix, id)
			}
			if seen[id] {
				t.Fatalf("NewID(%q) repeated %q", prefix, id)
			}
			seen[id] = true
		}
	}
}

func TestNewIDPanicsOnBadPrefix(t *testing.T) {
	for _, prefix := range []string{"", "ds", "../", "DS-", "a/b-"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewID(%q) did not panic", prefix)
				}
			}()
			NewID(prefix)
		}()
	}
}

func TestValidID(t *testing.T) {
	const r24 = "abcdefghijklmnopqrstuvwx"
	for _, tc := range []struct {
		prefix, id string
		want       bool
	}{
		{"ds-", "ds-" + r24, true},
		{"ftjob-", "ftjob-" + "234567abcdefghijklmnopqr", true},
		{"ds-", "", false},
		{"ds-", "../x", false},
		{"ds-", "ds-../../etc", false},
		{"ds-", "ds-../../etc/passwdxxxxxx", false}, // right length, wrong alphabet
		{"ds-", "ds-" + r24[:12] + "/" + r24[13:], false},
		{"ds-", "ds-" + r24[:23] + ".", false},
		{"ds-", "ds-" + r24[:23], false},
		{"ds-", "ds-" + r24 + "a", false},
		{"ds-", "ds-" + strings.ToUpper(r24), false},
		{"ds-", "ds-" + r24[:23] + "0", false}, // 0, 1, 8, 9 are not base32
		{"ds-", "ds-" + r24[:23] + "1", false},
		{"ds-", "col-" + r24, false},
		{"ds-", "xds-" + r24, false},
		{"ds-", " ds-" + r24[1:], false},
		{"ds-", "ds-" + r24[:23] + "\n", false},
		{"ds-", "ds-" + r24[:23] + "\x00", false},
		{"", r24, false},
		{"../", "../" + r24, false},
		{"ds", "ds" + r24, false},
	} {
		if got := ValidID(tc.prefix, tc.id); got != tc.want {
			t.Errorf("ValidID(%q, %q) = %v, want %v", tc.prefix, tc.id, got, tc.want)
		}
	}
}

// idMethod calls one Store method with id in the position the test probes.
type idMethod struct {
	name   string
	prefix string
	// generates is set for Create methods, where an empty id asks for a
	// new one rather than being invalid.
	generates bool
	// optional is set where an empty id means "none" (a list's first
	// page, a head without a job, ...) rather than being invalid.
	optional bool
	call     func(ctx context.Context, s *Store, id string) error
}

// idMethods covers every method that takes an id.
func idMethods(t *testing.T, s *Store) []idMethod {
	ds := mustDataset(t, s)
	job := mustJob(t, s, ds.ID, JobRunning)
	return []idMethod{
		{"CreateDataset", PrefixDataset, true, false, func(ctx context.Context, s *Store, id string) error {
			_, err := s.CreateDataset(ctx, Dataset{ID: id, Format: FormatBEIR})
			return err
		}},
		{"GetDataset", PrefixDataset, false, false, func(ctx context.Context, s *Store, id string) error {
			_, err := s.GetDataset(ctx, id)
			return err
		}},
		{"ListDatasets", PrefixDataset, false, true, func(ctx context.Context, s *Store, id string) error {
			_, _, err := s.ListDatasets(ctx, Page{After: id})
			return err
		}},
		{"DeleteDataset", PrefixDataset, false, false, func(ctx context.Context, s *Store, id string) error {
			return s.DeleteDataset(ctx, id)
		}},
		{"CreateJob", PrefixJob, true, false, func(ctx context.Context, s *Store, id string) error {
			_, err := s.CreateJob(ctx, Job{ID: id, DatasetID: ds.ID, Encoder: "e"})
			return err
		}},
		{"CreateJob.DatasetID", PrefixDataset, false, false, func(ctx context.Context, s *Store, id string) error {
			_, err := s.CreateJob(ctx, Job{DatasetID: id, Encoder: "e"})
			return err
		}},
		{"GetJob", PrefixJob, false, false, func(ctx context.Context, s *Store, id string) error {
			_, err := s.GetJob(ctx, id)
			return err
		}},
		{"ListJobs", PrefixJob, false, true, func(ctx context.Context, s *Store, id string) error {
			_, _, err := s.ListJobs(ctx, Page{After: id})
			return err
		}},
		{"UpdateJobProgress", PrefixJob, false, false, func(ctx context.Context, s *Store, id string) error {
			return s.UpdateJobProgress(ctx, id, "train", 0.5)
		}},
		{"SetJobStatus", PrefixJob, false, false, func(ctx context.Context, s *Store, id string) error {
			return s.SetJobStatus(ctx, id, []string{JobQueued}, JobRunning, "")
		}},
		{"SetJobResult", PrefixJob, false, false, func(ctx context.Context, s *Store, id string) error {
			return s.SetJobResult(ctx, id, nil, "")
		}},
		{"SetJobResult.headID", PrefixHead, false, true, func(ctx context.Context, s *Store, id string) error {
			return s.SetJobResult(ctx, job.ID, nil, id)
		}},
		{"RequestCancel", PrefixJob, false, false, func(ctx context.Context, s *Store, id string) error {
			_, err := s.RequestCancel(ctx, id, nil, nil)
			return err
		}},
		{"AppendEvent", PrefixJob, false, false, func(ctx context.Context, s *Store, id string) error {
			_, err := s.AppendEvent(ctx, Event{JobID: id})
			return err
		}},
		{"ListEvents", PrefixJob, false, false, func(ctx context.Context, s *Store, id string) error {
			_, _, err := s.ListEvents(ctx, id, 0, 10)
			return err
		}},
		{"PutCheckpoint", PrefixJob, false, false, func(ctx context.Context, s *Store, id string) error {
			_, err := s.PutCheckpoint(ctx, Checkpoint{JobID: id, Epoch: 1})
			return err
		}},
		{"ListCheckpoints", PrefixJob, false, false, func(ctx context.Context, s *Store, id string) error {
			_, _, err := s.ListCheckpoints(ctx, id, -1, 0)
			return err
		}},
		{"MarkStageDone", PrefixJob, false, false, func(ctx context.Context, s *Store, id string) error {
			return s.MarkStageDone(ctx, id, "embed", nil)
		}},
		{"StagesDone", PrefixJob, false, false, func(ctx context.Context, s *Store, id string) error {
			_, err := s.StagesDone(ctx, id)
			return err
		}},
		{"CreateHead", PrefixHead, true, false, func(ctx context.Context, s *Store, id string) error {
			_, err := s.CreateHead(ctx, Head{ID: id, Encoder: "e", DIn: 1, DOut: 1})
			return err
		}},
		{"CreateHead.JobID", PrefixJob, false, true, func(ctx context.Context, s *Store, id string) error {
			_, err := s.CreateHead(ctx, Head{JobID: id, Encoder: "e", DIn: 1, DOut: 1})
			return err
		}},
		{"GetHead", PrefixHead, false, false, func(ctx context.Context, s *Store, id string) error {
			_, err := s.GetHead(ctx, id)
			return err
		}},
		{"ListHeads", PrefixHead, false, true, func(ctx context.Context, s *Store, id string) error {
			_, _, err := s.ListHeads(ctx, Page{After: id})
			return err
		}},
		{"DeleteHead", PrefixHead, false, false, func(ctx context.Context, s *Store, id string) error {
			return s.DeleteHead(ctx, id)
		}},
		{"CreateCollection", PrefixCollection, true, false, func(ctx context.Context, s *Store, id string) error {
			_, err := s.CreateCollection(ctx, Collection{ID: id, Encoder: "e"})
			return err
		}},
		{"CreateCollection.HeadID", PrefixHead, false, true, func(ctx context.Context, s *Store, id string) error {
			_, err := s.CreateCollection(ctx, Collection{HeadID: id, Encoder: "e"})
			return err
		}},
		{"CreateCollection.DatasetID", PrefixDataset, false, true, func(ctx context.Context, s *Store, id string) error {
			_, err := s.CreateCollection(ctx, Collection{DatasetID: id, Encoder: "e"})
			return err
		}},
		{"GetCollection", PrefixCollection, false, false, func(ctx context.Context, s *Store, id string) error {
			_, err := s.GetCollection(ctx, id)
			return err
		}},
		{"ListCollections", PrefixCollection, false, true, func(ctx context.Context, s *Store, id string) error {
			_, _, err := s.ListCollections(ctx, Page{After: id})
			return err
		}},
		{"UpdateCollection", PrefixCollection, false, false, func(ctx context.Context, s *Store, id string) error {
			return s.UpdateCollection(ctx, id, CollectionReady, 1, 1, "")
		}},
		{"DeleteCollection", PrefixCollection, false, false, func(ctx context.Context, s *Store, id string) error {
			return s.DeleteCollection(ctx, id)
		}},
		{"Dir", PrefixDataset, false, false, func(ctx context.Context, s *Store, id string) error {
			_, err := s.Dir(KindDatasets, id)
			return err
		}},
		{"RemoveDir", PrefixJob, false, false, func(ctx context.Context, s *Store, id string) error {
			return s.RemoveDir(KindJobs, id)
		}},
	}
}

func badIDs(prefix string) []string {
	wrong := NewID(PrefixJob)
	if prefix == PrefixJob {
		wrong = NewID(PrefixDataset)
	}
	return []string{
		"",
		"../x",
		prefix + "../../etc",
		prefix + "../../../../../etc/pass", // prefix + 24 chars, but not base32
		"../" + NewID(prefix),
		NewID(prefix) + "/../..",
		strings.ToUpper(NewID(prefix)),
		NewID(prefix)[:len(prefix)+23],
		wrong,
	}
}

func TestMethodsRejectInvalidIDs(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	for _, m := range idMethods(t, s) {
		for _, id := range badIDs(m.prefix) {
			if id == "" && (m.generates || m.optional) {
				continue
			}
			if err := m.call(ctx, s, id); !errors.Is(err, ErrInvalidID) {
				t.Errorf("%s(%q): err = %v, want ErrInvalidID", m.name, id, err)
			}
		}
	}
}

func TestMethodsReportNotFound(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	for _, m := range idMethods(t, s) {
		if m.generates || m.name == "Dir" || m.name == "RemoveDir" {
			continue // creating with a fresh id succeeds; paths need no row
		}
		id := NewID(m.prefix)
		if err := m.call(ctx, s, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s(unknown %s): err = %v, want ErrNotFound", m.name, id, err)
		}
	}
}
