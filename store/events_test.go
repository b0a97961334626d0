package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
)

func TestAppendAndListEvents(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	j := mustJob(t, s, mustDataset(t, s).ID, JobRunning)
	other := mustJob(t, s, mustDataset(t, s).ID, JobRunning)

	var appended []Event
	for i := range 5 {
		e, err := s.AppendEvent(ctx, Event{JobID: j.ID, Type: "step", Message: fmt.Sprint("step ", i),
			Data: json.RawMessage(fmt.Sprintf(`{"step":%d}`, i))})
		if err != nil {
			t.Fatal(err)
		}
		if e.Seq != int64(i+1) || e.Level != LevelInfo || e.CreatedAt.IsZero() {
			t.Errorf("event %d = %+v; want seq %d, level info, a time", i, e, i+1)
		}
		appended = append(appended, e)
	}
	// Another job's events are numbered on their own.
	if e, err := s.AppendEvent(ctx, Event{JobID: other.ID, Level: LevelWarn}); err != nil || e.Seq != 1 || e.Type != "message" {
		t.Errorf("other job's first event = %+v, %v; want seq 1, type message", e, err)
	}

	for _, tc := range []struct {
		after    int64
		limit    int
		wantSeqs []int64
		wantMore bool
	}{
		{0, 0, []int64{1, 2, 3, 4, 5}, false},
		{0, 2, []int64{1, 2}, true},
		{2, 2, []int64{3, 4}, true},
		{4, 2, []int64{5}, false},
		{5, 2, nil, false},
		{0, 5, []int64{1, 2, 3, 4, 5}, false},
		{0, MaxEventLimit + 1, []int64{1, 2, 3, 4, 5}, false},
	} {
		got, more, err := s.ListEvents(ctx, j.ID, tc.after, tc.limit)
		if err != nil {
			t.Fatal(err)
		}
		var seqs []int64
		for _, e := range got {
			seqs = append(seqs, e.Seq)
			if want := appended[e.Seq-1]; fmt.Sprint(e) != fmt.Sprint(want) {
				t.Errorf("event %d read back as %+v, appended as %+v", e.Seq, e, want)
			}
		}
		if fmt.Sprint(seqs) != fmt.Sprint(tc.wantSeqs) || more != tc.wantMore {
			t.Errorf("ListEvents(after %d, limit %d) = seqs %v more %v; want %v %v",
				tc.after, tc.limit, seqs, more, tc.wantSeqs, tc.wantMore)
		}
	}

	for _, tc := range []struct {
		name string
		e    Event
	}{
		{"unknown level", Event{JobID: j.ID, Level: "debug"}},
		{"data not JSON", Event{JobID: j.ID, Data: json.RawMessage(`nope`)}},
	} {
		if _, err := s.AppendEvent(ctx, tc.e); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: err = %v, want ErrInvalidArgument", tc.name, err)
		}
	}
	if _, _, err := s.ListEvents(ctx, j.ID, -1, 0); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("negative cursor: err = %v, want ErrInvalidArgument", err)
	}
	// A job with no events yet lists as empty, not as missing.
	fresh := mustJob(t, s, mustDataset(t, s).ID, JobQueued)
	if got, more, err := s.ListEvents(ctx, fresh.ID, 0, 0); err != nil || len(got) != 0 || more {
		t.Errorf("events of a new job = %v, %v, %v", got, more, err)
	}
}

// TestEventSeqConcurrent: 8 goroutines append to one job at once; the
// sequence numbers must be exactly 1..N with no duplicates or gaps, and
// each appender's events must be numbered in the order it appended them.
func TestEventSeqConcurrent(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	j := mustJob(t, s, mustDataset(t, s).ID, JobRunning)
	const appenders, each = 8, 50
	var wg sync.WaitGroup
	returned := make([][]int64, appenders)
	for a := range appenders {
		wg.Go(func() {
			for i := range each {
				e, err := s.AppendEvent(ctx, Event{JobID: j.ID, Type: "step", Message: fmt.Sprintf("%d/%d", a, i)})
				if err != nil {
					t.Error(err)
					return
				}
				returned[a] = append(returned[a], e.Seq)
			}
		})
	}
	wg.Wait()

	for a, seqs := range returned {
		for i := 1; i < len(seqs); i++ {
			if seqs[i] <= seqs[i-1] {
				t.Errorf("appender %d got seq %d after %d", a, seqs[i], seqs[i-1])
			}
		}
	}
	// Read everything back in pages and check 1..N exactly, and that each
	// stored message sits at the seq its appender was given.
	var all []Event
	after := int64(0)
	for {
		page, more, err := s.ListEvents(ctx, j.ID, after, 64)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if !more {
			break
		}
		after = page[len(page)-1].Seq
	}
	if len(all) != appenders*each {
		t.Fatalf("listed %d events, want %d", len(all), appenders*each)
	}
	for i, e := range all {
		if e.Seq != int64(i+1) {
			t.Fatalf("event %d has seq %d: sequence has a gap or duplicate", i, e.Seq)
		}
		var a, n int
		if _, err := fmt.Sscanf(e.Message, "%d/%d", &a, &n); err != nil {
			t.Fatal(err)
		}
		if returned[a][n] != e.Seq {
			t.Errorf("message %q stored at seq %d, but its append returned %d", e.Message, e.Seq, returned[a][n])
		}
	}
}
