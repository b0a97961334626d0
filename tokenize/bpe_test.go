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
	vocab := []string{"<s>", "<pad>", "</s>", "<unk>", "h", "e", "l", "o", "Ġ", "w", "r", "d",
		"he", "ll", "hell", "hello", "Ġw", "or", "Ġwor", "ld", "Ġworld"}
	merges := []string{"h e", "l l", "he ll", "hell o", "Ġ w", "o r", "Ġw or", "l d", "Ġwor ld"}
	ids := make(map[string]int, len(vocab))
	for i, w := range vocab {
		ids[w] = i
	}
	path := writeTokenizer(t, nil, map[string]any{
		"normalizer":    nil,
		"pre_tokenizer": map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true},
		"post_processor": map[string]any{"type": "RobertaProcessing", "sep": []any{"</s>", 2}, "cls": []any{"<s>", 0},
			"trim_offsets": true, "add_prefix_space": false},
		"model": map[string]any{"type": "BPE", "vocab": ids, "merges": merges, "dropout": nil,
			"unk_token": "<unk>", "continuing_subword_prefix": nil, "end_of_word_suffix": nil},
	})
	tok := mustLoad(t, path)
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
