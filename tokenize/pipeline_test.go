package tokenize

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"reflect"
	"slices"
	"testing"

	"github.com/sugarme/tokenizer/pretrained"
)

// TestParseFileMatchesFromReader: parseFile builds the pipeline sugarme's
// own pretrained.FromReader builds, less padding and truncation (same
// vocabulary, same encodings with special tokens), and reads the same fileConfig a plain json.Unmarshal
// does, for each kind of model it handles itself and one it hands on.
func TestParseFileMatchesFromReader(t *testing.T) {
	bpeVocab := map[string]int{"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "h": 4, "e": 5, "l": 6, "o": 7,
		"Ġ": 8, "w": 9, "r": 10, "d": 11, "he": 12, "ll": 13, "hell": 14, "hello": 15}
	files := []struct {
		name string
		path func(t *testing.T) string
	}{
		{"bert WordPiece", func(t *testing.T) string { return bertPath(t) }},
		{"glove-100d WordLevel", func(t *testing.T) string { return gloveFile(t) }},
		{"WordLevel, default unk", func(t *testing.T) string {
			return writeTokenizer(t, append(slices.Clone(gloveVocab), "<unk>"), map[string]any{
				"model": map[string]any{"type": "WordLevel", "vocab": vocabIDs(append(slices.Clone(gloveVocab), "<unk>"))}})
		}},
		{"WordPiece, own unk and max chars", func(t *testing.T) string {
			v := append(slices.Clone(gloveVocab), "##s", "<oov>")
			return writeTokenizer(t, v, map[string]any{"model": map[string]any{"type": "WordPiece",
				"vocab": vocabIDs(v), "unk_token": "<oov>", "max_input_chars_per_word": 6, "continuing_subword_prefix": "##"}})
		}},
		{"BPE via CreateModel", func(t *testing.T) string {
			return writeTokenizer(t, nil, map[string]any{
				"normalizer":    nil,
				"pre_tokenizer": map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true},
				"model": map[string]any{"type": "BPE", "vocab": bpeVocab, "merges": []string{"h e", "l l", "he ll", "hell o"},
					"dropout": nil, "unk_token": "<unk>", "continuing_subword_prefix": nil, "end_of_word_suffix": nil},
			})
		}},
	}
	texts := []string{"hello world", "The cats sat.", "unbelievable things happen", "", "a [UNK] b", "sats cats"}
	for _, f := range files {
		t.Run(f.name, func(t *testing.T) {
			data, err := os.ReadFile(f.path(t))
			if err != nil {
				t.Fatal(err)
			}
			cfg, got, err := parseFile(data, false) // sugarme's whole pipeline, as FromReader builds it
			if err != nil {
				t.Fatal(err)
			}
			want, err := pretrained.FromReader(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			want.WithPadding(nil) // parseFile leaves both to Load, which removes them
			want.WithTruncation(nil)
			var wantCfg fileConfig
			if err := json.Unmarshal(data, &wantCfg); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(cfg, wantCfg) {
				t.Errorf("fileConfig %+v, json.Unmarshal gives %+v", cfg, wantCfg)
			}
			if !maps.Equal(got.GetModel().GetVocab(), want.GetModel().GetVocab()) {
				t.Fatalf("vocabularies differ (%d vs %d entries)", len(got.GetModel().GetVocab()), len(want.GetModel().GetVocab()))
			}
			for _, text := range texts {
				g, gerr := got.EncodeSingle(text, true)
				w, werr := want.EncodeSingle(text, true)
				if (gerr == nil) != (werr == nil) {
					t.Fatalf("%q: error %v, FromReader's %v", text, gerr, werr)
				}
				if gerr == nil && (!slices.Equal(g.Ids, w.Ids) || !slices.Equal(g.Tokens, w.Tokens)) {
					t.Errorf("%q: %v %q, FromReader's %v %q", text, g.Ids, g.Tokens, w.Ids, w.Tokens)
				}
			}
		})
	}
}

func vocabIDs(words []string) map[string]int {
	ids := make(map[string]int, len(words))
	for i, w := range words {
		ids[w] = i
	}
	return ids
}
