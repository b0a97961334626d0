package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"
)

// runEmbed embeds one text per stdin line and writes {"text","embedding"} JSONL.
func runEmbed(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("embed", flag.ContinueOnError)
	var ef encoderFlags
	ef.register(fs, "glove-100d")
	batch := fs.Int("batch", 256, "lines embedded per call")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *batch < 1 {
		return usageError{fmt.Errorf("--batch must be at least 1, got %d", *batch)}
	}
	enc, err := ef.open(ctx)
	if err != nil {
		return err
	}
	defer enc.Close()
	return embedLines(ctx, os.Stdin, os.Stdout, *batch, enc.Embed)
}

type embedFunc func(ctx context.Context, texts []string) ([][]float32, error)

func embedLines(ctx context.Context, r io.Reader, w io.Writer, batch int, embed embedFunc) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	out := bufio.NewWriter(w)
	defer out.Flush()
	enc := json.NewEncoder(out)
	var texts []string
	line := 0
	flush := func() error {
		if len(texts) == 0 {
			return nil
		}
		vecs, err := embed(ctx, texts)
		if err != nil {
			return fmt.Errorf("lines %d-%d: %w", line-len(texts)+1, line, err)
		}
		for i, v := range vecs {
			if err := enc.Encode(struct {
				Text      string    `json:"text"`
				Embedding []float32 `json:"embedding"`
			}{texts[i], v}); err != nil {
				return err
			}
		}
		texts = texts[:0]
		return nil
	}
	for sc.Scan() {
		line++
		t := sc.Text()
		if strings.TrimSpace(t) == "" {
			return fmt.Errorf("line %d is empty: one text per line", line)
		}
		// Checked here, where the line number is known; the encoder would
		// only name the text's place in its batch.
		if !utf8.ValidString(t) {
			return fmt.Errorf("line %d is not valid UTF-8", line)
		}
		texts = append(texts, t)
		if len(texts) >= batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read stdin: %w", err)
	}
	return flush()
}
