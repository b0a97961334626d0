package jsontype

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

type inner struct {
	Epochs int `json:"epochs"`
}

type Embedded struct {
	Shared string `json:"shared"`
}

type request struct {
	Embedded
	Input string            `json:"input"`
	Hyper *inner            `json:"hyperparameters,omitempty"`
	Docs  []inner           `json:"documents"`
	Meta  map[string]inner  `json:"meta"`
	Raw   json.RawMessage   `json:"raw"`
	Free  map[string]string `json:"free"`
	Words []string          `json:"words"`
	Ptrs  []*string         `json:"ptrs"`
	NoTag int
	//lint:ignore U1000 an unexported field: the key check must not take it for the key "hidden"
	hidden int
	Skip   int `json:"-"`
}

func TestExactKeys(t *testing.T) {
	for _, tt := range []struct {
		body string
		path string // "" for no error
		kind string // "case", "twice" or "null"
	}{
		{`{"input":"a","hyperparameters":{"epochs":3},"documents":[{"epochs":1}],"shared":"x","NoTag":1}`, "", ""},
		{`{"raw":{"ANY":1,"any":2},"free":{"Key":"v","key":"w"}}`, "", ""}, // raw JSON and map keys are the client's
		{`{"meta":{"a":null},"free":{"k":null},"raw":{"x":null}}`, "", ""}, // and so are map values
		{`{"bogus":1}`, "bogus", "unknown"},
		{`{"hyperparameters":{"foo":1}}`, "hyperparameters.foo", "unknown"},
		{`{"documents":[{"epochs":1},{"foo":2}]}`, "documents[1].foo", "unknown"},
		{`{"skip":1}`, "skip", "unknown"},     // tagged "-"
		{`{"hidden":1}`, "hidden", "unknown"}, // unexported
		{`{"INPUT":"a"}`, "INPUT", "case"},
		{`{"input":"a","Input":"b"}`, "Input", "case"},
		{`{"Shared":"x"}`, "Shared", "case"}, // promoted from an embedded struct
		{`{"notag":1}`, "notag", "case"},     // untagged fields have their Go name
		{`{"hyperparameters":{"Epochs":3}}`, "hyperparameters.Epochs", "case"},
		{`{"documents":[{"epochs":1},{"EPOCHS":2}]}`, "documents[1].EPOCHS", "case"},
		{`{"meta":{"a":{"Epochs":1}}}`, "meta.a.Epochs", "case"},
		{`{"input":"a","input":"b"}`, "input", "twice"},
		{`{"hyperparameters":{"epochs":1,"epochs":2}}`, "hyperparameters.epochs", "twice"},
		{`{"hyperparameters":null}`, "hyperparameters", "null"},
		{`{"documents":[{"epochs":null}]}`, "documents[0].epochs", "null"},
		{`{"raw":null}`, "raw", "null"},
		{`{"words":["a",null]}`, "words[1]", "null"}, // would read as ""
		{`{"documents":[{"epochs":1},null]}`, "documents[1]", "null"},
		{`{"ptrs":["a",null]}`, "", ""}, // nil says it
	} {
		err := ExactKeys([]byte(tt.body), reflect.TypeFor[*request]())
		var ke *KeyError
		switch {
		case tt.path == "" && err != nil:
			t.Errorf("%s: %v, want no error", tt.body, err)
		case tt.path != "" && !errors.As(err, &ke):
			t.Errorf("%s: %v, want a KeyError at %s", tt.body, err, tt.path)
		case tt.path != "" && (ke.Path != tt.path || ke.Twice != (tt.kind == "twice") || ke.Null != (tt.kind == "null") || ke.Unknown != (tt.kind == "unknown")):
			t.Errorf("%s: %+v, want a %s error at %s", tt.body, ke, tt.kind, tt.path)
		}
	}
}
