package api

import (
	"testing"

	"retune/negatives"
)

// The credentials a job's base URL carried are split off at submission and
// put back, unchanged, when the job calls its endpoint.
func TestURLUserRoundTrip(t *testing.T) {
	for _, raw := range []string{
		"http://user:s3cret@llm.example:8000/v1",
		"https://only-user@llm.example/v1",
		"http://u:p%40ss%3Aw@host/v1", // '@' and ':' in the password, escaped
		"http://host/v1",
	} {
		user, shown := urlUser(raw), negatives.RedactURL(raw)
		if got := withURLUser(shown, user); got != raw {
			t.Errorf("%s: split into %q + %q, rebuilt as %q", raw, shown, user, got)
		}
	}
}
