package dataset

import (
	"bytes"
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

// readCorpus returns the valid docs, adding the invalid lines to c; the
// error is for I/O failures only.
//
// Parsing the JSON is most of the work (2.7 s for 300,000 short documents),
// so lines are read in batches by one goroutine, each batch is parsed by a
// goroutine of its own, and the batches are taken back in reading order:
// duplicates, errors and their line numbers come out exactly as from one
// sequential pass. At most corpusAhead batches are read ahead of the one
// being taken back, and the reader has stopped before readCorpus returns,
// so r is never read after it (an HTTP body must not be).
func readCorpus(r io.Reader, c *collector) ([]Doc, error) {
	batches := make(chan *corpusBatch, corpusAhead)
	quit := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		defer close(batches)
		readCorpusBatches(r, batches, quit)
	}()
	defer func() {
		close(quit)
		for range batches { // unblock the reader if it is sending
		}
		<-stopped
	}()

	var docs []Doc
	firstLine := make(map[string]int)
	for b := range batches {
		<-b.parsed
		for _, it := range b.items {
			var ok bool
			switch {
			case it.tooLong:
				ok = c.addf(it.n, "line longer than %d bytes", MaxLineBytes)
			case it.reason != "":
				ok = c.addf(it.n, "%s%s", it.reason, it.hint)
			default:
				if first, dup := firstLine[it.doc.ID]; dup {
					ok = c.addf(it.n, "duplicate _id %q (first on line %d)", it.doc.ID, first)
				} else {
					firstLine[it.doc.ID] = it.n
					if c.idsOnly {
						it.doc = Doc{ID: it.doc.ID}
					}
					docs = append(docs, it.doc)
					ok = true
				}
			}
			if !ok {
				return docs, nil
			}
		}
		if b.err != nil {
			return nil, fmt.Errorf("read corpus: %w", b.err)
		}
	}
	return docs, nil
}

// Batching of readCorpus: lines per parse goroutine, and batches read ahead.
const (
	corpusBatchLines = 512
	corpusAhead      = 8
)

// corpusBatch is a run of non-blank lines and, once parsed is closed, what
// each holds. err is the read error that ended the input after them.
type corpusBatch struct {
	items  []corpusItem
	err    error
	parsed chan struct{}
}

type corpusItem struct {
	n                     int // line number
	text                  []byte
	unterminated, tooLong bool
	doc                   Doc
	reason                string // why the line is not a document
	hint                  hint   // truncatedHint of a line with a reason
}

// readCorpusBatches sends r's lines in batches, each handed to a parsing
// goroutine first, until the input ends or quit is closed.
func readCorpusBatches(r io.Reader, out chan<- *corpusBatch, quit <-chan struct{}) {
	b := &corpusBatch{parsed: make(chan struct{})}
	// send hands b over; false means quit was closed.
	send := func() bool {
		go b.parse()
		select {
		case out <- b:
			return true
		case <-quit:
			return false
		}
	}
	stopped := false
	err := eachLine(r, MaxLineBytes, func(l line) bool {
		if l.compressed != "" {
			b.items = append(b.items, corpusItem{n: l.n, reason: compressedReason(l.compressed)})
			return false
		}
		// l.text is only valid until the next line is read.
		b.items = append(b.items, corpusItem{n: l.n, text: bytes.Clone(l.text), unterminated: l.unterminated, tooLong: l.tooLong})
		if len(b.items) < corpusBatchLines {
			return true
		}
		if stopped = !send(); stopped {
			return false
		}
		b = &corpusBatch{parsed: make(chan struct{})}
		return true
	})
	if !stopped {
		b.err = err // the last lines, then the read error if any
		send()
	}
}

func (b *corpusBatch) parse() {
	defer close(b.parsed)
	for i := range b.items {
		it := &b.items[i]
		if !it.tooLong && it.reason == "" {
			it.doc, it.reason = parseDoc(it.text)
			if it.reason != "" {
				it.hint = truncatedHint(line{text: it.text, unterminated: it.unterminated})
			}
			it.text = nil
		}
	}
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
