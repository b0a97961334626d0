package tokenize

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/sugarme/tokenizer"
	"github.com/sugarme/tokenizer/model/wordlevel"
	"github.com/sugarme/tokenizer/model/wordpiece"
	"github.com/sugarme/tokenizer/pretrained"
	"github.com/sugarme/tokenizer/util"
)

// parseFile reads tokenizer.json once: the sections we read ourselves
// (fileConfig) and the sugarme pipeline, built as pretrained.FromReader
// builds it except for the model. A WordLevel or WordPiece vocabulary is
// decoded straight into a presized map[string]int and handed to the model's
// constructor, where FromReader decodes it into map[string]interface{} and
// copies it, and the file was decoded once more for fileConfig. On
// glove-100d's 341k words that halves the load (0.82-1.10 s -> 0.44-0.51 s,
// BenchmarkLoad). A Unigram model is retune's (unigram.go); others (BPE,
// or no "type") still go through pretrained.CreateModel. With own, the
// normalizer and added tokens of the files retune runs itself
// (ownNormalizer) are left out of sugarme's pipeline. sugarme type-asserts
// JSON fields unchecked and panics on shapes it does not expect; a bad
// file must be an error for the caller, not a crash.
func parseFile(data []byte, own bool) (cfg fileConfig, tk *tokenizer.Tokenizer, err error) {
	defer func() {
		if r := recover(); r != nil {
			tk, err = nil, fmt.Errorf("unsupported tokenizer.json: %v", r)
		}
	}()
	var sec fileSections
	if err := json.Unmarshal(data, &sec); err != nil {
		return cfg, nil, fmt.Errorf("parse: %w", err)
	}
	if err := sec.config(&cfg); err != nil {
		return cfg, nil, err
	}
	if own {
		cfg.normalize, cfg.own = ownNormalizer(&cfg.pipelineConfig)
	}
	m, err := sec.model(&cfg.Model)
	if err != nil {
		return cfg, nil, fmt.Errorf("CreateModel: %w", err)
	}
	if m == nil {
		return cfg, nil, errors.New("tokenizer.json has no model")
	}
	tk, err = sec.pipeline(m, cfg.own)
	return cfg, tk, err
}

// fileSections are tokenizer.json's top-level sections, undecoded.
type fileSections struct {
	Truncation    json.RawMessage `json:"truncation"`
	Padding       json.RawMessage `json:"padding"`
	AddedTokens   json.RawMessage `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Decoder       json.RawMessage `json:"decoder"`
	Model         json.RawMessage `json:"model"`
}

// config fills our view of the file, all but the model section.
func (s *fileSections) config(cfg *fileConfig) error {
	for _, p := range []struct {
		raw json.RawMessage
		dst any
	}{
		{s.Normalizer, &cfg.Normalizer},
		{s.PreTokenizer, &cfg.PreTokenizer},
		{s.AddedTokens, &cfg.AddedTokens},
		{s.Padding, &cfg.Padding},
	} {
		if err := decodeSection(p.raw, p.dst); err != nil {
			return err
		}
	}
	return nil
}

// decodeSection decodes raw into dst; an absent section leaves dst as is.
func decodeSection(raw json.RawMessage, dst any) error {
	if len(raw) == 0 {
		return nil
	}
	return json.Unmarshal(raw, dst)
}

// vocabModel is a model section with a word → id vocabulary.
type vocabModel struct {
	modelConfig
	Vocab map[string]int `json:"vocab"`
}

// model fills mc and builds the file's model as pretrained.CreateModel
// would; nil when the file has none.
func (s *fileSections) model(mc *modelConfig) (tokenizer.Model, error) {
	if len(s.Model) == 0 || string(s.Model) == "null" {
		return nil, nil
	}
	// encoding/json fills a non-nil map: presized, it never rehashes. An
	// entry takes at least 5 bytes ("a":1,) and rarely more than 20.
	vm := vocabModel{Vocab: make(map[string]int, len(s.Model)/16)}
	if err := json.Unmarshal(s.Model, &vm); err == nil {
		*mc = vm.modelConfig
		if (vm.Type == "WordLevel" || vm.Type == "WordPiece") && len(vm.Vocab) == 0 {
			return nil, fmt.Errorf("unsupported tokenizer.json: %s model without a vocab", vm.Type)
		}
		switch vm.Type {
		case "WordLevel":
			var unk string
			if vm.UnkToken != nil {
				unk = *vm.UnkToken
			}
			return wordlevel.New(vm.Vocab, unk)
		case "WordPiece":
			// As pretrained's createWordPiece, which never passes the
			// file's continuing_subword_prefix on: sugarme uses "##".
			opts := util.NewParams(nil)
			if vm.UnkToken != nil {
				opts.Set("unk_token", *vm.UnkToken)
			}
			if vm.MaxInputCharsPerWord != nil {
				opts.Set("max_input_chars_per_word", int(*vm.MaxInputCharsPerWord))
			}
			return wordpiece.New(vm.Vocab, opts)
		}
	} else if err := json.Unmarshal(s.Model, mc); err != nil { // e.g. Unigram's list vocabulary
		return nil, err
	}
	if mc.Type == "Unigram" {
		return newUnigram(s.Model)
	}
	var model, decoder map[string]interface{}
	if err := json.Unmarshal(s.Model, &model); err != nil {
		return nil, err
	}
	if err := decodeSection(s.Decoder, &decoder); err != nil {
		return nil, err
	}
	return pretrained.CreateModel(&tokenizer.Config{Model: model, Decoder: decoder})
}

// pipeline builds the rest of sugarme's tokenizer around m, in
// pretrained.FromReader's order; without the file's normalizer and added
// tokens where retune runs those (own, see own.go).
func (s *fileSections) pipeline(m tokenizer.Model, own bool) (*tokenizer.Tokenizer, error) {
	var c tokenizer.Config
	for _, p := range []struct {
		raw json.RawMessage
		dst any
	}{
		{s.Truncation, &c.Truncation}, {s.Padding, &c.Padding}, {s.AddedTokens, &c.AddedTokens},
		{s.Normalizer, &c.Normalizer}, {s.PreTokenizer, &c.PreTokenizer},
		{s.PostProcessor, &c.PostProcessor}, {s.Decoder, &c.Decoder},
	} {
		if err := decodeSection(p.raw, p.dst); err != nil {
			return nil, err
		}
	}
	tk := tokenizer.NewTokenizer(m)
	if own {
		c.Normalizer, c.AddedTokens = nil, nil
	}
	n, err := pretrained.CreateNormalizer(c.Normalizer)
	if err != nil {
		return nil, fmt.Errorf("CreateNormalizer: %w", err)
	}
	tk.WithNormalizer(n)
	pre, err := pretrained.CreatePreTokenizer(c.PreTokenizer)
	if err != nil {
		return nil, fmt.Errorf("CreatePreTokenizer: %w", err)
	}
	tk.WithPreTokenizer(pre)
	post, err := pretrained.CreatePostProcessor(c.PostProcessor)
	if err != nil {
		return nil, fmt.Errorf("CreatePostProcessor: %w", err)
	}
	tk.WithPostProcessor(post)
	dec, err := pretrained.CreateDecoder(c.Decoder)
	if err != nil {
		return nil, fmt.Errorf("CreateDecoder: %w", err)
	}
	tk.WithDecoder(dec)
	special, added := pretrained.CreateAddedTokens(c.AddedTokens)
	if len(special) > 0 {
		tk.AddSpecialTokens(special)
	}
	if len(added) > 0 {
		tk.AddTokens(added)
	}
	// Load replaces padding and truncation; parsing them here only keeps
	// rejecting the files FromReader rejects.
	if _, err := pretrained.CreateTruncationParams(c.Truncation); err != nil {
		return nil, fmt.Errorf("CreateTruncationParams: %w", err)
	}
	if _, err := pretrained.CreatePaddingParams(c.Padding); err != nil {
		return nil, fmt.Errorf("CreatePaddingParams: %w", err)
	}
	return tk, nil
}
