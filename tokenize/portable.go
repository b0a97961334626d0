package tokenize

import (
	"encoding/json"
	"fmt"
)

// Portable returns a tokenizer.json (data) with its normalizer made explicit
// enough that Hugging Face tokenizers gives the tokens a Tokenizer loaded
// from data gives. Load folds accents whenever the normalizer lowercases
// (wantsFolding), because lowercase vocabularies hold accent-free words;
// Hugging Face does that only inside BertNormalizer. A bare "Lowercase", or
// a Sequence without NFD then StripAccents, would leave "café" an unknown
// word there, so such a normalizer n becomes Sequence[NFD, StripAccents, n].
// Everything else is kept byte for byte; changed is false when data is
// already portable (and then out is data).
func Portable(data []byte) (out []byte, changed bool, err error) {
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
	if !wantsFolding(n) || hfStripsAccents(n) {
		return data, false, nil
	}
	wrapped, err := json.Marshal(map[string]any{
		"type": "Sequence",
		"normalizers": []json.RawMessage{
			json.RawMessage(`{"type":"NFD"}`), json.RawMessage(`{"type":"StripAccents"}`), top["normalizer"],
		},
	})
	if err != nil {
		return nil, false, err
	}
	top["normalizer"] = wrapped
	out, err = json.Marshal(top)
	if err != nil {
		return nil, false, err
	}
	return out, true, nil
}

// hfStripsAccents reports whether Hugging Face's normalizer n removes
// accents from precomposed characters: a BertNormalizer whose strip_accents
// is true, or null with lowercase on (it decomposes first), or a Sequence
// with NFD (or NFKD) before a StripAccents.
func hfStripsAccents(n *normalizerConfig) bool {
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
