package api

import "testing"

// A Content-Type is named in words when it is refused: a malformed one
// gave the mime package's ("mime: expected token after slash").
func TestCheckContentType(t *testing.T) {
	tests := []struct {
		header, want string // want "": accepted
	}{
		{"application/json", ""},
		{"Application/JSON; charset=UTF-8", ""},
		{"", ""},
		{"application/", `Content-Type "application/" is not a valid media type: send application/json`},
		{"/json; charset=utf-8", `Content-Type "/json; charset=utf-8" is not a valid media type: send application/json`},
		{"application/json; charset", `Content-Type "application/json; charset" has a malformed or repeated parameter (each is name=value, once, after a ';'): send application/json`},
		{"application/json; charset=utf-8; charset=latin1", `Content-Type "application/json; charset=utf-8; charset=latin1" has a malformed or repeated parameter (each is name=value, once, after a ';'): send application/json`},
		{"json", `Content-Type "json" is not a valid media type (type/subtype): send application/json`},
		{"JSON; charset=utf-8", `Content-Type "JSON; charset=utf-8" is not a valid media type (type/subtype): send application/json`},
		{"text/plain", `content type "text/plain": send application/json`},
		{"application/json; charset=latin1", `charset "latin1": send the JSON as UTF-8`},
	}
	for _, tt := range tests {
		if got := checkJSONContentType(tt.header); got != tt.want {
			t.Errorf("checkJSONContentType(%q) = %q, want %q", tt.header, got, tt.want)
		}
	}
	if got, want := checkMultipartContentType("multipart/"), `Content-Type "multipart/" is not a valid media type: send multipart/form-data`; got != want {
		t.Errorf("checkMultipartContentType(%q) = %q, want %q", "multipart/", got, want)
	}
}
