package index

import (
	"slices"
	"testing"
)

func TestTokens(t *testing.T) {
	tests := []struct {
		text string
		want []string
	}{
		{"Café au LAIT", []string{"cafe", "au", "lait"}},
		{"IL-6's role", []string{"il", "6", "s", "role"}},
		{"0.5mg/kg", []string{"0", "5mg", "kg"}},
		{"naïve Ångström", []string{"naive", "angstrom"}},
		{"cafe\u0301", []string{"cafe"}},                   // decomposed accent: dropped, no split
		{"β-amyloid ΑΒΓ", []string{"β", "amyloid", "αβγ"}}, // Greek is kept, lowercased
		{"日本語abc", []string{"日", "本", "語", "abc"}},         // ideographs are one term each
		{"हिंदी", []string{"हिदी"}},                        // Devanagari: Mc vowel signs keep the word whole, Mn anusvara dropped
		{"  \t\n", nil},
		{"", nil},
		{"--", nil},
	}
	for _, tt := range tests {
		if got := tokens(tt.text); !slices.Equal(got, tt.want) {
			t.Errorf("tokens(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}

func TestTokenizeReusesBuffer(t *testing.T) {
	// The returned buffer is reused by the next call, and the terms of the
	// second text must not be polluted by the first.
	buf := tokenize("Alpha beta", nil, func([]byte) {})
	var got []string
	tokenize("gamma", buf, func(term []byte) { got = append(got, string(term)) })
	if !slices.Equal(got, []string{"gamma"}) {
		t.Errorf("got %q", got)
	}
}
