package negatives

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"retune/internal/jsontype"
)

// Schema says what a JSON reply must hold. Decoding into the caller's Go
// struct checks the types; Required catches fields that decoding would
// silently leave zero; Check holds the rules a struct cannot express (enums,
// counts, cross-references).
type Schema struct {
	// Name names the prompt template and its version, e.g.
	// "causal_analysis.v1"; it is part of the cache key.
	Name string
	// Required lists paths that must be present and non-null. "a.b" is a
	// nested field; "a[].b" is field b of every element of array a.
	Required []string
	// Check validates the decoded value (the pointer given to JSON) and may
	// normalise it in place. Its error is shown to the model on repair, so
	// it should say what to change.
	Check func(out any) error
}

// decodeReply cleans raw, checks it against schema and decodes it into out.
func decodeReply(raw string, schema Schema, out any) error {
	body, err := cleanReply(raw)
	if err != nil {
		return err
	}
	var tree any
	if err := json.Unmarshal([]byte(body), &tree); err != nil {
		return fmt.Errorf("reply is not valid JSON: %w", err)
	}
	if _, ok := tree.(map[string]any); !ok {
		return errors.New("reply must be a single JSON object")
	}
	var missing []string
	for _, path := range schema.Required {
		for _, m := range missingPaths(tree, path, "") {
			// "a" and "a[].b" both report a missing "a" once.
			if !slices.Contains(missing, m) {
				missing = append(missing, m)
			}
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing or null fields: %s", strings.Join(missing, ", "))
	}
	// Zero out first: a repaired reply must not inherit fields from the
	// rejected one.
	v := reflect.ValueOf(out).Elem()
	v.SetZero()
	if err := json.Unmarshal([]byte(body), out); err != nil {
		return describeDecodeError(err)
	}
	if schema.Check != nil {
		return schema.Check(out)
	}
	return nil
}

// fenced matches the first Markdown code block, for a reply with prose
// around it.
var fenced = regexp.MustCompile("(?s)```[a-zA-Z]*\\s*\\n?(.*?)```")

// cleanReply removes what chat models wrap around JSON even in JSON mode:
// reasoning in <think> blocks, Markdown fences, a sentence of preamble.
// Each step is taken only while the reply is not yet a JSON object, so one
// whose strings hold "<think>" or "```" comes through whole.
func cleanReply(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	draft := "" // the first object found in reasoning, for want of a better one
	for layer := 0; ; layer++ {
		// Each layer of reasoning is dropped only when no JSON object is
		// found with it in place: a tag inside one of the object's strings
		// ("<think>", a fence) is text, not a layer.
		t, d, ok := jsonIn(s)
		if ok {
			return t, nil
		}
		draft = cmp.Or(draft, d)
		if layer < maxThinkingLayers {
			t = strings.TrimSpace(dropThinking(s))
		} else {
			t = strings.TrimSpace(dropAllThinking(s))
		}
		if t == s {
			break
		}
		s = t
	}
	if draft != "" && !strings.Contains(s, "{") {
		// Reasoning held the only object: a tag that was text after all
		// ("no <think> needed"), or thinking cut off with its answer. An
		// answer that follows, however broken, is the reply, to repair.
		return draft, nil
	}
	return lastResort(s)
}

// lastResort is what is left to try on a reply with its reasoning gone:
// its first fenced block, or the span between its outer braces, which
// decoding then judges.
func lastResort(s string) (string, error) {
	if !strings.HasPrefix(s, "{") {
		if t := unfence(s); isJSONObject(t) {
			return t, nil
		}
		if m := fenced.FindStringSubmatch(s); m != nil {
			s = strings.TrimSpace(m[1])
		}
	}
	if s == "" {
		return "", errors.New("reply is empty: a JSON object was expected")
	}
	if start, end := strings.IndexByte(s, '{'), strings.LastIndexByte(s, '}'); start >= 0 && end > start {
		s = s[start : end+1]
	}
	return s, nil
}

// jsonIn finds a valid JSON object in s: s itself, s without a fence
// around it, the first fenced block, the span from the first '{' to the
// last '}' (prose around the object), or the whole object that starts at
// the first '{' (prose after it with braces of its own), in that order. A
// block, span or object that lies in reasoning is a draft, not the reply:
// reasoning models often write their JSON out while thinking, then answer
// after </think>. It is passed over, and the first one is returned as
// draft.
func jsonIn(s string) (obj, draft string, ok bool) {
	if isJSONObject(s) {
		return s, "", true // whole: a tag in one of its strings is text
	}
	if t := unfence(s); isJSONObject(t) {
		return t, "", true
	}
	lower := asciiLower(s) // same byte offsets as s
	consider := func(t string, start, end int) bool {
		switch {
		case !isJSONObject(t):
			return false
		case inReasoning(lower, start, end):
			draft = cmp.Or(draft, t)
			return false
		}
		obj = t
		return true
	}
	if m := fenced.FindStringSubmatchIndex(s); m != nil && consider(strings.TrimSpace(s[m[2]:m[3]]), m[2], m[3]) {
		return obj, "", true
	}
	if start, end := strings.IndexByte(s, '{'), strings.LastIndexByte(s, '}'); start >= 0 && end > start && consider(s[start:end+1], start, end+1) {
		return obj, "", true
	}
	if t, ok := firstObject(s); ok {
		start := strings.IndexByte(s, '{')
		if consider(t, start, start+len(t)) {
			return obj, "", true
		}
	}
	return "", draft, false
}

// inReasoning reports whether lower[start:end] lies in reasoning: after a
// <think> that does not close before it, or before a </think> that no
// <think> after it opens (a chat template may put the opening tag in the
// prompt). lower is the reply with ASCII lowercased.
func inReasoning(lower string, start, end int) bool {
	before := lower[:start]
	if open := strings.LastIndex(before, "<think>"); open >= 0 && !strings.Contains(before[open:], "</think>") {
		return true
	}
	after := lower[end:]
	closing := strings.Index(after, "</think>")
	return closing >= 0 && !strings.Contains(after[:closing], "<think>")
}

// firstObject is the whole JSON object that starts at s's first '{', when
// one does.
func firstObject(s string) (string, bool) {
	start := strings.IndexByte(s, '{')
	if start < 0 {
		return "", false
	}
	var obj json.RawMessage
	if json.NewDecoder(strings.NewReader(s[start:])).Decode(&obj) != nil {
		return "", false
	}
	return string(obj), true
}

func isJSONObject(s string) bool { return strings.HasPrefix(s, "{") && json.Valid([]byte(s)) }

// maxThinkingLayers is how many pieces of reasoning cleanReply drops one at
// a time, looking for the reply after each; the rest go at once. A reply
// is rarely more than two layers deep, and each look costs the reply's
// length: one by one, a 265 KB reply of 16,000 tags took 13 s, and the
// 4 MiB a reply may hold would take about an hour.
const maxThinkingLayers = 4

// dropAllThinking removes every piece of reasoning from s in one pass, as
// applying dropThinking until nothing changes would (but for tags that the
// removals themselves would join up): each <think>…</think> block,
// everything before a closing tag that no opening tag precedes, and an
// opening tag that never closes with what follows it.
func dropAllThinking(s string) string {
	const open, end = "<think>", "</think>"
	lower := asciiLower(s) // same byte offsets as s
	none := len(s) + 1
	// next is the first tag at or after from; each tag is searched for
	// again only once passed, so the whole pass reads s a bounded number
	// of times.
	next := func(tag string, from int) int {
		if i := strings.Index(lower[from:], tag); i >= 0 {
			return from + i
		}
		return none
	}
	var b strings.Builder
	pos, o, c := 0, next(open, 0), next(end, 0)
	for {
		if o < pos {
			o = next(open, pos)
		}
		if c < pos {
			c = next(end, pos)
		}
		switch {
		case c < o: // a closing tag first: what came before it was reasoning
			b.Reset()
			pos = c + len(end)
		case c < none: // a block
			b.WriteString(s[pos:o])
			pos = c + len(end)
		case o < none: // an opening tag that never closes
			b.WriteString(s[pos:o])
			return b.String()
		default:
			b.WriteString(s[pos:])
			return b.String()
		}
	}
}

// dropThinking removes the first piece of reasoning from s: a
// <think>…</think> block; or, when a closing tag comes first, everything
// before it (some chat templates put the opening tag in the prompt); or an
// opening tag that never closed (cut by max tokens) and what follows it.
// It returns s unchanged when there is none.
func dropThinking(s string) string {
	lower := asciiLower(s) // same byte offsets as s
	open, end := strings.Index(lower, "<think>"), strings.Index(lower, "</think>")
	switch {
	case end >= 0 && (open < 0 || open > end):
		return s[end+len("</think>"):]
	case end >= 0:
		return s[:open] + s[end+len("</think>"):]
	case open >= 0:
		return s[:open]
	}
	return s
}

// unfence strips a code fence around the whole of s: its first line
// ("```json") and a closing "```".
func unfence(s string) string {
	if !strings.HasPrefix(s, "```") {
		return s
	}
	_, body, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(body), "```"))
}

// asciiLower lowercases ASCII letters only, so that offsets in the result
// are offsets in s (strings.ToLower may change a string's length).
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// missingPaths returns the dotted paths under path that are absent or null.
func missingPaths(node any, path, prefix string) []string {
	head, rest, _ := strings.Cut(path, ".")
	name, isArray := strings.CutSuffix(head, "[]")
	here := name
	if prefix != "" {
		here = prefix + "." + name
	}
	obj, ok := node.(map[string]any)
	if !ok {
		return nil // a type mismatch; decoding reports it better
	}
	child, ok := obj[name]
	if !ok || child == nil {
		return []string{here}
	}
	if !isArray {
		if rest == "" {
			return nil
		}
		return missingPaths(child, rest, here)
	}
	items, ok := child.([]any)
	if !ok || rest == "" {
		return nil
	}
	var out []string
	for i, item := range items {
		out = append(out, missingPaths(item, rest, fmt.Sprintf("%s[%d]", here, i))...)
	}
	return out
}

// describeDecodeError rewords encoding/json's Go-flavoured type errors in
// JSON terms the model can act on.
func describeDecodeError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return fmt.Errorf("field %q must be %s, not %s", te.Field, jsontype.Name(te.Type), te.Value)
	}
	return fmt.Errorf("reply does not fit the expected structure: %w", err)
}
