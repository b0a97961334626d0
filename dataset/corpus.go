package dataset

import (
	"fmt"
	"io"
	"strings"
)

// Doc is one corpus document.
type Doc struct {
	ID, Title, Text string
}

// Content is the text a document is embedded as: title + " " + text, trimmed,
// or just the trimmed text when there is no title. This is BEIR's convention
// for dense models, and SciFact's published scores assume it.
func (d Doc) Content() string {
	if strings.TrimSpace(d.Title) == "" {
		return strings.TrimSpace(d.Text)
	}
	return strings.TrimSpace(d.Title + " " + d.Text)
}

// ReadCorpus reads a BEIR corpus.jsonl: one {"_id", "title", "text"} object
// per line. "text" is required (title is optional), title and text must not
// both be blank, and ids must be unique. Other fields such as "metadata" are
// ignored. On any invalid line it returns nil and an Errors listing them all.
func ReadCorpus(r io.Reader) ([]Doc, error) {
	c := &collector{}
	docs, err := readCorpus(r, c)
	if err != nil {
		return nil, err
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	return docs, nil
}

// readCorpus returns the valid docs, adding the invalid lines
// to c; the error is for I/O failures only.
func readCorpus(r io.Reader, c *collector) ([]Doc, error) {
	var docs []Doc
	firstLine := make(map[string]int)
	err := forEachLine(r, MaxLineBytes, c, func(l line) bool {
		doc, reason := parseDoc(l.text)
		if reason != "" {
			return c.addf(l.n, "%s%s", reason, truncatedHint(l))
		}
		if first, dup := firstLine[doc.ID]; dup {
			return c.addf(l.n, "duplicate _id %q (first on line %d)", doc.ID, first)
		}
		firstLine[doc.ID] = l.n
		docs = append(docs, doc)
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("read corpus: %w", err)
	}
	return docs, nil
}

func parseDoc(b []byte) (Doc, string) {
	o, reason := parseObject(b)
	if reason != "" {
		return Doc{}, reason
	}
	id, reason := o.id("_id")
	if reason != "" {
		return Doc{}, reason
	}
	title, _, reason := o.str("title")
	if reason != "" {
		return Doc{}, reason
	}
	text, ok, reason := o.str("text")
	if reason != "" {
		return Doc{}, reason
	}
	if !ok {
		return Doc{}, `missing "text"`
	}
	if strings.TrimSpace(title) == "" && strings.TrimSpace(text) == "" {
		return Doc{}, "empty title and text"
	}
	return Doc{ID: id, Title: title, Text: text}, ""
}
