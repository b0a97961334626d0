package dataset

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"

	"retune/eval"
)

// qrelsHeader is the first line of every BEIR qrels file.
const qrelsHeader = "query-id\tcorpus-id\tscore"

// judgment is one qrels row and the line it came from, kept so LoadBEIR can
// point at the line of a dangling id.
type judgment struct {
	query, doc string
	score      int
	line       int
}

// ReadQrels reads a BEIR qrels TSV: the header line
// "query-id\tcorpus-id\tscore", then one "query\tdoc\tgrade" row per line with
// an integer grade. Unlike BEIR's loader, which drops the first line
// unconditionally, the header is checked, so a headerless file loses no row
// unnoticed. A repeated (query, doc) pair is an error: trec_eval rejects it
// and a dict-based loader would silently keep the last grade. On any invalid
// line it returns nil and an Errors listing them all.
func ReadQrels(r io.Reader) (eval.Qrels, error) {
	c := &collector{}
	js, err := readQrels(r, c)
	if err != nil {
		return nil, err
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	return toQrels(js), nil
}

func toQrels(js []judgment) eval.Qrels {
	q := make(eval.Qrels)
	for _, j := range js {
		if q[j.query] == nil {
			q[j.query] = make(map[string]int)
		}
		q[j.query][j.doc] = j.score
	}
	return q
}

func readQrels(r io.Reader, c *collector) ([]judgment, error) {
	var js []judgment
	firstLine := make(map[[2]string]int)
	sawHeader := false
	err := forEachLine(r, MaxLineBytes, c, func(l line) bool {
		if !utf8.Valid(l.text) {
			return c.addf(l.n, "invalid UTF-8 at byte %d", invalidUTF8Offset(l.text))
		}
		if !sawHeader {
			sawHeader = true
			if string(l.text) != qrelsHeader {
				return c.addf(l.n, "expected header %q, got %q%s", qrelsHeader, l.text, trecHint(l.text))
			}
			return true
		}
		fields := bytes.Split(l.text, []byte("\t"))
		if len(fields) != 3 {
			return c.addf(l.n, "expected 3 tab-separated columns, got %d%s%s", len(fields), trecHint(l.text), truncatedHint(l))
		}
		query, doc := string(fields[0]), string(fields[1])
		if query == "" {
			return c.addf(l.n, "empty query-id")
		}
		if doc == "" {
			return c.addf(l.n, "empty corpus-id")
		}
		score, err := strconv.Atoi(string(fields[2]))
		if errors.Is(err, strconv.ErrRange) {
			return c.addf(l.n, "score %q is out of range (a relevance grade such as 0, 1 or 2)", fields[2])
		}
		if err != nil {
			return c.addf(l.n, "score %q is not an integer%s", fields[2], truncatedHint(l))
		}
		key := [2]string{query, doc}
		if first, dup := firstLine[key]; dup {
			return c.addf(l.n, "duplicate judgment for query %q, doc %q (first on line %d)", query, doc, first)
		}
		firstLine[key] = l.n
		js = append(js, judgment{query: query, doc: doc, score: score, line: l.n})
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("read qrels: %w", err)
	}
	return js, nil
}

// trecHint explains a line in TREC's qrels layout ("qid 0 docid rel",
// four columns, often space-separated), the most common near-miss.
func trecHint(text []byte) hint {
	if len(bytes.Fields(text)) != 4 {
		return ""
	}
	return " (this looks like TREC qrels, \"query 0 doc grade\": BEIR's are query-id, corpus-id and score, tab-separated, after a header line; drop the second column)"
}
