package tokenize

import "github.com/sugarme/tokenizer"

// addedIDs gives each added token the id Hugging Face gives it when it
// reads the file (AddedVocabulary::add_tokens, in file order): its id in
// the model's vocabulary, else the model's vocabulary size (get_vocab_size:
// a Unigram model's pieces, duplicates included) for the first one outside
// it and one more than the largest id given so far for the next.
// A file Hugging Face wrote holds these very ids. sugarme numbers the
// special tokens first, so where a file lists an ordinary token outside
// the vocabulary before a special one the two disagree.
func addedIDs(added []addedTokenConfig, m tokenizer.Model) map[string]int {
	vocab, size := m.GetVocab(), m.GetVocabSize()
	ids := make(map[string]int, len(added))
	largest := -1
	for _, at := range added {
		if _, seen := ids[at.Content]; seen || at.Content == "" {
			continue
		}
		id, ok := vocab[at.Content]
		if !ok {
			id = size
			if largest >= size || size == 0 {
				id = largest + 1
			}
		}
		ids[at.Content] = id
		largest = max(largest, id)
	}
	return ids
}

// sugarmeRemap maps the ids sugarme gives added tokens to Hugging Face's
// (addedIDs), where they differ; nil where none does.
func sugarmeRemap(tk *tokenizer.Tokenizer, ids map[string]int) map[int]int {
	var remap map[int]int
	for content, id := range ids {
		if got, ok := tk.TokenToId(content); ok && got != id {
			if remap == nil {
				remap = map[int]int{}
			}
			remap[got] = id
		}
	}
	return remap
}
