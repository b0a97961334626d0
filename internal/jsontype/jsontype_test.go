package jsontype

import (
	"reflect"
	"testing"
)

func TestName(t *testing.T) {
	var p *int
	tests := []struct {
		v    any
		want string
	}{
		{"", "a string"}, {true, "a boolean"}, {int64(1), "an integer"}, {uint8(1), "an integer"},
		{1.5, "a number"}, {[]int{}, "an array"}, {[2]int{}, "an array"}, {struct{}{}, "an object"},
		{map[string]int{}, "an object"}, {p, "an integer"},
	}
	for _, tt := range tests {
		if got := Name(reflect.TypeOf(tt.v)); got != tt.want {
			t.Errorf("Name(%T) = %q, want %q", tt.v, got, tt.want)
		}
	}
}

func TestOf(t *testing.T) {
	for raw, want := range map[string]string{
		`"x"`: "a string", ` 5 `: "a number", `-1.5e3`: "a number", `true`: "a boolean", `null`: "null",
		`[1]`: "an array", `{}`: "an object", `  `: "nothing", `{"a":`: "invalid JSON", `5 6`: "invalid JSON",
	} {
		if got := Of([]byte(raw)); got != want {
			t.Errorf("Of(%q) = %q, want %q", raw, got, want)
		}
	}
}

func TestValue(t *testing.T) {
	for v, want := range map[string]string{
		"bool": "a boolean", "string": "a string", "number": "a number", "number 1.5": "1.5", "number -1e30": "-1e30",
		"array": "an array", "object": "an object", "null": "null",
	} {
		if got := Value(v); got != want {
			t.Errorf("Value(%q) = %q, want %q", v, got, want)
		}
	}
}
