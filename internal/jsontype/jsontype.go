// Package jsontype names Go types the way a JSON user knows them, for
// messages about values of the wrong type (encoding/json's
// UnmarshalTypeError names Go types: "int", "float64", "api.request").
package jsontype

import "reflect"

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
