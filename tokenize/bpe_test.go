package tokenize

import (
	"slices"
	"testing"
)

// TestBPE loads a tiny RoBERTa-shaped file (byte-level BPE, RobertaProcessing,
// no padding section) to check BPE support end to end: merges, <s>/</s>
// wrapping, <pad> as pad id, and the chunk cache staying off because
// byte-level pre-tokenisation keeps the space inside the next token.
func TestBPE(t *testing.T) {
	tok := mustLoad(t, robertaTiny(t))
	if tok.cache != nil {
		t.Error("chunk cache enabled for a byte-level pipeline")
	}
	b, err := tok.EncodeBatch([]string{"hello world", "hello"})
	if err != nil {
		t.Fatal(err)
	}
	wantIDs := []int64{0, 15, 20, 2, 0, 15, 2, 1}
	wantMask := []int64{1, 1, 1, 1, 1, 1, 1, 0}
	if !slices.Equal(b.IDs, wantIDs) || !slices.Equal(b.Mask, wantMask) {
		t.Errorf("IDs %v Mask %v, want %v %v", b.IDs, b.Mask, wantIDs, wantMask)
	}
	if toks, err := tok.Tokens("hello world"); err != nil || !slices.Equal(toks, []string{"hello", "Ġworld"}) {
		t.Errorf("Tokens = %q, %v", toks, err)
	}
}

// robertaTiny is TestBPE's file, with RoBERTa's <mask> (lstrip) added.
func robertaTiny(t *testing.T) string {
	t.Helper()
	vocab := []string{"<s>", "<pad>", "</s>", "<unk>", "h", "e", "l", "o", "Ġ", "w", "r", "d",
		"he", "ll", "hell", "hello", "Ġw", "or", "Ġwor", "ld", "Ġworld", "<mask>"}
	merges := []string{"h e", "l l", "he ll", "hell o", "Ġ w", "o r", "Ġw or", "l d", "Ġwor ld"}
	ids := make(map[string]int, len(vocab))
	for i, w := range vocab {
		ids[w] = i
	}
	var added []any
	for _, c := range []string{"<s>", "<pad>", "</s>", "<unk>", "<mask>"} {
		added = append(added, addedToken(ids[c], c, true, c == "<mask>", false, false, false))
	}
	return writeTokenizer(t, nil, map[string]any{
		"added_tokens":  added,
		"normalizer":    nil,
		"pre_tokenizer": map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true},
		"post_processor": map[string]any{"type": "RobertaProcessing", "sep": []any{"</s>", 2}, "cls": []any{"<s>", 0},
			"trim_offsets": true, "add_prefix_space": false},
		"model": map[string]any{"type": "BPE", "vocab": ids, "merges": merges, "dropout": nil,
			"unk_token": "<unk>", "continuing_subword_prefix": nil, "end_of_word_suffix": nil},
	})
}

// TestByteLevelLiteralsAsHuggingFace pins Hugging Face's ids (tokenizers
// 0.23.2) for added tokens written in a text under a ByteLevel
// pre-tokenizer, which retune finds itself (own.go): sugarme dropped them.
func TestByteLevelLiteralsAsHuggingFace(t *testing.T) {
	tok := mustLoad(t, robertaTiny(t))
	if tok.own == nil {
		t.Fatal("retune does not find the added tokens")
	}
	for text, want := range map[string][]int64{
		"hello <mask> world": {0, 15, 21, 20, 2},
		"<s>hello</s> world": {0, 0, 15, 2, 20, 2},
		"hello<mask>world":   {0, 15, 21, 9, 17, 19, 2},
		" <mask>hello":       {0, 21, 15, 2},
	} {
		b, err := tok.EncodeBatch([]string{text})
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		if got := rowIDs(b, 0); !slices.Equal(got, want) {
			t.Errorf("%q: %v, Hugging Face %v", text, got, want)
		}
	}
}
