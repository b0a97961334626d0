package dataset

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"retune/eval"
)

// Content-hash ids of training pairs: the same text always gets the same
// id, so repeated passages and queries merge, and ids are stable across
// re-uploads and between the CLI and the service.
const (
	PairsDocPrefix   = "d-"
	PairsQueryPrefix = "q-"
	pairsIDHexChars  = 24 // 96 bits
)

// ContentID is prefix + the first 96 bits of text's SHA-256, in hex.
func ContentID(prefix, text string) string {
	return contentID(prefix, sha256.Sum256([]byte(text)))
}

func contentID(prefix string, sum [sha256.Size]byte) string {
	return prefix + hex.EncodeToString(sum[:])[:pairsIDHexChars]
}

// PairsSplit is one named split of training pairs ("train", "test", ...)
// and the file they were read from, which errors name.
type PairsSplit struct {
	Name, File string
	Pairs      []Pair
}

// FromPairs builds the BEIR layout that training and evaluation work on
// from training pairs:
//
//   - Corpus: every distinct passage, positive or negative, of every split,
//     in first-seen order (Title empty);
//   - Queries: every distinct query text, in first-seen order;
//   - Qrels[split]: each of the split's queries judges its positives 1;
//
// and returns the hard negatives the lines gave (query id → doc ids, in
// first-seen order), which a pipeline uses in place of mined ones.
//
// Lines repeating a query merge into one query. A passage that is a
// positive of a query on one line and its negative on another is an error,
// as ReadPairs makes it within one line; so is a query in two splits, which
// would score held-out metrics on a training query. They come back as
// Errors naming the file and line (Pair.Line) of each.
func FromPairs(splits ...PairsSplit) (*BEIR, map[string][]string, error) {
	b := &BEIR{docAt: map[string]int{}, queryAt: map[string]int{}}
	pb := newPairsBuilder(beirSink{b})
	for _, s := range splits {
		if err := pb.startSplit(s.Name, s.File); err != nil {
			return nil, nil, err
		}
		for _, p := range s.Pairs {
			if err := pb.add(p); err != nil {
				return nil, nil, err
			}
			if pb.full {
				break
			}
		}
		if pb.full {
			break
		}
		if err := pb.endSplit(); err != nil {
			return nil, nil, err
		}
	}
	layout, err := pb.result()
	if err != nil {
		return nil, nil, err
	}
	b.Qrels = layout.Qrels
	return b, layout.Negatives, nil
}

// PairsSink receives a conversion's passages and queries, each the first
// time it is seen.
type PairsSink interface {
	Doc(id, text string) error
	Query(id, text string) error
}

// PairsLayout is a conversion's result besides the texts: ids and
// judgements only.
type PairsLayout struct {
	QueryIDs  []string              // every distinct query, first-seen order
	Qrels     map[string]eval.Qrels // split → query → passage → 1
	Negatives map[string][]string   // query id → its negatives, first-seen order
}

// PairsInput is one split's JSONL file of training pairs, to be read.
type PairsInput struct {
	Name, File string
	R          io.Reader
}

// StreamPairs is FromPairs reading the pairs from their files as it goes
// (ReadPairs's checks included): passages and queries go to sink as they
// first appear, and only ids and judgements stay in memory, so converting
// a file takes memory for its ids, not its texts. The errors are
// FromPairs's and ReadPairs's, each naming its file. A file with invalid
// lines is reported alone, as ReadPairs reports it; what sink received by
// then is to be discarded.
func StreamPairs(sink PairsSink, inputs ...PairsInput) (*PairsLayout, error) {
	pb := newPairsBuilder(sink)
	for _, in := range inputs {
		if err := pb.startSplit(in.Name, in.File); err != nil {
			return nil, err
		}
		c := &collector{}
		var fatal error
		valid := 0
		err := forEachLine(in.R, MaxLineBytes, c, func(l line) bool {
			p, reason := parsePair(l.text)
			if reason != "" {
				return c.addf(l.n, "%s%s", reason, truncatedHint(l))
			}
			valid++
			if len(c.errs) > 0 {
				return true // only the file's invalid lines are reported
			}
			p.Line = l.n
			fatal = pb.add(p)
			return fatal == nil && !pb.full
		})
		if err != nil {
			return nil, fmt.Errorf("read pairs %s: %w", in.File, err)
		}
		if fatal != nil {
			return nil, fatal
		}
		if valid == 0 && len(c.errs) == 0 {
			c.addf(0, "no pairs")
		}
		if err := c.err(); err != nil {
			var es Errors
			if errors.As(err, &es) {
				for i := range es {
					es[i].File = in.File
				}
				return nil, es
			}
			return nil, err
		}
		if pb.full {
			break
		}
		if err := pb.endSplit(); err != nil {
			return nil, err
		}
	}
	return pb.result()
}

// pairsBuilder interns queries and passages by content id and checks the
// rules across lines, one pair at a time.
type pairsBuilder struct {
	sink   PairsSink
	layout PairsLayout
	// Full SHA-256 of each id's text: two texts with one id (a 96-bit
	// collision) must not merge, and the texts themselves are not kept.
	querySum, docSum map[string][sha256.Size]byte
	// Where each (query, passage) was first a positive and a negative, and
	// where each query was first seen: errors point at both lines.
	posAt, negAt map[[2]string]int
	queryAt      map[string]pairsSeen
	errs         Errors
	full         bool      // errs holds MaxErrors and the stop entry: read no further
	split        pairsSeen // the split being read (line unset)
	qrels        eval.Qrels
}

type pairsSeen struct {
	name, file string
	line       int
}

func newPairsBuilder(sink PairsSink) *pairsBuilder {
	return &pairsBuilder{sink: sink,
		layout:   PairsLayout{Qrels: map[string]eval.Qrels{}, Negatives: map[string][]string{}},
		querySum: map[string][sha256.Size]byte{}, docSum: map[string][sha256.Size]byte{},
		posAt: map[[2]string]int{}, negAt: map[[2]string]int{}, queryAt: map[string]pairsSeen{}}
}

func (pb *pairsBuilder) startSplit(name, file string) error {
	if _, dup := pb.layout.Qrels[name]; dup || name == "" {
		return fmt.Errorf("dataset: pairs: split name %q empty or repeated", name)
	}
	pb.split, pb.qrels = pairsSeen{name: name, file: file}, eval.Qrels{}
	pb.layout.Qrels[name] = pb.qrels
	return nil
}

// endSplit refuses a split that ended with no pair.
func (pb *pairsBuilder) endSplit() error {
	if len(pb.qrels) == 0 && len(pb.errs) == 0 {
		return Errors{{File: pb.split.file, Reason: "no pairs"}}
	}
	return nil
}

// add takes one pair; its rule violations join pb.errs, and only a
// collision or the sink's failure is returned.
func (pb *pairsBuilder) add(p Pair) error {
	qid, err := pb.intern(pb.querySum, PairsQueryPrefix, p.Query, pb.sink.Query)
	if err != nil {
		return err
	}
	if prev, ok := pb.queryAt[qid]; !ok {
		pb.queryAt[qid] = pairsSeen{pb.split.name, pb.split.file, p.Line}
		pb.layout.QueryIDs = append(pb.layout.QueryIDs, qid)
	} else if prev.name != pb.split.name {
		pb.reject(LineError{File: pb.split.file, Line: p.Line, Reason: fmt.Sprintf(
			"the query %q is also in %s (line %d, split %s): a held-out query must not be trained on",
			clip(p.Query), prev.file, prev.line, prev.name)})
		return nil
	}
	if pb.qrels[qid] == nil {
		pb.qrels[qid] = map[string]int{}
	}
	for _, t := range p.Pos {
		id, err := pb.intern(pb.docSum, PairsDocPrefix, t, pb.sink.Doc)
		if err != nil {
			return err
		}
		pb.qrels[qid][id] = 1
		key := [2]string{qid, id}
		if _, ok := pb.posAt[key]; !ok {
			pb.posAt[key] = p.Line
		}
		if at, ok := pb.negAt[key]; ok {
			pb.reject(conflict(pb.split.file, p.Line, p.Query, t, "positive", "negative", at))
		}
	}
	for _, t := range p.Neg {
		id, err := pb.intern(pb.docSum, PairsDocPrefix, t, pb.sink.Doc)
		if err != nil {
			return err
		}
		key := [2]string{qid, id}
		if _, ok := pb.negAt[key]; !ok {
			pb.negAt[key] = p.Line
			pb.layout.Negatives[qid] = append(pb.layout.Negatives[qid], id)
		}
		if at, ok := pb.posAt[key]; ok {
			pb.reject(conflict(pb.split.file, p.Line, p.Query, t, "negative", "positive", at))
		}
	}
	return nil
}

// reject records a rule violation, as a collector does a parse error: up
// to MaxErrors, then an entry saying reading stopped there, after which
// the callers read no further (full).
func (pb *pairsBuilder) reject(e LineError) {
	if pb.full {
		return
	}
	if len(pb.errs) == MaxErrors {
		e.Reason, e.Stopped, pb.full = fmt.Sprintf("more than %d errors: stopped reading", MaxErrors), true, true
	}
	pb.errs = append(pb.errs, e)
}

func (pb *pairsBuilder) result() (*PairsLayout, error) {
	if len(pb.errs) > 0 {
		return nil, pb.errs
	}
	return &pb.layout, nil
}

// intern returns text's content id, handing a text seen for the first
// time to add.
func (pb *pairsBuilder) intern(sums map[string][sha256.Size]byte, prefix, text string, add func(id, text string) error) (string, error) {
	sum := sha256.Sum256([]byte(text))
	id := contentID(prefix, sum)
	if prev, ok := sums[id]; ok {
		if prev != sum {
			return "", fmt.Errorf("dataset: pairs: content id collision on %s", id)
		}
		return id, nil
	}
	sums[id] = sum
	return id, add(id, text)
}

// conflict is the error for a passage given as both a positive and a
// negative of one query (ReadPairs refuses it within one line).
func conflict(file string, line int, query, passage, here, there string, thereLine int) LineError {
	return LineError{File: file, Line: line, Reason: fmt.Sprintf("the passage %q is a %s of the query %q here and a %s on line %d",
		clip(passage), here, clip(query), there, thereLine)}
}

// beirSink builds FromPairs's in-memory BEIR.
type beirSink struct{ b *BEIR }

func (s beirSink) Doc(id, text string) error {
	s.b.docAt[id] = len(s.b.Corpus)
	s.b.Corpus = append(s.b.Corpus, Doc{ID: id, Text: text})
	return nil
}

func (s beirSink) Query(id, text string) error {
	s.b.queryAt[id] = len(s.b.Queries)
	s.b.Queries = append(s.b.Queries, Query{ID: id, Text: text})
	return nil
}
