package store

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestStages(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	j := mustJob(t, s, mustDataset(t, s).ID, JobRunning)
	other := mustJob(t, s, mustDataset(t, s).ID, JobRunning)

	done, err := s.StagesDone(ctx, j.ID)
	if err != nil || done == nil || len(done) != 0 {
		t.Errorf("StagesDone of a new job = %v, %v; want an empty map", done, err)
	}
	steps := []struct {
		stage string
		data  json.RawMessage
	}{
		{"embed", json.RawMessage(`{"file":"emb-v1.f32"}`)},
		{"mine-negatives", nil},
		{"embed", json.RawMessage(`{"file":"emb-v2.f32"}`)}, // re-marking replaces
	}
	for _, st := range steps {
		if err := s.MarkStageDone(ctx, j.ID, st.stage, st.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.MarkStageDone(ctx, other.ID, "train", nil); err != nil {
		t.Fatal(err)
	}
	done, err = s.StagesDone(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]json.RawMessage{"embed": json.RawMessage(`{"file":"emb-v2.f32"}`), "mine-negatives": nil}
	if !reflect.DeepEqual(done, want) {
		t.Errorf("StagesDone = %s, want %s", done, want)
	}

	for _, tc := range []struct {
		name, stage string
		data        json.RawMessage
	}{
		{"empty stage", "", nil},
		{"long stage", strings.Repeat("s", maxStageLen+1), nil},
		{"data not JSON", "embed", json.RawMessage(`[1,`)},
	} {
		if err := s.MarkStageDone(ctx, j.ID, tc.stage, tc.data); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: err = %v, want ErrInvalidArgument", tc.name, err)
		}
	}
}
