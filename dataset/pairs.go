package dataset

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Pair is one training example: a query, its positive passages and,
// optionally, hard negatives (in-batch negatives need none).
type Pair struct {
	Query string
	Pos   []string
	Neg   []string
	Line  int // 1-based line of the file it was read from (0 when built otherwise)
}

// ReadPairs reads training JSONL. Each line is detected on its own, so files
// mixing the two common forms load as one:
//
//   - FlagEmbedding: {"query": str, "pos": [str...], "neg": [str...]}
//     (extra fields such as "pos_scores" or "prompt" are ignored, but not
//     look-alikes of the passage fields such as "negs": see lookalikeKey);
//   - sentence-transformers: {"anchor": str, "positive": str|[str...],
//     "negative": str|[str...]} and the numbered hard-negative columns
//     "negative_1", "negative_2", ... that its mined datasets use.
//
// Every line needs a non-blank query and at least one positive; no passage
// may be blank, and a negative may not repeat a positive of the same line
// (that would train the model to push a passage both towards and away from
// the query). On any invalid line it returns nil and an Errors listing them
// all.
func ReadPairs(r io.Reader) ([]Pair, error) {
	c := &collector{}
	var pairs []Pair
	err := forEachLine(r, MaxLineBytes, c, func(l line) bool {
		p, reason := parsePair(l.text)
		if reason != "" {
			return c.addf(l.n, "%s%s", reason, truncatedHint(l))
		}
		p.Line = l.n
		pairs = append(pairs, p)
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("read pairs: %w", err)
	}
	if len(pairs) == 0 && len(c.errs) == 0 {
		c.addf(0, "no pairs") // line 0: the whole file
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	return pairs, nil
}

// pairFields names the JSON keys of one training form.
type pairFields struct{ query, pos, neg string }

var (
	flagEmbeddingForm = pairFields{"query", "pos", "neg"}
	sentTransForm     = pairFields{"anchor", "positive", "negative"}
)

func parsePair(b []byte) (Pair, string) {
	o, reason := parseObject(b)
	if reason != "" {
		return Pair{}, reason
	}
	var f pairFields
	switch fe, st := o.present("query"), o.present("anchor"); {
	case fe && st:
		return Pair{}, `has both "query" (FlagEmbedding) and "anchor" (sentence-transformers)`
	case fe:
		f = flagEmbeddingForm
	case st:
		f = sentTransForm
	default:
		return Pair{}, `expected "query" (FlagEmbedding) or "anchor" (sentence-transformers)`
	}

	if reason := lookalikeKey(o, f); reason != "" {
		return Pair{}, reason
	}
	query, _, reason := o.str(f.query)
	if reason != "" {
		return Pair{}, reason
	}
	if strings.TrimSpace(query) == "" {
		return Pair{}, fmt.Sprintf("empty %q", f.query)
	}
	var pos labelled
	if reason := pos.add(o, f.pos); reason != "" {
		return Pair{}, reason
	}
	if len(pos.texts) == 0 {
		return Pair{}, fmt.Sprintf("no positives: %q is missing or empty", f.pos)
	}
	negs, reason := negatives(o, f)
	if reason != "" {
		return Pair{}, reason
	}
	if reason := checkPassages(pos, negs); reason != "" {
		return Pair{}, reason
	}
	if len(b) > MaxLineBytes/2 { // only then can escaping push a text past the limit
		if reason := tooLongToStore(strconv.Quote(f.query), query); reason != "" {
			return Pair{}, reason
		}
		for _, l := range []labelled{pos, negs} {
			for i, t := range l.texts {
				if reason := tooLongToStore(l.labels[i], t); reason != "" {
					return Pair{}, reason
				}
			}
		}
	}
	return Pair{Query: query, Pos: pos.texts, Neg: negs.texts}, ""
}

// labelled keeps, for each passage, the field it came from so that error
// messages can point at it: "negative_2"[0] or "neg"[3].
type labelled struct {
	texts  []string
	labels []string
}

// add appends the passages of field key (a string or an array of strings;
// absent or null adds nothing).
func (l *labelled) add(o object, key string) string {
	list, _, reason := o.strList(key)
	if reason != "" {
		return reason
	}
	for i, s := range list {
		l.texts = append(l.texts, s)
		l.labels = append(l.labels, fmt.Sprintf("%q[%d]", key, i))
	}
	return ""
}

// negatives collects the negatives of a line: the form's own field plus, for
// sentence-transformers, "negative_N" columns in numeric order.
func negatives(o object, f pairFields) (labelled, string) {
	var out labelled
	if reason := out.add(o, f.neg); reason != "" {
		return out, reason
	}
	if f != sentTransForm {
		return out, ""
	}
	type numbered struct {
		key string
		n   int
	}
	var cols []numbered
	for key := range o {
		if rest, ok := strings.CutPrefix(key, "negative_"); ok {
			if n, err := strconv.Atoi(rest); err == nil && n >= 0 {
				cols = append(cols, numbered{key, n})
			}
		}
	}
	slices.SortFunc(cols, func(a, b numbered) int { return cmp.Compare(a.n, b.n) })
	for _, col := range cols {
		if reason := out.add(o, col.key); reason != "" {
			return out, reason
		}
	}
	return out, ""
}

// lookalikeKey refuses a key that looks like a passage field but is not
// one of the line's form ("negs", "negatives", "Pos", or "neg" on a
// sentence-transformers line): other keys are ignored, and ignoring this
// one would drop the passages it holds without a word. Score columns
// ("pos_scores") and the form's own fields pass.
func lookalikeKey(o object, f pairFields) string {
	bad := "" // the first by name of several, so every run names the same
	for key := range o {
		lower := strings.ToLower(key)
		if key == f.pos || key == f.neg || strings.HasSuffix(lower, "_scores") {
			continue
		}
		if rest, ok := strings.CutPrefix(key, "negative_"); ok && f == sentTransForm {
			if _, err := strconv.Atoi(rest); err == nil {
				continue
			}
		}
		if (strings.HasPrefix(lower, "pos") || strings.HasPrefix(lower, "neg") || strings.HasPrefix(lower, "hard_neg")) &&
			(bad == "" || key < bad) {
			bad = key
		}
	}
	if bad != "" {
		return fmt.Sprintf("unknown key %q: passages go in %q and %q", bad, f.pos, f.neg)
	}
	return ""
}

func checkPassages(pos, negs labelled) string {
	isPos := make(map[string]bool, len(pos.texts))
	for i, p := range pos.texts {
		if strings.TrimSpace(p) == "" {
			return fmt.Sprintf("%s is blank", pos.labels[i])
		}
		isPos[p] = true
	}
	for i, n := range negs.texts {
		if strings.TrimSpace(n) == "" {
			return fmt.Sprintf("%s is blank", negs.labels[i])
		}
		if isPos[n] {
			return fmt.Sprintf("%s is also a positive", negs.labels[i])
		}
	}
	return ""
}

// storedLineOverhead bounds what a stored BEIR line adds to its JSON-encoded
// text: {"_id":"<prefix + id>","title":"","text":…} and the newline.
const storedLineOverhead = 64

// tooLongToStore refuses a text whose line in the converted BEIR files
// would pass MaxLineBytes: JSON escaping can lengthen it (U+2028 takes 6
// bytes there, 3 here), and the stored files are read with the same limit,
// so it is refused here, on the line the user wrote.
func tooLongToStore(label, text string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(text); err != nil {
		return fmt.Sprintf("%s: %v", label, err)
	}
	if n := buf.Len() + storedLineOverhead; n > MaxLineBytes {
		return fmt.Sprintf("%s is too long to store: a %d-byte BEIR line, over the 16 MiB limit", label, n)
	}
	return ""
}
