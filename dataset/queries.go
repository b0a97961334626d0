package dataset

import (
	"fmt"
	"io"
	"strings"
)

// Query is one BEIR query.
type Query struct {
	ID, Text string
}

// ReadQueries reads a BEIR queries.jsonl: one {"_id", "text"} object per
// line, text non-blank, ids unique; other fields are ignored. On any invalid
// line it returns nil and an Errors listing them all.
func ReadQueries(r io.Reader) ([]Query, error) {
	c := &collector{}
	qs, err := readQueries(r, c)
	if err != nil {
		return nil, err
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	return qs, nil
}

func readQueries(r io.Reader, c *collector) ([]Query, error) {
	var qs []Query
	firstLine := make(map[string]int)
	err := forEachLine(r, MaxLineBytes, c, func(l line) bool {
		q, reason := parseQuery(l.text)
		if reason != "" {
			return c.addf(l.n, "%s%s", reason, truncatedHint(l))
		}
		if first, dup := firstLine[q.ID]; dup {
			return c.addf(l.n, "duplicate _id %q (first on line %d)", q.ID, first)
		}
		firstLine[q.ID] = l.n
		if c.idsOnly {
			q = Query{ID: q.ID}
		}
		qs = append(qs, q)
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("read queries: %w", err)
	}
	return qs, nil
}

func parseQuery(b []byte) (Query, string) {
	o, reason := parseObject(b)
	if reason != "" {
		return Query{}, reason
	}
	id, reason := o.id("_id")
	if reason != "" {
		return Query{}, reason
	}
	text, ok, reason := o.str("text")
	if reason != "" {
		return Query{}, reason
	}
	if !ok {
		return Query{}, `missing "text"`
	}
	if strings.TrimSpace(text) == "" {
		return Query{}, `empty "text"`
	}
	return Query{ID: id, Text: text}, ""
}
