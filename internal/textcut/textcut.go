// Package textcut shortens text for messages without splitting a
// character: errors and logs quote what clients and servers sent, cut to a
// size, and a cut inside a UTF-8 sequence would make the message invalid.
package textcut

import "unicode/utf8"

// Prefix is the longest prefix of s of at most n bytes that ends on a
// character boundary (s itself when it fits).
func Prefix(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := max(n, 0)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}
