package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// requireAPIKey admits a request only with `Authorization: Bearer <key>` for
// one of keys; GET and HEAD /healthz stay open so probes need no secret. With no
// usable key configured it lets everything through (a loopback-only
// default deployment).
//
// Keys are compared as SHA-256 digests with subtle.ConstantTimeCompare, and
// every configured key is checked on every request, so neither the length
// of a key nor which key matched shows in the response time. Blank keys
// are dropped: a "" key would otherwise admit "Authorization: Bearer ".
func requireAPIKey(keys []string) gin.HandlerFunc {
	var digests [][sha256.Size]byte
	for _, k := range keys {
		if k = strings.TrimSpace(k); k != "" {
			digests = append(digests, sha256.Sum256([]byte(k)))
		}
	}
	return func(c *gin.Context) {
		if len(digests) == 0 || ((c.Request.Method == http.MethodGet || c.Request.Method == http.MethodHead) && c.Request.URL.Path == "/healthz") {
			c.Next()
			return
		}
		h := c.GetHeader("Authorization")
		token, ok := bearerToken(h)
		if !ok {
			msg := "missing API key: send the header \"Authorization: Bearer <key>\""
			if h != "" {
				msg = "the Authorization header must be \"Bearer <API key>\""
			}
			unauthorized(c, msg)
			return
		}
		got := sha256.Sum256([]byte(token))
		match := 0
		for i := range digests {
			match |= subtle.ConstantTimeCompare(got[:], digests[i][:])
		}
		if match != 1 {
			unauthorized(c, "invalid API key")
			return
		}
		c.Next()
	}
}

// bearerToken extracts the credentials of an RFC 6750 bearer header; the
// scheme name is case-insensitive (RFC 9110 §11.1).
func bearerToken(header string) (string, bool) {
	scheme, token, found := strings.Cut(strings.TrimSpace(header), " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// unauthorized answers 401 with the challenge RFC 6750 asks for.
func unauthorized(c *gin.Context, msg string) {
	c.Header("WWW-Authenticate", `Bearer realm="retune"`)
	abort(c, http.StatusUnauthorized, codeUnauthorized, msg)
}
