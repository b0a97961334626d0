package index

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
)

// docsBlock is how much of docs.jsonl one parsing job takes, cut at a line
// end. Decoding the JSON is most of a large collection's load (1.1 s of
// 3.1-4.0 s for 300,000 documents), so blocks are decoded on every core
// while the file is read and hashed in order.
var docsBlock = 4 << 20

// docsPart is one block of docs.jsonl and, once done is closed, its
// documents and the first error in it (after errAt documents).
type docsPart struct {
	data       []byte
	ids, texts []string
	err        error
	errAt      int
	done       chan struct{}
}

// readDocs parses docs.jsonl while hashing it. When a line fails to parse,
// the rest of the file is still hashed so that the error can say whether the
// file was damaged (checksum mismatch) rather than only where parsing broke.
// Save writes one document per line; a folder whose documents span lines
// was not written by it and is reported corrupt.
func readDocs(ctx context.Context, dir string, m manifest) (ids, texts []string, err error) {
	f, err := openChecked(dir, m.DocsFile)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()

	jobs := make(chan *docsPart, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for p := range jobs {
				p.parse()
			}
		})
	}
	h := sha256.New()
	var parts []*docsPart
	readErr := splitLines(ctx, f, docsBlock, func(block []byte) {
		h.Write(block)
		p := &docsPart{data: block, done: make(chan struct{})}
		parts = append(parts, p)
		jobs <- p
	})
	close(jobs)
	wg.Wait()
	if readErr != nil {
		return nil, nil, readErr
	}
	if err := verifySum(h, m.DocsFile); err != nil {
		return nil, nil, err
	}
	ids, texts, parseErr := mergeDocs(parts, m.Docs)
	if parseErr != nil {
		return nil, nil, corrupt(parseErr, "%s", m.DocsFile.Name)
	}
	return ids, texts, nil
}

// parse decodes the block's documents.
func (p *docsPart) parse() {
	defer close(p.done)
	dec := json.NewDecoder(bytes.NewReader(p.data))
	dec.DisallowUnknownFields()
	for dec.More() {
		var d docLine
		if err := dec.Decode(&d); err != nil {
			p.err, p.errAt = err, len(p.ids)
			break
		}
		p.ids = append(p.ids, d.ID)
		p.texts = append(p.texts, d.Text)
	}
	p.data = nil
}

// mergeDocs joins the parts in file order and numbers the first parse error
// by its document in the whole file.
func mergeDocs(parts []*docsPart, want int) (ids, texts []string, err error) {
	n := 0
	for _, p := range parts {
		<-p.done
		if p.err != nil {
			return nil, nil, fmt.Errorf("document %d: %w", n+p.errAt+1, p.err)
		}
		n += len(p.ids)
	}
	if n > want {
		return nil, nil, fmt.Errorf("more than the %d documents the manifest records", want)
	}
	if n != want {
		return nil, nil, fmt.Errorf("%d documents, manifest says %d", n, want)
	}
	ids, texts = make([]string, 0, n), make([]string, 0, n)
	for _, p := range parts {
		ids = append(ids, p.ids...)
		texts = append(texts, p.texts...)
	}
	return ids, texts, nil
}

// splitLines reads r to the end in blocks of about size bytes that end at a
// newline (the last may not), handing each to emit in order. A line longer
// than size makes a longer block.
func splitLines(ctx context.Context, r io.Reader, size int, emit func([]byte)) error {
	var carry []byte
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		buf := make([]byte, max(size, 2*len(carry)))
		copy(buf, carry)
		n, err := io.ReadFull(r, buf[len(carry):])
		buf = buf[:len(carry)+n]
		eof := errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
		if err != nil && !eof {
			return err
		}
		cut := len(buf)
		if !eof {
			i := bytes.LastIndexByte(buf, '\n')
			if i < 0 {
				carry = buf // one line longer than the block: read on
				continue
			}
			cut = i + 1
		}
		if cut > 0 {
			emit(buf[:cut])
		}
		if eof {
			return nil
		}
		carry = buf[cut:]
	}
}
