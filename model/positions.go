package model

import "retune/tokenize"

// positionIDs numbers each row's real tokens 0, 1, 2, ... whichever side
// the tokenizer pads (the count of real tokens before each position, as
// Hugging Face derives position_ids from the attention mask); padding
// positions get the last number, which the mask hides anyway.
func positionIDs(b *tokenize.Batch) []int64 {
	pos := make([]int64, len(b.Mask))
	for i := 0; i < b.Size; i++ {
		n := int64(0)
		for t := i * b.SeqLen; t < (i+1)*b.SeqLen; t++ {
			pos[t] = max(n-1+b.Mask[t], 0)
			n += b.Mask[t]
		}
	}
	return pos
}
