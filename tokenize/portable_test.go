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
			path := writeTokenizer(t, gloveVocab, map[string]any{"normalizer": tt.normalizer, "truncation": portableCut})
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			out, changed, err := Portable(data, 512)
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
			// Hugging Face must strip the marks Load folds: a StripAccents
			// wrapper would drop spacing marks (Mc) Load keeps.
			var was normalizerConfig
			raw, _ := json.Marshal(tt.normalizer)
			if err := json.Unmarshal(raw, &was); err != nil || foldMarks(&n) != foldMarks(&was) {
				t.Fatalf("normalizer %s strips other marks than Load folds for %s (%v)", top["normalizer"], raw, err)
			}
			if again, twice, _ := Portable(out, 512); twice || !slices.Equal(again, out) {
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

// portableCut is the truncation Portable writes for 512 tokens.
var portableCut = map[string]any{"direction": "Right", "max_length": 512, "strategy": "LongestFirst", "stride": 0}

// Portable states the truncation EncodeBatch applies (retune's max length,
// not the file's) and batch-longest padding, and a file rewritten so
// loads to the same tokenizer.
func TestPortableTruncationAndPadding(t *testing.T) {
	fixed := map[string]any{"strategy": map[string]any{"Fixed": 128}, "direction": "Right", "pad_to_multiple_of": nil,
		"pad_id": 0, "pad_type_id": 0, "pad_token": "[PAD]"}
	tests := []struct {
		name                string
		truncation, padding any
		changed             bool
	}{
		{"already portable, no padding", portableCut, nil, false},
		{"no truncation", nil, nil, true},
		{"truncation at 128", map[string]any{"direction": "Right", "max_length": 128, "strategy": "LongestFirst", "stride": 0}, nil, true},
		{"fixed padding to 128", portableCut, fixed, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeTokenizer(t, gloveVocab, map[string]any{"normalizer": seqNFDStripLower, "truncation": tt.truncation, "padding": tt.padding})
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			out, changed, err := Portable(data, 512)
			if err != nil || changed != tt.changed {
				t.Fatalf("changed = %v (err %v), want %v", changed, err, tt.changed)
			}
			var top struct {
				Truncation map[string]any
				Padding    map[string]any
			}
			if err := json.Unmarshal(out, &top); err != nil {
				t.Fatal(err)
			}
			if top.Truncation["max_length"] != 512.0 || top.Truncation["direction"] != "Right" {
				t.Errorf("truncation %v, want 512 on the right", top.Truncation)
			}
			if tt.padding != nil && (top.Padding["strategy"] != "BatchLongest" || top.Padding["pad_token"] != "[PAD]") {
				t.Errorf("padding %v, want BatchLongest keeping [PAD]", top.Padding)
			}
			if again, twice, _ := Portable(out, 512); twice || !slices.Equal(again, out) {
				t.Error("Portable is not idempotent")
			}
			a, b := mustLoad(t, path), mustLoad(t, writeFile(t, out))
			for _, text := range []string{"the cat sat", "Café au LAIT"} {
				ba, errA := a.EncodeBatch([]string{text})
				bb, errB := b.EncodeBatch([]string{text})
				if errA != nil || errB != nil || !slices.Equal(ba.IDs, bb.IDs) {
					t.Errorf("%q: %v (%v) before, %v (%v) after", text, ba, errA, bb, errB)
				}
			}
		})
	}
}

var seqNFDStripLower = map[string]any{"type": "Sequence", "normalizers": []any{
	map[string]any{"type": "NFD"}, map[string]any{"type": "StripAccents"}, map[string]any{"type": "Lowercase"}}}

func writeFile(t *testing.T, data []byte) string {
	t.Helper()
	path := t.TempDir() + "/tokenizer.json"
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
