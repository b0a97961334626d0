package api

import (
	"fmt"
	"net/http"
	"os"
	"runtime"

	"retune/dataset"
	"retune/index"
	"retune/internal/memroom"
	"retune/model"
)

// indexShape is what a collection's memory estimate reads: how many
// documents, their corpus file's bytes (the texts, plus JSON around them),
// the encoder's width and the width of the vectors indexed (a head that
// projects documents may change it).
type indexShape struct {
	docs          int
	corpusBytes   int64
	encDim, width int
	projected     bool
}

// indexingMemory estimates an indexing run's peak (README, "Memory"): the
// collection it builds (index.Memory), plus what it holds while building:
// the documents as read (their texts a second time), the encoder's
// vectors and, through a head, the projected ones, each row its own slice.
func indexingMemory(s indexShape) uint64 {
	const perDoc = 48 + 24 // a dataset.Doc, and a row's slice header
	rows := 4*uint64(s.encDim) + perDoc
	if s.projected {
		rows += 4*uint64(s.width) + 24
	}
	return index.Memory(s.docs, s.width, s.corpusBytes) + uint64(s.corpusBytes) + uint64(s.docs)*rows
}

// fileBytes is the size of the file at path (0 when it cannot be read:
// reading it fails later with the reason).
func fileBytes(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// memoryLeft is what the server can still take: memRoom, after a garbage
// collection when need exceeds it (freed garbage counts as room; most
// checks pass without paying for the collection). ok is false where the
// machine does not say.
func (s *Server) memoryLeft(need uint64) (uint64, bool) {
	room, ok := s.memRoom()
	if ok && need > room {
		runtime.GC()
		room, ok = s.memRoom()
	}
	return room, ok
}

// checkIndexingMemory refuses, at creation, a collection whose indexing
// would need more than all the memory the server may use (its cgroup limit,
// else the RAM): no wait would let it run. param names what to change.
func (s *Server) checkIndexingMemory(shape indexShape, param string) error {
	if err := s.neverFits(shape); err != "" {
		return colBadParam(param, "%s", err)
	}
	return nil
}

// neverFits says why indexing shape could never run here, or "".
func (s *Server) neverFits(shape indexShape) string {
	if s.cfg.SkipMemoryCheck {
		return ""
	}
	need := indexingMemory(shape)
	total, ok := s.memTotal()
	if !ok || need <= total {
		return ""
	}
	return fmt.Sprintf("indexing this collection needs about %s of memory and the server may use %s in all (%s); index a smaller corpus, or a head of fewer dimensions, or use a machine with more memory",
		memroom.Size(need), memroom.Size(total), shape.describe())
}

// checkIndexingRoom fails an indexing run that would not fit in what the
// server has left now, before it reads or embeds anything: it would
// otherwise run until the kernel killed the whole server, and, resumed at
// every start, again. A run that could never fit (one created before the
// check existed, or before the server's memory shrank) says so: waiting
// would not help it. The messages end without advice to create the
// collection again, which a search of a failed collection adds.
func (s *Server) checkIndexingRoom(shape indexShape) error {
	if msg := s.neverFits(shape); msg != "" {
		return colErrorf(http.StatusServiceUnavailable, codeUnavailable, "%s", msg)
	}
	if s.cfg.SkipMemoryCheck {
		return nil
	}
	need := indexingMemory(shape)
	if room, ok := s.memoryLeft(need); ok && need > room {
		return colErrorf(http.StatusServiceUnavailable, codeUnavailable,
			"not enough memory to index: this collection needs about %s and about %s is free (%s); delete collections no longer searched or wait for running jobs to end",
			memroom.Size(need), memroom.Size(room), shape.describe())
	}
	return nil
}

// checkLoadRoom refuses to load the ready collection saved in dir when it
// would not fit in what the server has left: a search answers 503 and may
// be retried once memory is freed; the collection stays ready.
func (s *Server) checkLoadRoom(id, dir string) error {
	if s.cfg.SkipMemoryCheck {
		return nil
	}
	need, err := index.SavedMemory(dir)
	if err != nil {
		return nil // LoadCollection reports it, with the collection's damage
	}
	if room, ok := s.memoryLeft(need); ok && need > room {
		return colErrorf(http.StatusServiceUnavailable, codeUnavailable,
			"not enough memory to load collection %s: it needs about %s and about %s is free; retry once running jobs end, or delete collections no longer searched",
			id, memroom.Size(need), memroom.Size(room))
	}
	return nil
}

func (s indexShape) describe() string {
	return fmt.Sprintf("%d documents × %d dimensions, %s of corpus", s.docs, s.width, memroom.Size(uint64(s.corpusBytes)))
}

// newIndexShape is the shape of indexing docs documents whose corpus file
// takes corpusBytes with enc, through head when it projects documents.
func newIndexShape(docs int, corpusBytes int64, enc *model.Encoder, head *model.Head) indexShape {
	s := indexShape{docs: docs, corpusBytes: corpusBytes, encDim: enc.Dim(), width: enc.Dim()}
	if head != nil && head.AppliesToDocs() {
		s.width, s.projected = head.Config().DOut, true
	}
	return s
}

// postedBytes is about what posted documents take as a corpus file.
func postedBytes(docs []dataset.Doc) int64 {
	const perLine = len(`{"_id":"","title":"","text":""}` + "\n")
	var n int64
	for _, d := range docs {
		n += int64(len(d.ID) + len(d.Title) + len(d.Text) + perLine)
	}
	return n
}
