package negatives

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// RedactURL drops the user information (credentials) from a URL, so a base
// URL can be shown, logged and stored. A URL Go cannot parse (a password
// with an unescaped '#', '%' or space) loses everything between "://" and
// its last '@' instead; other text comes back unchanged.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err == nil {
		if u.User == nil {
			return raw
		}
		u.User = nil
		return u.String()
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if at := strings.LastIndex(rest, "@"); ok && at >= 0 {
		return scheme + "://" + rest[at+1:]
	}
	return raw
}

// CheckBaseURL refuses a base URL that is not an absolute http(s) URL, in
// words that never repeat its credentials.
func CheckBaseURL(raw string) error {
	if raw == "" {
		return nil // api.openai.com
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("LLM base URL %q is not an http(s) URL (a password with '#', '%%', '/' or a space must be percent-encoded)", RedactURL(raw))
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("LLM base URL %s: port %s is not a port (1-65535)", RedactURL(raw), p)
		}
	}
	if u.RawQuery != "" || u.ForceQuery || strings.Contains(raw, "#") { // "#" alone too: an empty fragment
		// The client appends /chat/completions to the base URL as text:
		// after a query it would land inside it. The query is not
		// repeated, as it may carry a key.
		shown := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
		return fmt.Errorf("LLM base URL %s must not have a query (?…) or fragment (#…): give the path only, "+
			"and Azure's api-version as OPENAI_API_VERSION", shown.String())
	}
	return nil
}
