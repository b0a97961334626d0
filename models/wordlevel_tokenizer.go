package models

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// Special tokens of word-level vocabularies built here; their ids are the
// reserved embedding rows.
const (
	padToken = "[PAD]"
	unkToken = "[UNK]"
)

// wordLevelTokenizerJSON renders a Hugging Face tokenizer.json for a
// word-level vocabulary: lowercase, split on whitespace and punctuation
// (BertPreTokenizer), look each piece up, unknown pieces become [UNK]. No
// special tokens are added around a text, since a bag of word vectors has
// no use for them. The layout is what github.com/sugarme/tokenizer's
// pretrained.FromFile and the Python tokenizers library both read; note that
// sugarme requires stride and strategy in "truncation".
func wordLevelTokenizerJSON(words []string, maxLength int) ([]byte, error) {
	type addedToken struct {
		ID         int    `json:"id"`
		Content    string `json:"content"`
		SingleWord bool   `json:"single_word"`
		Lstrip     bool   `json:"lstrip"`
		Rstrip     bool   `json:"rstrip"`
		Normalized bool   `json:"normalized"`
		Special    bool   `json:"special"`
	}
	doc := struct {
		Version    string         `json:"version"`
		Truncation map[string]any `json:"truncation"`
		Padding    map[string]any `json:"padding"`
		Added      []addedToken   `json:"added_tokens"`
		Normalizer map[string]any `json:"normalizer"`
		PreTok     map[string]any `json:"pre_tokenizer"`
		PostProc   any            `json:"post_processor"`
		Decoder    any            `json:"decoder"`
		Model      any            `json:"model"`
	}{
		Version: "1.0",
		Truncation: map[string]any{
			"direction": "Right", "max_length": maxLength, "strategy": "LongestFirst", "stride": 0,
		},
		Padding: map[string]any{
			"strategy": "BatchLongest", "direction": "Right", "pad_to_multiple_of": nil,
			"pad_id": 0, "pad_type_id": 0, "pad_token": padToken,
		},
		Added: []addedToken{
			{ID: 0, Content: padToken, Special: true},
			{ID: 1, Content: unkToken, Special: true},
		},
		Normalizer: map[string]any{"type": "Lowercase"},
		PreTok:     map[string]any{"type": "BertPreTokenizer"},
		Model: struct {
			Type     string     `json:"type"`
			Vocab    vocabInIDs `json:"vocab"`
			UnkToken string     `json:"unk_token"`
		}{"WordLevel", vocabInIDs(words), unkToken},
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// vocabInIDs marshals as the vocab object {"[PAD]":0,"[UNK]":1,word:2,...}
// in id order, which keeps the file readable and diffable (a Go map would be
// sorted by key).
type vocabInIDs []string

func (v vocabInIDs) MarshalJSON() ([]byte, error) {
	buf := make([]byte, 0, 16*(len(v)+reservedRows))
	buf = append(buf, '{')
	for id := 0; id < len(v)+reservedRows; id++ {
		tok := padToken
		switch {
		case id == 1:
			tok = unkToken
		case id >= reservedRows:
			tok = v[id-reservedRows]
		}
		if id > 0 {
			buf = append(buf, ',')
		}
		k, err := json.Marshal(tok)
		if err != nil {
			return nil, err
		}
		buf = append(buf, k...)
		buf = append(buf, ':')
		buf = strconv.AppendInt(buf, int64(id), 10)
	}
	return append(buf, '}'), nil
}
