package negatives

import (
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

var (
	thinkBlock = regexp.MustCompile(`(?is)<think>.*?</think>`)
	fenced     = regexp.MustCompile("(?s)```[a-zA-Z]*\\s*\\n?(.*?)```")
)

// cleanReply removes what chat models wrap around JSON even in JSON mode:
// reasoning in <think> blocks, Markdown fences, a sentence of preamble.
func cleanReply(raw string) (string, error) {
	s := thinkBlock.ReplaceAllString(raw, "")
	// Some chat templates put the opening <think> in the prompt, so the
	// reply holds only its end.
	if i := strings.LastIndex(strings.ToLower(s), "</think>"); i >= 0 {
		s = s[i+len("</think>"):]
	}
	if i := strings.Index(strings.ToLower(s), "<think>"); i >= 0 {
		s = s[:i] // reasoning that never finished, e.g. cut by max tokens
	}
	s = strings.TrimSpace(s)
	// Only unwrap fences around the reply, not ones inside its strings.
	if !strings.HasPrefix(s, "{") {
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
