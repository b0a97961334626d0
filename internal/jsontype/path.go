package jsontype

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// PathAt returns the path ("documents[3].id", "queries[1]") of the value
// of valid JSON data that ends at byte offset, or opens there: where
// encoding/json's UnmarshalTypeError.Offset points. Its Field names the
// struct fields only ("queries", "documents.id"), which leaves a client
// to guess which item of an array was wrong. It returns "" when no value
// matches.
func PathAt(data []byte, offset int64) string {
	type frame struct {
		array   bool
		key     string
		index   int
		wantKey bool
	}
	var stack []frame
	path := func() string {
		var b bytes.Buffer
		for _, f := range stack {
			if f.array {
				b.WriteString("[" + strconv.Itoa(f.index) + "]")
				continue
			}
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(f.key)
		}
		return b.String()
	}
	// valueDone moves the enclosing frame past the value just read.
	valueDone := func() {
		if n := len(stack); n > 0 {
			if stack[n-1].array {
				stack[n-1].index++
			} else {
				stack[n-1].wantKey = true
			}
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	for {
		before := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		after := dec.InputOffset()
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			valueDone()
			continue
		}
		if n := len(stack); n > 0 && !stack[n-1].array && stack[n-1].wantKey {
			stack[n-1].key, stack[n-1].wantKey = tok.(string), false
			continue
		}
		// tok starts a value: a scalar, or an object or array opening.
		if before < offset && offset <= after {
			return path()
		}
		if d, ok := tok.(json.Delim); ok {
			stack = append(stack, frame{array: d == '[', wantKey: d == '{'})
			continue
		}
		valueDone()
	}
}
