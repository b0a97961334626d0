// Command tokenizer_ids prints the ids retune's tokenizer gives texts, for
// scripts/tokenizer_check.sh to compare with Hugging Face's tokenizers.
// It reads one JSON string per line on stdin and writes one JSON array of
// ids per line (special tokens included, no padding), or a JSON string
// holding the error. With -portable it also writes the tokenizer.json that
// retune's exports carry (tokenize.Portable), which is what Hugging Face
// must read to give the same ids.
//
//	go run ./scripts/tokenizer_ids [-portable out.json] tokenizer.json < texts.jsonl
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"retune/tokenize"
)

func main() {
	portable := flag.String("portable", "", "also write the exported form of the tokenizer.json here")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: tokenizer_ids [-portable out.json] tokenizer.json < texts.jsonl")
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *portable); err != nil {
		fmt.Fprintln(os.Stderr, "tokenizer_ids:", err)
		os.Exit(1)
	}
}

// maxLength is larger than any text the check sends: nothing is cut.
const maxLength = 1 << 20

func run(path, portable string) error {
	if portable != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		out, _, err := tokenize.Portable(data, maxLength)
		if err != nil {
			return err
		}
		if err := os.WriteFile(portable, out, 0o644); err != nil {
			return err
		}
	}
	tok, err := tokenize.Load(path, tokenize.WithMaxLength(maxLength))
	if err != nil {
		return err
	}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<26)
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	enc := json.NewEncoder(w)
	for in.Scan() {
		var text string
		if err := json.Unmarshal(in.Bytes(), &text); err != nil {
			return fmt.Errorf("line is not a JSON string: %w", err)
		}
		var res any
		if b, err := tok.EncodeBatch([]string{text}); err != nil {
			res = "error: " + err.Error()
		} else {
			ids := b.IDs
			for len(ids) > 0 && b.Mask[len(ids)-1] == 0 {
				ids = ids[:len(ids)-1] // a row of padding alone (no special tokens)
			}
			res = ids
		}
		if err := enc.Encode(res); err != nil {
			return err
		}
	}
	return in.Err()
}
