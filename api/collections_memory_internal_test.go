package api

import (
	"strings"
	"testing"
)

// An indexing run that does not fit now is told to wait for memory; one
// that could never fit (created before the check, or before the server's
// memory shrank) is told so instead; neither repeats the advice to create
// the collection again, which a search of a failed collection adds.
func TestCheckIndexingRoom(t *testing.T) {
	shape := indexShape{docs: 300_000, corpusBytes: 150 << 20, encDim: 100, width: 100}
	need := indexingMemory(shape)
	at := func(total, room uint64) *Server {
		return &Server{memTotal: func() (uint64, bool) { return total, true }, memRoom: func() (uint64, bool) { return room, true }}
	}
	for _, c := range []struct {
		name        string
		srv         *Server
		want, avoid string
	}{
		{"fits", at(need, need), "", ""},
		{"not now", at(need, need-1), "not enough memory to index", "may use"},
		{"never", at(need-1, need), "the server may use", "wait for running jobs"},
	} {
		err := c.srv.checkIndexingRoom(shape)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), c.avoid)):
			t.Errorf("%s: %v, want %q without %q", c.name, err, c.want, c.avoid)
		case err != nil && strings.Contains(err.Error(), "create it again"):
			t.Errorf("%s: %v repeats the advice a failed collection's search adds", c.name, err)
		}
	}
	skip := at(1, 1)
	skip.cfg.SkipMemoryCheck = true
	if err := skip.checkIndexingRoom(shape); err != nil {
		t.Errorf("with the check skipped: %v", err)
	}
}
