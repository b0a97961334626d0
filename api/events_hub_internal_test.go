package api

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"retune/store"
)

// An event the store refuses (here: its job does not exist; on a full
// disk, the warning that checkpoints fail) is logged, with its message
// when it is a warning: the operator must still learn of it.
func TestAppendEventLogsLostWarnings(t *testing.T) {
	st, _ := storeWithDataset(t, t.TempDir())
	var logs bytes.Buffer
	s := &Server{store: st, log: slog.New(slog.NewTextHandler(&logs, nil)), hub: newEventHub()}
	for _, tc := range []struct {
		level, msg string
		logged     bool
	}{
		{store.LevelInfo, "epoch 3 of 100", false},
		{store.LevelWarn, "training: the checkpoint of epoch 3 was not written", true},
	} {
		logs.Reset()
		if s.appendEvent(t.Context(), "ftjob-none", tc.level, evMessage, tc.msg, nil) {
			t.Fatal("an event of a job that does not exist was stored")
		}
		if !strings.Contains(logs.String(), "append event") || strings.Contains(logs.String(), tc.msg) != tc.logged {
			t.Errorf("%s event: log %q, want its message logged: %v", tc.level, logs.String(), tc.logged)
		}
	}
}
