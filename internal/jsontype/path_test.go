package jsontype

import (
	"encoding/json"
	"errors"
	"testing"
)

// PathAt names the value an UnmarshalTypeError points at, array indexes
// included.
func TestPathAt(t *testing.T) {
	type doc struct {
		ID   string `json:"id"`
		Text string `json:"text"`
	}
	type body struct {
		Queries   []string `json:"queries"`
		Documents []doc    `json:"documents"`
		K         int      `json:"k"`
		Nested    struct {
			Lists [][]int `json:"lists"`
		} `json:"nested"`
	}
	tests := []struct{ json, want string }{
		{`{"queries":["a",5]}`, "queries[1]"},
		{`{"queries": [ "a", "b" , {"x":1} ]}`, "queries[2]"},
		{`{"documents":[{"id":"a","text":"t"},{"id":1,"text":"u"}]}`, "documents[1].id"},
		{`{"documents":[{"id":"a","text":"t"},{"text":[],"id":"b"}]}`, "documents[1].text"},
		{`{"k":"ten"}`, "k"},
		{`{"queries":["a"],"nested":{"lists":[[1],[2,"x"]]}}`, "nested.lists[1][1]"},
		{`{"queries":"a"}`, "queries"},
	}
	for _, tt := range tests {
		var b body
		err := json.Unmarshal([]byte(tt.json), &b)
		var ute *json.UnmarshalTypeError
		if !errors.As(err, &ute) {
			t.Fatalf("%s: %v, want a type error", tt.json, err)
		}
		if got := PathAt([]byte(tt.json), ute.Offset); got != tt.want {
			t.Errorf("%s: path %q (offset %d, field %q), want %q", tt.json, got, ute.Offset, ute.Field, tt.want)
		}
	}
}
