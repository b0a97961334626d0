package jsontype

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// KeyError is an object key that encoding/json accepted but a strict API
// must not: one matching a field only when case is ignored ("INPUT" for
// "input"), one given twice (encoding/json keeps the last of such keys, so
// either can silently replace what the client meant to send), or a field
// set to null, which encoding/json skips as if it were absent.
type KeyError struct {
	Path    string // the key's path, e.g. "hyperparameters.epochs"
	Field   string // the field's exact name when the key differs from it in case
	Twice   bool   // the key occurs twice in the same object
	Null    bool   // the field's value is null
	Unknown bool   // no field has this name, in any case
	// EmptyKey is set when the key is "": Path then ends in the dot
	// before it (or is empty at the top), as it would for a key "x.".
	EmptyKey bool
}

func (e *KeyError) Error() string {
	switch {
	case e.Unknown:
		return fmt.Sprintf("unknown field %q", e.Path)
	case e.Twice:
		return fmt.Sprintf("field %q appears twice", e.Path)
	case e.Null && strings.HasSuffix(e.Path, "]"):
		return fmt.Sprintf("%q is null: give it a value", e.Path)
	case e.Null:
		return fmt.Sprintf("field %q is null: give it a value (or leave it out, if it is optional, for its default)", e.Path)
	}
	return fmt.Sprintf("unknown field %q (field names are case-sensitive: %q)", e.Path, e.Field)
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// ExactKeys checks JSON data meant for a value of type t for keys that name
// no struct field, or one in another case, for duplicate keys and for
// struct fields set to null, at any depth, reporting each with its full
// path (encoding/json's unknown-field error names the key alone). Values
// of the wrong JSON type are left for encoding/json to report. Map keys are the client's, and a map value may be null;
// values of types with their own UnmarshalJSON (json.RawMessage included)
// are left alone entirely.
func ExactKeys(data []byte, t reflect.Type) error {
	return keyWalk{refuseNull: true}.exactKeys(json.RawMessage(data), t, "")
}

// KnownKeys is ExactKeys with null allowed wherever encoding/json takes
// it: for files retune writes itself, where an empty list is null.
func KnownKeys(data []byte, t reflect.Type) error {
	return keyWalk{}.exactKeys(json.RawMessage(data), t, "")
}

type keyWalk struct{ refuseNull bool }

func (w keyWalk) exactKeys(raw json.RawMessage, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler) {
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		return w.structKeys(raw, t, path)
	case reflect.Slice, reflect.Array:
		var elems []json.RawMessage
		if json.Unmarshal(raw, &elems) != nil {
			return nil // null, or a []byte as base64
		}
		for i, e := range elems {
			at := path + "[" + strconv.Itoa(i) + "]"
			if w.refuseNull && string(e) == "null" && nullBecomesZero(t.Elem()) {
				// encoding/json stores the zero value: "" for a string.
				return &KeyError{Path: at, Null: true}
			}
			if err := w.exactKeys(e, t.Elem(), at); err != nil {
				return err
			}
		}
	case reflect.Map:
		var vals map[string]json.RawMessage
		if json.Unmarshal(raw, &vals) != nil {
			return nil
		}
		for k, v := range vals {
			if err := w.exactKeys(v, t.Elem(), join(path, k)); err != nil {
				return err
			}
		}
	}
	return nil
}

// nullBecomesZero reports whether encoding/json decodes null into a value
// of type t as t's zero value, indistinguishable from one that was sent:
// scalars and structs (pointers, slices, maps and interfaces keep nil).
func nullBecomesZero(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
		return false
	}
	return !reflect.PointerTo(t).Implements(jsonUnmarshaler)
}

// structKeys walks one JSON object decoded into struct type t.
func (w keyWalk) structKeys(raw json.RawMessage, t reflect.Type, path string) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil // null
	}
	fields := fieldsByName(t)
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		key, _ := tok.(string)
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return nil
		}
		at, empty := join(path, key), key == ""
		if seen[key] {
			return &KeyError{Path: at, Twice: true, EmptyKey: empty}
		}
		seen[key] = true
		ft, ok := fields[key]
		if !ok {
			for name := range fields {
				if strings.EqualFold(name, key) {
					return &KeyError{Path: at, Field: name}
				}
			}
			return &KeyError{Path: at, Unknown: true, EmptyKey: empty}
		}
		if string(val) == "null" {
			if w.refuseNull {
				return &KeyError{Path: at, Null: true}
			}
			continue
		}
		if err := w.exactKeys(val, ft, at); err != nil {
			return err
		}
	}
	return nil
}

// fieldsByName maps the JSON names of t's fields, promoted ones included,
// to their types.
func fieldsByName(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for _, f := range reflect.VisibleFields(t) {
		tag := f.Tag.Get("json")
		if !f.IsExported() || tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if name == "" {
			if f.Anonymous && f.Type.Kind() == reflect.Struct {
				continue // its fields are promoted
			}
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
