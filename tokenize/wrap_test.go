package tokenize

import (
	"slices"
	"testing"
)

func TestWrap(t *testing.T) {
	vocab := append(slices.Clone(gloveVocab), "[CLS]", "[SEP]") // ids 10, 11
	special := func(tok string, typ int) map[string]any {
		return map[string]any{"SpecialToken": map[string]any{"id": tok, "type_id": typ}}
	}
	template := map[string]any{
		"type": "TemplateProcessing",
		// Content typed 1 so the test sees type ids come from the template.
		"single": []any{special("[CLS]", 0), map[string]any{"Sequence": map[string]any{"id": "A", "type_id": 1}}, special("[SEP]", 2)},
		"pair":   []any{special("[CLS]", 0), map[string]any{"Sequence": map[string]any{"id": "A", "type_id": 0}}, special("[SEP]", 0)},
		"special_tokens": map[string]any{
			"[CLS]": map[string]any{"id": "[CLS]", "ids": []int{10}, "tokens": []string{"[CLS]"}},
			"[SEP]": map[string]any{"id": "[SEP]", "ids": []int{11}, "tokens": []string{"[SEP]"}},
		},
	}
	bertProcessing := map[string]any{"type": "BertProcessing", "sep": []any{"[SEP]", 11}, "cls": []any{"[CLS]", 10}}
	tests := []struct {
		name      string
		path      string
		text      string
		wantIDs   []int64
		wantTypes []int64
	}{
		{"bert file", bertPath(t), "hello world", []int64{bertCLS, 7592, 2088, bertSEP}, []int64{0, 0, 0, 0}},
		{"no post-processor", writeTokenizer(t, vocab, nil), "cat sat", []int64{3, 4}, []int64{0, 0}},
		{"template type ids", writeTokenizer(t, vocab, map[string]any{"post_processor": template}), "cat sat",
			[]int64{10, 3, 4, 11}, []int64{0, 1, 1, 2}},
		{"BertProcessing", writeTokenizer(t, vocab, map[string]any{"post_processor": bertProcessing}), "cat sat",
			[]int64{10, 3, 4, 11}, []int64{0, 0, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := mustLoad(t, tt.path)
			b, err := tok.EncodeBatch([]string{tt.text})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(b.IDs, tt.wantIDs) || !slices.Equal(b.TypeIDs, tt.wantTypes) {
				t.Errorf("IDs %v TypeIDs %v, want %v %v", b.IDs, b.TypeIDs, tt.wantIDs, tt.wantTypes)
			}
		})
	}
}
