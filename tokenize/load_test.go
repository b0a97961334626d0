package tokenize

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoad(t *testing.T) {
	tests := []struct {
		name          string
		path          string
		opts          []Option
		wantMaxLength int
		wantVocab     int
	}{
		{"bert defaults", bertPath(t), nil, DefaultMaxLength, 30522},
		{"bert explicit max length", bertPath(t), []Option{WithMaxLength(128)}, 128, 30522},
		{"wordlevel", writeTokenizer(t, gloveVocab, nil), nil, DefaultMaxLength, len(gloveVocab)},
		{"wordlevel added token beyond vocab", writeTokenizer(t, gloveVocab, map[string]any{
			"added_tokens": []any{map[string]any{"id": 20, "content": "[MASK]", "special": true,
				"single_word": false, "lstrip": false, "rstrip": false, "normalized": false}},
		}), nil, DefaultMaxLength, 21},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := Load(tt.path, tt.opts...)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if tok.MaxLength() != tt.wantMaxLength || tok.VocabSize() != tt.wantVocab {
				t.Errorf("MaxLength/VocabSize = %d/%d, want %d/%d", tok.MaxLength(), tok.VocabSize(), tt.wantMaxLength, tt.wantVocab)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	write := func(content string) string {
		p := filepath.Join(t.TempDir(), "tokenizer.json")
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name    string
		path    string
		opts    []Option
		wantMsg string
	}{
		{"missing file", filepath.Join(t.TempDir(), "nope.json"), nil, "no such file"},
		{"not JSON", write("{"), nil, "parse"},
		// sugarme panics on a WordLevel model without a vocab.
		{"model sugarme cannot build", write(`{"model":{"type":"WordLevel"}}`), nil, "unsupported tokenizer.json"},
		{"max length only fits [CLS] [SEP]", bertPath(t), []Option{WithMaxLength(2)}, "no room"},
		{"max length zero", writeTokenizer(t, gloveVocab, nil), []Option{WithMaxLength(0)}, "no room"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := Load(tt.path, tt.opts...)
			if err == nil {
				t.Fatalf("Load succeeded (%+v), want error containing %q", tok, tt.wantMsg)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not contain %q", err, tt.wantMsg)
			}
		})
	}
}
