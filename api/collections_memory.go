package api

import (
	"fmt"
	"net/http"
	"os"

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
// vectors and, through a head, the projected ones, each row its own slice,
// and embedding's working memory when the cache does not hold the texts
// (a chunk's tokens and the encoder's output buffers: SciFact's first
// indexing peaked up to 5.4 MiB above the estimate without it).
func indexingMemory(s indexShape) uint64 {
	const (
		perDoc    = 48 + 24 // a dataset.Doc, and a row's slice header
		embedding = 24 << 20
	)
	rows := 4*uint64(s.encDim) + perDoc
	if s.projected {
		rows += 4*uint64(s.width) + 24
	}
	return index.Memory(s.docs, s.width, s.corpusBytes) + uint64(s.corpusBytes) + uint64(s.docs)*rows + embedding
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

// checkIndexingMemory refuses, at creation, a collection whose indexing
// would need more than all the memory the server may use (its cgroup limit,
// else the RAM): no wait would let it run. The error names param, the
// corpus's field, or "head" when a head widens the vectors and the
// collection would fit without it.
func (s *Server) checkIndexingMemory(shape indexShape, param string) error {
	msg := s.neverFits(shape)
	if msg == "" {
		return nil
	}
	if shape.projected && shape.width > shape.encDim {
		plain := shape
		plain.width, plain.projected = shape.encDim, false
		if s.neverFits(plain) == "" {
			param = "head"
		}
	}
	return colBadParam(param, "%s", msg)
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

// admitIndexing admits an indexing run into the server's memory ledger
// before it reads or embeds anything, or fails it: a run that does not fit
// in what is left would otherwise run until the kernel killed the whole
// server, and, resumed at every start, again. A run that could never fit
// (created before the check existed, or before the server's memory shrank)
// says so: waiting would not help it. The caller releases the hold when
// the run ends. The messages are the failed collection's error, stating
// the cause: a search of a failed collection adds that it must be deleted
// and created again.
func (s *Server) admitIndexing(shape indexShape) (*memroom.Hold, error) {
	hold := s.ledger.Hold()
	if s.cfg.SkipMemoryCheck {
		return hold, nil
	}
	if msg := s.neverFits(shape); msg != "" {
		return nil, colErrorf(http.StatusServiceUnavailable, codeUnavailable, "%s", msg)
	}
	need := indexingMemory(shape)
	if left, others, ok := hold.Admit(need, 0); !ok {
		return nil, colErrorf(http.StatusServiceUnavailable, codeUnavailable,
			"not enough memory to index: this collection needs about %s and about %s was free when its indexing started%s (%s)",
			memroom.Size(need), memroom.Size(left), heldBeside(others), shape.describe())
	}
	return hold, nil
}

// loadRetrySeconds is the Retry-After of a load refused for memory: about
// what a default job on a SciFact-sized set takes to end and free its hold.
const loadRetrySeconds = 10

// admitLoad admits loading the ready collection saved in dir into the
// server's memory ledger, or refuses it when it would not fit in what is
// left: a search answers 503 and may be retried once memory is freed; the
// collection stays ready. The caller releases the hold once the load ends
// (the loaded collection then shows in the machine's room).
func (s *Server) admitLoad(id, dir string) (*memroom.Hold, error) {
	hold := s.ledger.Hold()
	if s.cfg.SkipMemoryCheck {
		return hold, nil
	}
	need, err := index.SavedMemory(dir)
	if err != nil {
		return hold, nil // LoadCollection reports it, with the collection's damage
	}
	if left, others, ok := hold.Admit(need, 0); !ok {
		return nil, &collectionError{status: http.StatusServiceUnavailable, code: codeUnavailable, retryAfter: loadRetrySeconds,
			msg: fmt.Sprintf("not enough memory to load collection %s: it needs about %s and about %s is free%s; retry once running jobs end, or delete collections no longer searched",
				id, memroom.Size(need), memroom.Size(left), heldBeside(others))}
	}
	return hold, nil
}

// heldBeside notes what runs under way (jobs, other indexing runs and
// loads) held when a check was refused: memory soon free again.
func heldBeside(others uint64) string {
	if others == 0 {
		return ""
	}
	return " beside the " + memroom.Size(others) + " jobs and collections under way held"
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
