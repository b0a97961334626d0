package dataset

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"retune/eval"
)

// BEIR is a loaded BEIR dataset directory.
type BEIR struct {
	Dir     string
	Corpus  []Doc
	Queries []Query
	Qrels   map[string]eval.Qrels // split name ("train", "test", ...) -> judgments

	docAt   map[string]int // id -> index in Corpus, built by LoadBEIR
	queryAt map[string]int // id -> index in Queries
}

// LoadBEIR reads dir/corpus.jsonl, dir/queries.jsonl and dir/qrels/<split>.tsv
// for each named split, or for every qrels/*.tsv when none is named.
//
// Beyond each file's own checks (see ReadCorpus, ReadQueries, ReadQrels) it
// verifies that every judged query and document exists, reporting the qrels
// file and line of each dangling id. These cross-references are checked
// only when every file parsed cleanly, since ids on rejected lines would
// otherwise show up as spurious "unknown" errors. A file that cannot be
// opened fails immediately; otherwise all problems come back as one Errors
// (at most MaxErrors per file), wrapped with the directory.
func LoadBEIR(dir string, splits ...string) (*BEIR, error) {
	return loadBEIR(dir, false, splits)
}

// CheckBEIR is LoadBEIR for validation: every check is the same, but the
// documents and queries come back with their ids only, so the memory it
// holds is the ids and judgements, not the texts.
func CheckBEIR(dir string, splits ...string) (*BEIR, error) {
	return loadBEIR(dir, true, splits)
}

// qrelsDir is the folder of a BEIR dataset that holds one <split>.tsv per
// split.
const qrelsDir = "qrels"

// QrelsFile is the file of split in BEIR folder dir.
func QrelsFile(dir, split string) string { return filepath.Join(dir, qrelsDir, split+".tsv") }

// SplitNames lists, sorted, the splits BEIR folder dir has (its
// qrels/*.tsv); none when it has no qrels folder.
func SplitNames(dir string) ([]string, error) {
	found, err := filepath.Glob(QrelsFile(dir, "*"))
	if err != nil {
		return nil, err
	}
	names := make([]string, len(found))
	for i, f := range found {
		names[i] = strings.TrimSuffix(filepath.Base(f), ".tsv")
	}
	slices.Sort(names)
	return names, nil
}

// ReadSplit reads the judgements of split in BEIR folder dir alone.
func ReadSplit(dir, split string) (eval.Qrels, error) {
	f, err := os.Open(QrelsFile(dir, split))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadQrels(f)
}

func loadBEIR(dir string, idsOnly bool, splits []string) (*BEIR, error) {
	if len(splits) == 0 {
		var err error
		if splits, err = SplitNames(dir); err != nil {
			return nil, fmt.Errorf("dataset: load BEIR %s: %w", dir, err)
		}
		if len(splits) == 0 {
			return nil, fmt.Errorf("dataset: load BEIR %s: no qrels/*.tsv files", dir)
		}
	}

	b := &BEIR{Dir: dir, Qrels: make(map[string]eval.Qrels, len(splits))}
	var all Errors
	corpusC := &collector{file: "corpus.jsonl", idsOnly: idsOnly}
	err := readFile(dir, corpusC.file, func(r io.Reader) (err error) {
		b.Corpus, err = readCorpus(r, corpusC)
		return err
	})
	if err != nil {
		return nil, err
	}
	all = append(all, corpusC.errs...)
	all = appendIfEmpty(all, corpusC.file, len(b.Corpus), "no documents")

	queriesC := &collector{file: "queries.jsonl", idsOnly: idsOnly}
	err = readFile(dir, queriesC.file, func(r io.Reader) (err error) {
		b.Queries, err = readQueries(r, queriesC)
		return err
	})
	if err != nil {
		return nil, err
	}
	all = append(all, queriesC.errs...)
	all = appendIfEmpty(all, queriesC.file, len(b.Queries), "no queries")

	judgments := make(map[string][]judgment, len(splits))
	qrelsCs := make(map[string]*collector, len(splits))
	for _, split := range splits {
		if split == "" || strings.ContainsAny(split, `/\`) {
			return nil, fmt.Errorf("dataset: load BEIR %s: invalid split name %q", dir, split)
		}
		c := &collector{file: filepath.ToSlash(QrelsFile("", split))}
		err := readFile(dir, c.file, func(r io.Reader) (err error) {
			judgments[split], err = readQrels(r, c)
			return err
		})
		if err != nil {
			return nil, err
		}
		all = append(all, c.errs...)
		all = appendIfEmpty(all, c.file, len(judgments[split]), "no judgments")
		qrelsCs[split] = c
	}

	// Judgments are checked against the queries and documents even when
	// some line failed, so one upload lists every problem; only a file that
	// itself failed to parse is not used to call ids unknown (the id may be
	// on its broken line).
	b.index()
	queriesOK, corpusOK := len(queriesC.errs) == 0, len(corpusC.errs) == 0
	for _, split := range splits {
		c := qrelsCs[split]
		n := len(c.errs)
		b.checkRefs(judgments[split], c, queriesOK, corpusOK)
		all = append(all, c.errs[n:]...)
	}
	sortByFileAndLine(all)
	if len(all) > 0 {
		return nil, fmt.Errorf("dataset: load BEIR %s: %w", dir, all)
	}
	for _, split := range splits {
		b.Qrels[split] = toQrels(judgments[split])
	}
	return b, nil
}

// readFile opens dir/name and hands it to read, wrapping any error with the
// path.
func readFile(dir, name string, read func(io.Reader) error) error {
	path := filepath.Join(dir, filepath.FromSlash(name))
	f, err := os.Open(path)
	if err != nil {
		for _, ext := range []string{".gz", ".zip", ".zst", ".xz", ".bz2"} {
			if _, serr := os.Stat(path + ext); serr == nil && errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("dataset: load BEIR: %w (there is a %s: decompress it first)", err, filepath.Base(path+ext))
			}
		}
		return fmt.Errorf("dataset: load BEIR: %w", err)
	}
	defer f.Close()
	if err := read(f); err != nil {
		return fmt.Errorf("dataset: load BEIR %s: %w", path, err)
	}
	return nil
}

// appendIfEmpty reports a file that parsed cleanly but holds no records:
// loading it would yield a dataset on which every metric is meaningless.
// Line 0 marks a whole-file problem.
func appendIfEmpty(all Errors, file string, n int, reason string) Errors {
	if n == 0 && !slices.ContainsFunc(all, func(e LineError) bool { return e.File == file }) {
		all = append(all, LineError{File: file, Reason: reason})
	}
	return all
}

// checkRefs reports judgments whose query id (when queries is set) or
// document id (when docs is set) is unknown.
func (b *BEIR) checkRefs(js []judgment, c *collector, queries, docs bool) {
	for _, j := range js {
		if _, ok := b.queryAt[j.query]; queries && !ok {
			if !c.addf(j.line, "unknown query id %q (not in queries.jsonl)", j.query) {
				return
			}
		}
		if _, ok := b.docAt[j.doc]; docs && !ok {
			if !c.addf(j.line, "unknown corpus id %q (not in corpus.jsonl)", j.doc) {
				return
			}
		}
	}
}

// sortByFileAndLine orders errors by file, in the order the files were
// read, then by line, keeping each line's errors in the order found.
func sortByFileAndLine(all Errors) {
	rank := map[string]int{}
	for _, e := range all {
		if _, ok := rank[e.File]; !ok {
			rank[e.File] = len(rank)
		}
	}
	slices.SortStableFunc(all, func(a, b LineError) int {
		if a.File != b.File {
			return rank[a.File] - rank[b.File]
		}
		return a.Line - b.Line
	})
}

func (b *BEIR) index() {
	b.docAt = make(map[string]int, len(b.Corpus))
	for i, d := range b.Corpus {
		b.docAt[d.ID] = i
	}
	b.queryAt = make(map[string]int, len(b.Queries))
	for i, q := range b.Queries {
		b.queryAt[q.ID] = i
	}
}

// Doc looks a document up by id. On a BEIR not built by LoadBEIR it falls
// back to a linear scan.
func (b *BEIR) Doc(id string) (Doc, bool) {
	if b.docAt == nil {
		i := slices.IndexFunc(b.Corpus, func(d Doc) bool { return d.ID == id })
		if i < 0 {
			return Doc{}, false
		}
		return b.Corpus[i], true
	}
	i, ok := b.docAt[id]
	if !ok {
		return Doc{}, false
	}
	return b.Corpus[i], true
}

// Query looks a query up by id, like Doc.
func (b *BEIR) Query(id string) (Query, bool) {
	if b.queryAt == nil {
		i := slices.IndexFunc(b.Queries, func(q Query) bool { return q.ID == id })
		if i < 0 {
			return Query{}, false
		}
		return b.Queries[i], true
	}
	i, ok := b.queryAt[id]
	if !ok {
		return Query{}, false
	}
	return b.Queries[i], true
}

// Splits lists the loaded split names, sorted.
func (b *BEIR) Splits() []string {
	names := make([]string, 0, len(b.Qrels))
	for name := range b.Qrels {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Split returns the queries judged in a split, in queries.jsonl order (BEIR
// keeps exactly the queries that appear in the split's qrels), and the
// split's qrels, which are shared with b and must not be modified.
func (b *BEIR) Split(name string) (queries []Query, qrels eval.Qrels, err error) {
	qrels, ok := b.Qrels[name]
	if !ok {
		return nil, nil, fmt.Errorf("dataset: split %q not loaded (have %s)", name, strings.Join(b.Splits(), ", "))
	}
	for _, q := range b.Queries {
		if _, judged := qrels[q.ID]; judged {
			queries = append(queries, q)
		}
	}
	if len(queries) != len(qrels) {
		// Only reachable for a hand-built BEIR: LoadBEIR checks references.
		return nil, nil, fmt.Errorf("dataset: split %q judges %d queries that are not in Queries", name, len(qrels)-len(queries))
	}
	if !hasRelevant(qrels) {
		// Nothing to train towards or to score: every metric would be empty.
		return nil, nil, fmt.Errorf("dataset: split %q has no relevant judgement (every score is 0 or below)", name)
	}
	return queries, qrels, nil
}

func hasRelevant(qrels eval.Qrels) bool {
	for _, docs := range qrels {
		if anyRelevant(docs) {
			return true
		}
	}
	return false
}
