package dataset

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"retune/internal/jsontype"
)

// object is one JSONL line decoded one level deep, so that each field can be
// checked for presence and type with a precise message (a struct decode
// would turn `"text": 5` into a generic type error and `"text": null` into
// a silent empty string). Unknown fields are simply never looked at.
type object map[string]json.RawMessage

// parseObject decodes a line that must be one JSON object. The reason is
// empty on success.
func parseObject(b []byte) (object, string) {
	// encoding/json would silently replace invalid UTF-8 with U+FFFD,
	// corrupting text without a word; reject it instead.
	if !utf8.Valid(b) {
		return nil, fmt.Sprintf("invalid UTF-8 at byte %d", invalidUTF8Offset(b))
	}
	trimmed := bytes.TrimSpace(b)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, fmt.Sprintf("expected a JSON object, got %s", jsontype.Of(trimmed))
	}
	var o object
	if err := json.Unmarshal(trimmed, &o); err != nil {
		return nil, "invalid JSON: " + err.Error()
	}
	if at, esc := loneSurrogate(trimmed); at >= 0 {
		// encoding/json turns it into U+FFFD: two texts differing only
		// there (truncated emoji) would merge, as invalid UTF-8 would.
		return nil, fmt.Sprintf("unpaired surrogate escape %s at byte %d: not a character (a cut emoji?)", esc, at)
	}
	if topLevelKeys(trimmed) != len(o) {
		// A key given twice, however spelled ("query", "\u0071uery"):
		// encoding/json kept the last value, and the line would say two
		// things and be read as one of them without a word.
		if dup := repeatedKey(trimmed); dup != "" {
			return nil, fmt.Sprintf("key %q appears twice", dup)
		}
	}
	return o, ""
}

// topLevelKeys counts the keys of the valid JSON object b: the colons
// outside strings at its first level. It costs far less than decoding.
func topLevelKeys(b []byte) int {
	n, depth, inString := 0, 0, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inString {
			switch c {
			case '\\':
				i++ // the escaped byte
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		case ':':
			if depth == 1 {
				n++
			}
		}
	}
	return n
}

// repeatedKey names the first key the valid JSON object b gives twice,
// comparing keys as decoded ("" when none is).
func repeatedKey(b []byte) string {
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil { // '{'
		return ""
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		k, _ := tok.(string)
		if seen[k] {
			return k
		}
		seen[k] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return ""
		}
	}
	return ""
}

// loneSurrogate finds, in valid JSON b, a \u escape of a UTF-16 surrogate
// that is not half of a high-low pair, and returns its offset and text
// (-1 when there is none). Backslashes occur only inside strings, so a
// plain scan of escapes suffices.
func loneSurrogate(b []byte) (int, string) {
	if !bytes.Contains(b, []byte(`\u`)) {
		return -1, ""
	}
	hex4 := func(i int) rune {
		if i+6 > len(b) || b[i] != '\\' || b[i+1] != 'u' {
			return -1
		}
		v, err := strconv.ParseUint(string(b[i+2:i+6]), 16, 16)
		if err != nil {
			return -1
		}
		return rune(v)
	}
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		r := hex4(i)
		switch {
		case r >= 0xD800 && r <= 0xDBFF:
			if lo := hex4(i + 6); lo >= 0xDC00 && lo <= 0xDFFF {
				i += 11 // the pair
				continue
			}
			return i, string(b[i : i+6])
		case r >= 0xDC00 && r <= 0xDFFF:
			return i, string(b[i : i+6])
		}
		i++ // the escaped byte: "\\" must not start another escape
	}
	return -1, ""
}

func invalidUTF8Offset(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return len(b)
}

// present reports whether key exists with a non-null value; JSON null is
// treated as absent, the way Python loaders (BEIR, datasets) see None.
func (o object) present(key string) bool {
	raw, ok := o[key]
	return ok && !bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

// str returns a string field. ok is false when the key is absent or null;
// reason is set when it holds another type.
func (o object) str(key string) (s string, ok bool, reason string) {
	if !o.present(key) {
		return "", false, ""
	}
	raw := o[key]
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false, fmt.Sprintf("%q must be a string, got %s", key, jsontype.Of(raw))
	}
	return s, true, ""
}

// id returns an identifier field. BEIR ids are strings, but some exports
// write numeric ids as JSON numbers; those are taken as their literal text
// ("42" for 42) so that they match the same ids in the qrels TSV.
func (o object) id(key string) (s string, reason string) {
	if !o.present(key) {
		return "", fmt.Sprintf("missing %q", key)
	}
	raw := bytes.TrimSpace(o[key])
	switch jsontype.Of(raw) {
	case "a string":
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", fmt.Sprintf("%q: %v", key, err)
		}
	case "a number":
		s = string(raw)
	default:
		return "", fmt.Sprintf("%q must be a string or number, got %s", key, jsontype.Of(raw))
	}
	if s == "" {
		return "", fmt.Sprintf("empty %q", key)
	}
	if strings.ContainsAny(s, "\t\r\n") {
		return "", fmt.Sprintf("%q contains a tab or line break, so no qrels line could name it", key)
	}
	return s, ""
}

// strList returns a field that may be a single string or an array of
// strings (sentence-transformers datasets use both). ok is false when the
// key is absent or null.
func (o object) strList(key string) (list []string, ok bool, reason string) {
	if !o.present(key) {
		return nil, false, ""
	}
	raw := o[key]
	switch jsontype.Of(raw) {
	case "a string":
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, false, fmt.Sprintf("%q: %v", key, err)
		}
		return []string{s}, true, ""
	case "an array":
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, false, fmt.Sprintf("%q: %v", key, err)
		}
		list = make([]string, len(items))
		for i, item := range items {
			if err := json.Unmarshal(item, &list[i]); err != nil || jsontype.Of(item) != "a string" {
				return nil, false, fmt.Sprintf("%q[%d] must be a string, got %s", key, i, jsontype.Of(item))
			}
		}
		return list, true, ""
	}
	return nil, false, fmt.Sprintf("%q must be a string or an array of strings, got %s", key, jsontype.Of(raw))
}
