package store

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// TransitionJob stores the status, the head, the result and the event
// together, or, when any part fails, none of them.
func TestTransitionJobIsAtomic(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	ds := mustDataset(t, s).ID
	event := func(msg string) *Event { return &Event{Type: "status", Message: msg} }
	head := func(id string) *Head {
		return &Head{ID: id, Encoder: "glove-100d", DIn: 4, DOut: 4, Apply: "shared"}
	}

	t.Run("success", func(t *testing.T) {
		j := mustJob(t, s, ds, JobRunning)
		h := head(NewID(PrefixHead))
		returned, err := s.TransitionJob(ctx, j.ID, JobTransition{From: []string{JobRunning}, To: JobSucceeded,
			Head: h, Result: json.RawMessage(`{"ndcg":1}`), Event: event("done")})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := s.GetJob(ctx, j.ID)
		if !reflect.DeepEqual(returned, got) {
			t.Fatalf("returned %+v, stored %+v", returned, got)
		}
		if got.Status != JobSucceeded || got.HeadID != h.ID || string(got.Result) != `{"ndcg":1}` || got.FinishedAt == nil {
			t.Fatalf("job after success: %+v", got)
		}
		if _, err := s.GetHead(ctx, h.ID); err != nil {
			t.Fatalf("head not stored: %v", err)
		}
		evs, _, _ := s.ListEvents(ctx, j.ID, 0, 0)
		if len(evs) != 1 || evs[0].Seq != 1 || evs[0].Message != "done" {
			t.Fatalf("events %+v", evs)
		}
	})

	cases := []struct {
		name      string
		t         func(j Job) JobTransition
		want      error
		headsMade int // by the case itself, before the transition
	}{
		{"status conflict", func(Job) JobTransition {
			return JobTransition{From: []string{JobQueued}, To: JobSucceeded, Head: head(NewID(PrefixHead)), Event: event("x")}
		}, ErrConflict, 0},
		{"head id taken", func(Job) JobTransition {
			taken := NewID(PrefixHead)
			if _, err := s.CreateHead(ctx, *head(taken)); err != nil {
				t.Fatal(err)
			}
			return JobTransition{From: []string{JobRunning}, To: JobSucceeded, Head: head(taken), Event: event("x")}
		}, ErrConflict, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := mustJob(t, s, ds, JobRunning)
			heads, _, _ := s.ListHeads(ctx, Page{Limit: 100})
			_, err := s.TransitionJob(ctx, before.ID, tc.t(before))
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			after, _ := s.GetJob(ctx, before.ID)
			if !reflect.DeepEqual(before, after) {
				t.Errorf("job changed:\nbefore %+v\nafter  %+v", before, after)
			}
			if evs, _, _ := s.ListEvents(ctx, before.ID, 0, 0); len(evs) != 0 {
				t.Errorf("events stored: %+v", evs)
			}
			if heads2, _, _ := s.ListHeads(ctx, Page{Limit: 100}); len(heads2) != len(heads)+tc.headsMade {
				t.Errorf("heads %d → %d, want %d more", len(heads), len(heads2), tc.headsMade)
			}
		})
	}
}

// A run that reaches its end after a cancel was requested must not succeed:
// with UnlessCancelRequested the success is refused and nothing is stored,
// and the job can still be marked cancelled.
func TestTransitionJobUnlessCancelRequested(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	ds := mustDataset(t, s).ID
	succeed := func(id string) JobTransition {
		return JobTransition{From: []string{JobRunning}, To: JobSucceeded, UnlessCancelRequested: true,
			Head: &Head{ID: NewID(PrefixHead), Encoder: "glove-100d", DIn: 4, DOut: 4, Apply: "shared"}, Result: json.RawMessage(`{}`)}
	}
	plain := mustJob(t, s, ds, JobRunning)
	if _, err := s.TransitionJob(ctx, plain.ID, succeed(plain.ID)); err != nil {
		t.Fatalf("no cancel requested: %v", err)
	}

	j := mustJob(t, s, ds, JobRunning)
	if _, err := s.RequestCancel(ctx, j.ID, nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TransitionJob(ctx, j.ID, succeed(j.ID)); !errors.Is(err, ErrCancelRequested) || !errors.Is(err, ErrConflict) {
		t.Fatalf("err %v, want ErrCancelRequested", err)
	}
	if got, _ := s.GetJob(ctx, j.ID); got.Status != JobRunning || got.HeadID != "" {
		t.Fatalf("job after the refused success: %+v", got)
	}
	if heads, _, _ := s.ListHeads(ctx, Page{Limit: 100}); len(heads) != 1 {
		t.Fatalf("%d heads, want only the first job's", len(heads))
	}
	if _, err := s.TransitionJob(ctx, j.ID, JobTransition{From: []string{JobRunning}, To: JobCancelled}); err != nil {
		t.Fatal(err)
	}
}
