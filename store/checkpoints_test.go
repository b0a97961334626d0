package store

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

func TestCheckpoints(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	j := mustJob(t, s, mustDataset(t, s).ID, JobRunning)

	if got, _, err := s.ListCheckpoints(ctx, j.ID, -1, 0); err != nil || len(got) != 0 {
		t.Errorf("checkpoints of a new job = %v, %v; want none", got, err)
	}
	want := map[int]Checkpoint{}
	for _, tc := range []struct {
		epoch   int
		metrics string
	}{
		{1, `{"loss":0.5}`},
		{2, `{"loss":0.2}`},
		{3, `{"loss":0.1}`},              // ahead of the saved state when the job crashed
		{1, `{"loss":0.4,"rerun":true}`}, // the resumed job re-runs epoch 1, dropping 2 and 3
		{2, `{"loss":0.2,"rerun":true}`},
	} {
		c, err := s.PutCheckpoint(ctx, Checkpoint{JobID: j.ID, Epoch: tc.epoch, Metrics: json.RawMessage(tc.metrics)})
		if err != nil {
			t.Fatal(err)
		}
		want[tc.epoch] = c
	}
	got, _, err := s.ListCheckpoints(ctx, j.ID, -1, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantList := []Checkpoint{want[1], want[2]}
	if !reflect.DeepEqual(got, wantList) {
		t.Errorf("ListCheckpoints = %+v\nwant %+v", got, wantList)
	}
	if string(got[0].Metrics) != `{"loss":0.4,"rerun":true}` || string(got[1].Metrics) != `{"loss":0.2,"rerun":true}` {
		t.Errorf("metrics %s, %s; want the rerun's, epoch 3 of the first attempt gone", got[0].Metrics, got[1].Metrics)
	}
	// Pages: after an epoch, up to a limit, and whether more follow.
	if page, more, err := s.ListCheckpoints(ctx, j.ID, 0, 1); err != nil || !more || len(page) != 1 || page[0].Epoch != 1 {
		t.Errorf("first page of 1: %+v more %v err %v", page, more, err)
	}
	if page, more, err := s.ListCheckpoints(ctx, j.ID, 1, 1); err != nil || more || len(page) != 1 || page[0].Epoch != 2 {
		t.Errorf("page after epoch 1: %+v more %v err %v", page, more, err)
	}
	if _, _, err := s.ListCheckpoints(ctx, j.ID, -2, 1); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("negative cursor: %v", err)
	}

	for _, tc := range []struct {
		name string
		c    Checkpoint
	}{
		{"negative epoch", Checkpoint{JobID: j.ID, Epoch: -1}},
		{"metrics not JSON", Checkpoint{JobID: j.ID, Epoch: 3, Metrics: json.RawMessage(`{"loss":}`)}},
	} {
		if _, err := s.PutCheckpoint(ctx, tc.c); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: err = %v, want ErrInvalidArgument", tc.name, err)
		}
	}
}
