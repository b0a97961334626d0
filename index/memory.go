package index

import (
	"fmt"
	"os"
	"path/filepath"
)

// What a collection holds in memory, from live-heap measurements of built
// and loaded collections (TestMemoryEstimate; README, "Memory"): its vectors
// twice (as given and normalised inside the dense index, 8 bytes a value);
// per document its id, position and BM25 length and norm; and its texts
// with the BM25 postings built from them, 1.8-2.1 times the texts' bytes in
// natural text once loaded (a posting is 8 bytes a distinct term of a
// document, and the vocabulary grows slowly), up to about 2.5 times while
// loading reads the files. A corpus of mostly distinct tokens (random
// strings, hashes) has a term per token and can take several times more.
const (
	memFixed       = 1 << 20
	memPerDoc      = 200
	memTextPerByte = 3.0
)

// Memory estimates what a collection of docs documents of dim dimensions,
// whose texts take textBytes bytes, holds once built or loaded. A docs file
// or a JSONL corpus may stand in for the texts' bytes: its ids and JSON
// around them only make the estimate higher.
func Memory(docs, dim int, textBytes int64) uint64 {
	return memFixed + uint64(docs)*(8*uint64(dim)+memPerDoc) + uint64(memTextPerByte*float64(textBytes))
}

// SavedMemory is Memory for the collection saved in dir, from its manifest
// alone: what loading it will take, known before any data file is read.
func SavedMemory(dir string) (uint64, error) {
	fail := func(err error) (uint64, error) { return 0, fmt.Errorf("index: collection %s: %w", dir, err) }
	m, err := readManifest(dir)
	if err != nil {
		return fail(err)
	}
	// The docs file's size is checked against the file itself, so that a
	// damaged manifest is reported as damage (by LoadCollection, which
	// checks it again) rather than as an absurd need.
	fi, err := os.Stat(filepath.Join(dir, m.DocsFile.Name))
	if err == nil {
		err = checkSize(fi, m.DocsFile)
	}
	if err != nil {
		return fail(err)
	}
	return Memory(m.Docs, m.Dim, m.DocsFile.Bytes), nil
}
