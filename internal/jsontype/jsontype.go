// Package jsontype names Go types the way a JSON user knows them, for
// messages about values of the wrong type (encoding/json's
// UnmarshalTypeError names Go types: "int", "float64", "api.request").
package jsontype

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
)

// Name is what JSON value t accepts: "a string", "an integer", "a number",
// "a boolean", "an array" or "an object" (pointers are followed).
func Name(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return t.String()
}

// Of names the JSON type of a raw value, in the words of Name: "a string",
// "a number", "a boolean", "an array", "an object", "null"; "nothing" for
// blank input and "invalid JSON" for anything else.
func Of(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	if !json.Valid(raw) {
		return "invalid JSON"
	}
	switch raw[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number" // valid JSON starting with '-' or a digit
}

// Value names a value as encoding/json's UnmarshalTypeError.Value does
// ("bool", "array", "number 1.5") in the words of Name and Of: "a
// boolean", "an array", "1.5" (a number's literal, when it gives one).
func Value(v string) string {
	switch v {
	case "bool":
		return "a boolean"
	case "string":
		return "a string"
	case "number":
		return "a number"
	case "array":
		return "an array"
	case "object":
		return "an object"
	}
	if lit, ok := strings.CutPrefix(v, "number "); ok {
		return lit
	}
	return v // "null"
}
