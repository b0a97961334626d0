package api

import (
	"net/http/httptest"
	"testing"
)

func TestWantsEventStream(t *testing.T) {
	for _, tc := range []struct {
		accept string
		want   bool
	}{
		{"", false},
		{"text/event-stream", true}, // what EventSource sends
		{"TEXT/Event-Stream", true},
		{"application/json", false},
		{"application/json, text/event-stream", true}, // equal weights: the stream, named
		{"text/event-stream;q=0.5, application/json", false},
		{"text/event-stream, application/json;q=0.5", true},
		{"text/event-stream;q=0", false},
		{"*/*;q=0.1, text/event-stream;q=0.5", true},
		{"text/event-stream;q=0.5, application/*", false},
		{"text/event-stream;q=0.9, application/json;q=0.2, */*", true}, // the exact JSON match rules over */*
		{"text/event-stream;q=bogus", false},
		{"text/*", true}, // JSON is not acceptable at all
		{"text/*;q=0.5, application/json", false},
		{"text/*, text/event-stream;q=0", false}, // the name rules over the wildcard
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Accept", tc.accept)
		if got := wantsEventStream(r); got != tc.want {
			t.Errorf("Accept %q: stream %v, want %v", tc.accept, got, tc.want)
		}
	}
}
