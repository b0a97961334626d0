package tokenize

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
)

// checkBatchShape verifies the invariants every batch must hold: slice
// sizes, masks of the form 1..1 0..0 (right padding), pad id and type 0 under
// the mask, nothing longer than MaxLength.
func checkBatchShape(t *testing.T, b *Batch, maxLen int, padID int64) {
	t.Helper()
	if n := b.Size * b.SeqLen; len(b.IDs) != n || len(b.Mask) != n || len(b.TypeIDs) != n {
		t.Fatalf("slice lengths %d/%d/%d, want %d x %d", len(b.IDs), len(b.Mask), len(b.TypeIDs), b.Size, b.SeqLen)
	}
	if b.SeqLen > maxLen {
		t.Errorf("SeqLen %d exceeds MaxLength %d", b.SeqLen, maxLen)
	}
	longest := 0
	for i := range b.Size {
		tokens := 0
		for j := range b.SeqLen {
			k := i*b.SeqLen + j
			switch m := b.Mask[k]; {
			case m == 1 && tokens == j:
				tokens++
			case m == 0:
				if b.IDs[k] != padID || b.TypeIDs[k] != 0 {
					t.Errorf("row %d pos %d: padding has id %d type %d, want %d/0", i, j, b.IDs[k], b.TypeIDs[k], padID)
				}
			default:
				t.Fatalf("row %d: mask %v is not ones followed by zeros", i, b.Mask[i*b.SeqLen:(i+1)*b.SeqLen])
			}
			if b.TypeIDs[k] != 0 {
				t.Errorf("row %d pos %d: type id %d, want 0 for a single sentence", i, j, b.TypeIDs[k])
			}
		}
		longest = max(longest, tokens)
	}
	if longest != b.SeqLen {
		t.Errorf("SeqLen %d, but the longest row has %d tokens: padding is not batch-longest", b.SeqLen, longest)
	}
}

func TestEncodeBatchBERT(t *testing.T) {
	short := []string{"hello world", "a slightly longer sentence about dense retrieval"}
	long := words("word", 2000)
	tests := []struct {
		name          string
		opts          []Option
		texts         []string
		wantSeqLen    int
		wantTruncated int
		wantRows      map[int][]int64 // unpadded ids of selected rows
	}{
		{
			name:       "known sentence ids",
			texts:      []string{"hello world"},
			wantSeqLen: 4,
			wantRows:   map[int][]int64{0: {bertCLS, 7592, 2088, bertSEP}},
		},
		{
			name:       "padding is batch-longest, not the file's fixed 128",
			texts:      short,
			wantSeqLen: 9, // [CLS] + 7 words + [SEP] for the longer text
			wantRows:   map[int][]int64{0: {bertCLS, 7592, 2088, bertSEP}},
		},
		{
			name:          "2000 words truncate to default MaxLength",
			texts:         []string{long},
			wantSeqLen:    DefaultMaxLength,
			wantTruncated: 1,
		},
		{
			name:          "explicit MaxLength, mixed batch",
			opts:          []Option{WithMaxLength(16)},
			texts:         []string{"hello world", long, words("word", 14), words("word", 15)},
			wantSeqLen:    16,
			wantTruncated: 2, // 14 words + 2 specials fit exactly; 15 do not
			wantRows:      map[int][]int64{0: {bertCLS, 7592, 2088, bertSEP}},
		},
		{
			name:          "MaxLength above the file's truncation of 128",
			opts:          []Option{WithMaxLength(300)},
			texts:         []string{long},
			wantSeqLen:    300,
			wantTruncated: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := loadBERT(t, tt.opts...)
			b, err := tok.EncodeBatch(tt.texts)
			if err != nil {
				t.Fatalf("EncodeBatch: %v", err)
			}
			if b.Size != len(tt.texts) || b.SeqLen != tt.wantSeqLen || b.Truncated != tt.wantTruncated {
				t.Errorf("Size/SeqLen/Truncated = %d/%d/%d, want %d/%d/%d",
					b.Size, b.SeqLen, b.Truncated, len(tt.texts), tt.wantSeqLen, tt.wantTruncated)
			}
			checkBatchShape(t, b, tok.MaxLength(), bertPad)
			for i := range b.Size {
				ids := rowIDs(b, i)
				if ids[0] != bertCLS || ids[len(ids)-1] != bertSEP {
					t.Errorf("row %d: starts %d ends %d, want [CLS]=%d ... [SEP]=%d", i, ids[0], ids[len(ids)-1], bertCLS, bertSEP)
				}
				if want, ok := tt.wantRows[i]; ok && !slices.Equal(ids, want) {
					t.Errorf("row %d ids = %v, want %v", i, ids, want)
				}
			}
		})
	}
}

func TestEncodeBatchWordLevel(t *testing.T) {
	tests := []struct {
		name      string
		vocab     []string
		extra     map[string]any
		opts      []Option
		texts     []string
		wantIDs   []int64 // full padded IDs
		wantMask  []int64
		wantTrunc int
	}{
		{
			name:     "no post-processor adds no special tokens, pads with [PAD]",
			vocab:    gloveVocab,
			texts:    []string{"The cat sat", "on the mat"},
			wantIDs:  []int64{2, 3, 4, 5, 2, 6},
			wantMask: []int64{1, 1, 1, 1, 1, 1},
		},
		{
			name:     "pad id falls back to <pad> in the vocab",
			vocab:    []string{"[UNK]", "the", "cat", "<pad>"},
			texts:    []string{"the cat", "cat"},
			wantIDs:  []int64{1, 2, 2, 3},
			wantMask: []int64{1, 1, 1, 0},
		},
		{
			name:  "file's pad id and left direction kept, its Fixed size ignored",
			vocab: gloveVocab,
			extra: map[string]any{"padding": map[string]any{
				"strategy": map[string]any{"Fixed": 64}, "direction": "Left",
				"pad_id": 7, "pad_type_id": 0, "pad_token": "au", "pad_to_multiple_of": nil,
			}},
			texts:    []string{"the cat", "cat"},
			wantIDs:  []int64{2, 3, 7, 3},
			wantMask: []int64{1, 1, 0, 1},
		},
		{
			name:      "truncation without special tokens",
			vocab:     gloveVocab,
			opts:      []Option{WithMaxLength(3)},
			texts:     []string{"the cat sat on the mat", "mat"},
			wantIDs:   []int64{2, 3, 4, 6, 0, 0},
			wantMask:  []int64{1, 1, 1, 1, 0, 0},
			wantTrunc: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := Load(writeTokenizer(t, tt.vocab, tt.extra), tt.opts...)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			b, err := tok.EncodeBatch(tt.texts)
			if err != nil {
				t.Fatalf("EncodeBatch: %v", err)
			}
			if !slices.Equal(b.IDs, tt.wantIDs) || !slices.Equal(b.Mask, tt.wantMask) || b.Truncated != tt.wantTrunc {
				t.Errorf("IDs %v Mask %v Truncated %d, want %v %v %d", b.IDs, b.Mask, b.Truncated, tt.wantIDs, tt.wantMask, tt.wantTrunc)
			}
			if b.Size*b.SeqLen != len(tt.wantIDs) {
				t.Errorf("Size %d x SeqLen %d, want %d values", b.Size, b.SeqLen, len(tt.wantIDs))
			}
		})
	}
}

func TestEncodeBatchErrors(t *testing.T) {
	bert := loadBERT(t)
	glove := loadGlove(t)
	tests := []struct {
		name      string
		texts     []string
		wantErr   error
		wantIndex string
	}{
		{"no texts", nil, ErrEmptyBatch, ""},
		{"empty text", []string{"fine", ""}, ErrEmptyText, "text 1"},
		{"whitespace only", []string{"fine", "ok", " \t\n\u00a0"}, ErrEmptyText, "text 2"},
		{"invalid UTF-8", []string{"caf\xe9", "fine"}, ErrInvalidUTF8, "text 0"},
	}
	for _, tok := range []struct {
		name string
		*Tokenizer
	}{{"bert", bert}, {"wordlevel", glove}} {
		for _, tt := range tests {
			t.Run(tok.name+"/"+tt.name, func(t *testing.T) {
				b, err := tok.EncodeBatch(tt.texts)
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v (batch %v), want %v", err, b, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantIndex) {
					t.Errorf("error %q does not name %q", err, tt.wantIndex)
				}
			})
		}
	}
}

// TestEncodeBatchTextsWithoutTokens: a text that normalisation empties is
// encoded as its special tokens alone (BERT: [CLS] [SEP], as Hugging Face
// does) or, without special tokens, as one masked padding token.
func TestEncodeBatchTextsWithoutTokens(t *testing.T) {
	bert, glove := loadBERT(t), loadGlove(t)
	for _, text := range []string{"\u200b", "\u0301", "\x00\x01\x02", "\ufeff"} {
		b, err := bert.EncodeBatch([]string{text})
		if err != nil {
			t.Fatalf("bert %q: %v", text, err)
		}
		if !slices.Equal(b.IDs, []int64{101, 102}) || !slices.Equal(b.Mask, []int64{1, 1}) {
			t.Errorf("bert %q: ids %v mask %v, want [CLS] [SEP] unmasked", text, b.IDs, b.Mask)
		}
	}
	b, err := glove.EncodeBatch([]string{"\u0301"})
	if err != nil {
		t.Fatal(err)
	}
	if b.SeqLen != 1 || !slices.Equal(b.Mask, []int64{0}) {
		t.Errorf("wordlevel: seq len %d mask %v, want one masked token", b.SeqLen, b.Mask)
	}
	b, err = glove.EncodeBatch([]string{"\u0301", "a cat"})
	if err != nil {
		t.Fatal(err)
	}
	if b.SeqLen != 2 || !slices.Equal(b.Mask, []int64{0, 0, 1, 1}) {
		t.Errorf("wordlevel beside a text: seq len %d mask %v, want 2 and [0 0 1 1]", b.SeqLen, b.Mask)
	}
}

// TestEncodeBatchConcurrent runs EncodeBatch from 8 goroutines on a fresh
// tokenizer, so they share the native encoder's buffer pool or race to fill
// the chunk cache, and compares every batch with one from sugarme's
// uncached serial pipeline. Run with -race.
func TestEncodeBatchConcurrent(t *testing.T) {
	texts := append(slices.Clone(trickyTexts), abstracts(t, 16)...)
	texts = append(texts, words("retrieval", 700))
	reference := loadBERT(t, withWorkers(1), withoutNative(), withoutCache())
	const goroutines, rounds = 8, 3
	// Each goroutine encodes its own rotation of texts, so the same chunks
	// are looked up and inserted in different orders at the same time.
	want := make([]*Batch, goroutines)
	for g := range goroutines {
		b, err := reference.EncodeBatch(rotate(texts, g))
		if err != nil {
			t.Fatal(err)
		}
		want[g] = b
	}
	for _, path := range []struct {
		name string
		opts []Option
	}{
		{"native", nil},
		{"sugarme cached", []Option{withoutNative()}},
	} {
		for _, workers := range []int{1, 4} {
			tok := loadBERT(t, append(path.opts, withWorkers(workers))...)
			var wg sync.WaitGroup
			for g := range goroutines {
				wg.Go(func() {
					for range rounds {
						got, err := tok.EncodeBatch(rotate(texts, g))
						if err != nil {
							t.Errorf("%s workers=%d goroutine %d: %v", path.name, workers, g, err)
							return
						}
						if !slices.Equal(got.IDs, want[g].IDs) || !slices.Equal(got.Mask, want[g].Mask) ||
							!slices.Equal(got.TypeIDs, want[g].TypeIDs) || got.Truncated != want[g].Truncated {
							t.Errorf("%s workers=%d goroutine %d: batch differs from the serial uncached one", path.name, workers, g)
							return
						}
					}
				})
			}
			wg.Wait()
		}
	}
}

func rotate(s []string, k int) []string {
	k %= len(s)
	return append(slices.Clone(s[k:]), s[:k]...)
}
