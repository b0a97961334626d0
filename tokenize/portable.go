package tokenize

import (
	"encoding/json"
	"fmt"
	"reflect"
)

// Portable returns a tokenizer.json (data) that Hugging Face tokenizers
// reads as Load does, for an encoder cutting texts at maxLength tokens
// (special tokens included). Two things differ otherwise:
//
//   - Load folds accents whenever the normalizer lowercases (wantsFolding),
//     because lowercase vocabularies hold accent-free words; Hugging Face
//     does that only inside BertNormalizer. A bare "Lowercase", or a
//     Sequence without NFD then StripAccents, would leave "café" an unknown
//     word there, so such a normalizer n becomes Sequence[BertNormalizer
//     stripping accents only, n]: it decomposes and drops nonspacing marks
//     (Mn), as Load's folding does for such files (foldMarks), where NFD
//     then StripAccents would also drop spacing and enclosing ones (a
//     Devanagari vowel sign).
//   - Load ignores the file's truncation and padding (EncodeBatch cuts at
//     maxLength, on the right, and pads to the batch's longest text), so
//     both are written to say that: a file truncating at 128 would give
//     other vectors for longer texts, and a fixed padding would make a
//     batch of longer texts ragged.
//
// Everything else is kept byte for byte; changed is false when data is
// already portable (and then out is data).
func Portable(data []byte, maxLength int) (out []byte, changed bool, err error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, false, fmt.Errorf("tokenize: portable: %w", err)
	}
	var n *normalizerConfig
	if raw, ok := top["normalizer"]; ok {
		if err := json.Unmarshal(raw, &n); err != nil {
			return nil, false, fmt.Errorf("tokenize: portable: normalizer: %w", err)
		}
	}
	if wantsFolding(n) && !hfStripsAccents(n) {
		wrapped, err := json.Marshal(map[string]any{
			"type": "Sequence",
			"normalizers": []json.RawMessage{
				json.RawMessage(stripMn), top["normalizer"],
			},
		})
		if err != nil {
			return nil, false, err
		}
		top["normalizer"], changed = wrapped, true
	}
	for _, fix := range []func(map[string]json.RawMessage, int) (bool, error){portableTruncation, portablePadding} {
		c, err := fix(top, maxLength)
		if err != nil {
			return nil, false, fmt.Errorf("tokenize: portable: %w", err)
		}
		changed = changed || c
	}
	if !changed {
		return data, false, nil
	}
	out, err = json.Marshal(top)
	if err != nil {
		return nil, false, err
	}
	return out, true, nil
}

// stripMn is Hugging Face's BertNormalizer doing nothing but strip_accents:
// NFD, then drop nonspacing marks.
const stripMn = `{"type":"BertNormalizer","clean_text":false,"handle_chinese_chars":false,"strip_accents":true,"lowercase":false}`

// portableTruncation makes top's truncation EncodeBatch's: maxLength
// tokens, cut on the right.
func portableTruncation(top map[string]json.RawMessage, maxLength int) (bool, error) {
	want := map[string]any{"direction": "Right", "max_length": float64(maxLength), "strategy": "LongestFirst", "stride": float64(0)}
	var have map[string]any
	if raw, ok := top["truncation"]; ok {
		if err := json.Unmarshal(raw, &have); err != nil {
			return false, fmt.Errorf("truncation: %w", err)
		}
	}
	if reflect.DeepEqual(have, want) {
		return false, nil
	}
	raw, err := json.Marshal(want)
	top["truncation"] = raw
	return true, err
}

// portablePadding makes a padding section pad to the batch's longest text,
// keeping its pad token and side. A file without one stays without.
func portablePadding(top map[string]json.RawMessage, _ int) (bool, error) {
	raw, ok := top["padding"]
	if !ok || string(raw) == "null" {
		return false, nil
	}
	var p map[string]any
	if err := json.Unmarshal(raw, &p); err != nil {
		return false, fmt.Errorf("padding: %w", err)
	}
	if p["strategy"] == "BatchLongest" && p["pad_to_multiple_of"] == nil {
		return false, nil
	}
	p["strategy"], p["pad_to_multiple_of"] = "BatchLongest", nil
	raw, err := json.Marshal(p)
	top["padding"] = raw
	return true, err
}

// hfStripsAccents reports whether Hugging Face's normalizer n removes
// accents from precomposed characters: a BertNormalizer whose strip_accents
// is true, or null with lowercase on (it decomposes first), or a Sequence
// with NFD (or NFKD) before a StripAccents.
func hfStripsAccents(n *normalizerConfig) bool {
	if n == nil {
		return false
	}
	switch n.Type {
	case "BertNormalizer":
		if n.StripAccents != nil {
			return *n.StripAccents
		}
		return n.Lowercase != nil && *n.Lowercase
	case "Sequence":
		decomposed := false
		for i := range n.Normalizers {
			switch m := &n.Normalizers[i]; m.Type {
			case "NFD", "NFKD":
				decomposed = true
			case "NFC", "NFKC":
				decomposed = false
			case "StripAccents":
				if decomposed {
					return true
				}
			default:
				if hfStripsAccents(m) {
					return true
				}
			}
		}
	}
	return false
}
