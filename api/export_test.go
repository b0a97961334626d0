package api

import "retune/dataset"

// SetMemory makes s see total bytes of memory in all and room bytes left,
// for tests of the jobs' memory checks.
func SetMemory(s *Server, total, room uint64) {
	s.memTotal = func() (uint64, bool) { return total, true }
	s.memRoom = func() (uint64, bool) { return room, true }
}

// SpecPath is specPath, which TestRoutesMatchSpec checks on every route.
var SpecPath = specPath

// PostedIndexingMemory is indexingMemory for posted documents docs
// ({id, text} pairs) embedded encDim wide and, through a head that
// projects documents, width wide.
func PostedIndexingMemory(docs [][2]string, encDim, width int) uint64 {
	posted := make([]dataset.Doc, len(docs))
	for i, d := range docs {
		posted[i] = dataset.Doc{ID: d[0], Text: d[1]}
	}
	return indexingMemory(indexShape{docs: len(docs), corpusBytes: postedBytes(posted), encDim: encDim, width: width, projected: width != encDim})
}

// HoldIndexingSlots takes every indexing slot of s, as runs under way do,
// until the returned function gives them back.
func HoldIndexingSlots(s *Server) (release func()) {
	n := cap(s.cols.slots)
	for range n {
		s.cols.slots <- struct{}{}
	}
	return func() {
		for range n {
			s.cols.release()
		}
	}
}
