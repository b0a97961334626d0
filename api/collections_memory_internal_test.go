package api

import (
	"strings"
	"testing"

	"retune/internal/memroom"
)

// An indexing run that does not fit now says how much was free; one that
// could never fit (created before the check, or before the server's memory
// shrank) says so instead; neither repeats the advice to create the
// collection again, which a search of a failed collection adds. An
// admitted run holds its memory until released.
func TestAdmitIndexing(t *testing.T) {
	shape := indexShape{docs: 300_000, corpusBytes: 150 << 20, encDim: 100, width: 100}
	need := indexingMemory(shape)
	at := func(total, room uint64) *Server {
		s := &Server{memTotal: func() (uint64, bool) { return total, true }, memRoom: func() (uint64, bool) { return room, true }}
		s.ledger = memroom.NewLedger(s.memRoom)
		return s
	}
	for _, c := range []struct {
		name        string
		srv         *Server
		want, avoid string
	}{
		{"fits", at(need, need), "", ""},
		{"not now", at(need, need-1), "was free when its indexing started", "may use"},
		{"never", at(need-1, need), "the server may use", "was free"},
	} {
		hold, err := c.srv.admitIndexing(shape)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), c.avoid)):
			t.Errorf("%s: %v, want %q without %q", c.name, err, c.want, c.avoid)
		case err != nil && strings.Contains(err.Error(), "create it again"):
			t.Errorf("%s: %v repeats the advice a failed collection's search adds", c.name, err)
		}
		if err == nil {
			// The room is now held: a second run of the same shape waits its turn.
			if _, err := c.srv.admitIndexing(shape); err == nil || !strings.Contains(err.Error(), "beside the "+memroom.Size(need)+" jobs and collections under way held") {
				t.Errorf("%s: a second run into the room the first holds: %v, want refused naming what the first holds", c.name, err)
			}
			hold.Release()
			if _, err := c.srv.admitIndexing(shape); err != nil {
				t.Errorf("%s: after the first run's release: %v", c.name, err)
			}
		}
	}
	skip := at(1, 1)
	skip.cfg.SkipMemoryCheck = true
	if _, err := skip.admitIndexing(shape); err != nil {
		t.Errorf("with the check skipped: %v", err)
	}
}

// A head that widens the vectors is named when the corpus would fit
// without it; the corpus's field when it would not.
func TestIndexingMemoryNamesWhatToChange(t *testing.T) {
	plain := indexShape{docs: 100_000, corpusBytes: 50 << 20, encDim: 100, width: 100}
	wide := plain
	wide.width, wide.projected = 8192, true
	for _, c := range []struct {
		total uint64
		want  string
	}{{indexingMemory(plain), "head"}, {indexingMemory(plain) - 1, "dataset"}} {
		s := &Server{memTotal: func() (uint64, bool) { return c.total, true }}
		err := s.checkIndexingMemory(wide, "dataset")
		if ce, ok := err.(*collectionError); !ok || ce.param != c.want {
			t.Errorf("total %d: %v, want a 400 naming %q", c.total, err, c.want)
		}
	}
}
