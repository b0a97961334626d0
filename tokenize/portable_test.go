package tokenize

import (
	"encoding/json"
	"os"
	"slices"
	"testing"
)

// Portable rewrites exactly the normalizers Hugging Face would not fold
// accents with, and the rewritten file tokenizes as the original does here.
func TestPortable(t *testing.T) {
	lower := map[string]any{"type": "Lowercase"}
	seq := func(ns ...map[string]any) map[string]any {
		return map[string]any{"type": "Sequence", "normalizers": ns}
	}
	tests := []struct {
		name       string
		normalizer any
		changed    bool
	}{
		{"bare Lowercase", lower, true},
		{"Sequence of Lowercase", seq(lower), true},
		{"StripAccents without NFD", seq(map[string]any{"type": "StripAccents"}, lower), true},
		{"NFD, StripAccents, Lowercase", seq(map[string]any{"type": "NFD"}, map[string]any{"type": "StripAccents"}, lower), false},
		{"BertNormalizer lowercasing", map[string]any{"type": "BertNormalizer", "lowercase": true, "strip_accents": nil}, false},
		{"no normalizer", nil, false},
		{"NFC only", map[string]any{"type": "NFC"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeTokenizer(t, gloveVocab, map[string]any{"normalizer": tt.normalizer})
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			out, changed, err := Portable(data)
			if err != nil {
				t.Fatal(err)
			}
			if changed != tt.changed {
				t.Fatalf("changed = %v, want %v", changed, tt.changed)
			}
			if !changed {
				if !slices.Equal(out, data) {
					t.Fatal("unchanged file was rewritten")
				}
				return
			}
			var top map[string]json.RawMessage
			if err := json.Unmarshal(out, &top); err != nil {
				t.Fatal(err)
			}
			var n normalizerConfig
			if err := json.Unmarshal(top["normalizer"], &n); err != nil || !hfStripsAccents(&n) {
				t.Fatalf("normalizer %s (%v) still keeps accents in Hugging Face", top["normalizer"], err)
			}
			if again, twice, _ := Portable(out); twice || !slices.Equal(again, out) {
				t.Error("Portable is not idempotent")
			}
			rewritten := writeFile(t, out)
			for _, text := range []string{"Café au LAIT", "the cat sat"} {
				before, err1 := mustLoad(t, path).Tokens(text)
				after, err2 := mustLoad(t, rewritten).Tokens(text)
				if err1 != nil || err2 != nil || !slices.Equal(before, after) {
					t.Errorf("%q: tokens %q (%v) before, %q (%v) after", text, before, err1, after, err2)
				}
			}
		})
	}
}

func writeFile(t *testing.T, data []byte) string {
	t.Helper()
	path := t.TempDir() + "/tokenizer.json"
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
