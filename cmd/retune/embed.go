package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"unicode/utf8"

	"retune/model"
)

// runEmbed embeds one text per stdin line and writes {"text","embedding"} JSONL.
func runEmbed(ctx context.Context, args []string) error {
	fs := newFlags("embed", "[--model NAME | --onnx DIR] [--head DIR] < texts",
		"Reads one text per line on stdin (a blank line is an error: outputs pair with inputs by line) and writes one {\"text\", \"embedding\"} JSON object per line.")
	var ef encoderFlags
	ef.register(fs, "glove-100d")
	batch := fs.Int("batch", 256, "lines embedded per call")
	headDir := fs.String("head", "", "trained head folder: output the tuned embeddings (a head trained with --apply query is for queries only); its encoder is used unless --model or --onnx names one")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	saved, err := ef.loadHead(fs, *headDir)
	if err != nil {
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
	head, err := saved.checkedFor(enc)
	if err != nil {
		return err
	}
	embed := enc.Embed
	if head != nil {
		if head.Config().Apply == model.ApplyQuery {
			// Every line goes through the head: right for queries only.
			fmt.Fprintln(os.Stderr, "retune embed: note: the head projects queries only (apply query): these are query embeddings; embed documents without --head")
		}
		embed = func(ctx context.Context, texts []string) ([][]float32, error) {
			vecs, err := enc.Embed(ctx, texts)
			if err != nil {
				return nil, err
			}
			return head.ProjectBatch(vecs), nil
		}
	}
	zero, err := embedLines(ctx, os.Stdin, os.Stdout, *batch, embed)
	if len(zero) > 0 {
		what := "their embeddings are"
		if len(zero) == 1 {
			what = "its embedding is"
		}
		fmt.Fprintf(os.Stderr, "retune embed: warning: %s no token %s knows: %s all zero\n", countLines(zero), enc.Name(), what)
	}
	return err
}

// countLines says "line 3 has" or "3 lines (2, 5, 9) have", naming the first ten.
func countLines(lines []int) string {
	if len(lines) == 1 {
		return fmt.Sprintf("line %d has", lines[0])
	}
	shown := make([]string, 0, 10)
	for _, n := range lines[:min(len(lines), 10)] {
		shown = append(shown, fmt.Sprint(n))
	}
	more := ""
	if len(lines) > 10 {
		more = ", ..."
	}
	return fmt.Sprintf("%d lines (%s%s) have", len(lines), strings.Join(shown, ", "), more)
}

// maxEmbedLine bounds one input line of retune embed.
const maxEmbedLine = 64 << 20

type embedFunc func(ctx context.Context, texts []string) ([][]float32, error)

// embedLines writes one {"text","embedding"} line per input line and
// returns the numbers of the lines whose embedding is all zero (the encoder
// knows none of their tokens), which the output alone would not show.
func embedLines(ctx context.Context, r io.Reader, w io.Writer, batch int, embed embedFunc) (zero []int, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), maxEmbedLine)
	out := bufio.NewWriter(w)
	defer func() {
		// The last lines are still buffered: a full disk or a closed pipe
		// found here is an error like any other write's.
		if ferr := out.Flush(); err == nil && ferr != nil {
			err = fmt.Errorf("write output: %w", ferr)
		}
	}()
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
			if !slices.ContainsFunc(v, func(x float32) bool { return x != 0 }) {
				zero = append(zero, line-len(texts)+1+i)
			}
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
		// line counts the lines read before this one until it is taken:
		// flush numbers the buffered texts by it.
		t := sc.Text()
		if line == 0 {
			t = strings.TrimPrefix(t, "\ufeff") // a byte-order mark is not text
		}
		// Checked here, where the line number is known (the encoder would
		// only name the text's place in its batch). The lines before a bad
		// one are embedded and written first, so the output is exactly
		// their prefix and the message can say so.
		problem := ""
		switch {
		case strings.TrimSpace(t) == "":
			problem = "is empty: one text per line"
		case !utf8.ValidString(t):
			problem = "is not valid UTF-8"
		}
		if problem != "" {
			if err := flush(); err != nil {
				return zero, err
			}
			return zero, fmt.Errorf("line %d %s (%s before it written)", line+1, problem, countWord(line, "line"))
		}
		line++
		texts = append(texts, t)
		if len(texts) >= batch {
			if err := flush(); err != nil {
				return zero, err
			}
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			// Everything before it was embedded and written.
			if ferr := flush(); ferr != nil {
				return zero, ferr
			}
			return zero, fmt.Errorf("line %d is longer than %d MiB: one text per line (an encoder reads at most its first few hundred tokens anyway; %s before it written)", line+1, maxEmbedLine>>20, countWord(line, "line"))
		}
		return zero, fmt.Errorf("read stdin: %w", err)
	}
	return zero, flush()
}

// countWord says "1 line" or "3 lines".
func countWord(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
