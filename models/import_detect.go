package models

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"retune/tokenize"
)

// What an encoder folder needs and where a Hugging Face or
// sentence-transformers snapshot keeps it: the ONNX export is model.onnx at
// the top or under onnx/ (optimum, sentence-transformers' ONNX backend), the
// tokenizer is tokenizer.json at the top, and the sentence-transformers
// pipeline is modules.json naming its modules' folders (Pooling's
// config.json says which pooling; a Normalize module means unit vectors;
// sentence_bert_config.json holds max_seq_length).

// importSettings are an imported encoder's encoder.json settings and, for
// each, where it came from (shown to the user).
type importSettings struct {
	pooling   string
	normalize bool
	maxLength int
	notes     []string // "pooling mean (1_Pooling/config.json)" …
	warnings  []string
	headApply string // a fused export's head mode, carried over (query-only encoders stay so)
	// provenance is an earlier import's, carried over whole when its
	// settings are taken as they are: re-importing an imported encoder
	// (copied to another machine, say) must write the same encoder.json,
	// which its checksum covers, or its heads and caches would not carry
	// over.
	provenance map[string]any
}

// stModule is one entry of sentence-transformers' modules.json.
type stModule struct {
	Path string `json:"path"`
	Type string `json:"type"`
}

// poolingModes maps the flags of a sentence-transformers Pooling config to
// the name retune gives each mode.
var poolingModes = map[string]string{
	"pooling_mode_cls_token":            PoolingCLS,
	"pooling_mode_mean_tokens":          PoolingMean,
	"pooling_mode_max_tokens":           PoolingMax,
	"pooling_mode_mean_sqrt_len_tokens": PoolingMeanSqrtLen,
	"pooling_mode_weightedmean_tokens":  PoolingWeightedMean,
	"pooling_mode_lasttoken":            PoolingLastToken,
}

// detectSettings reads the settings o does not give from the snapshot: its
// encoder.json when it is in retune's own layout (an earlier import, a fused
// export), else its sentence-transformers and transformers configs. A
// setting nothing names gets retune's default (mean pooling, unit vectors,
// 512 tokens), noted as assumed. pooled is whether the ONNX model outputs a
// ready sentence_embedding, which makes pooling moot.
func detectSettings(from, tokPath string, o ImportOptions, pooled bool) (importSettings, error) {
	s := importSettings{pooling: PoolingMean, normalize: true, maxLength: defaultImportMaxLength}
	// encoder.json is read even when every setting is given: a query-only
	// export must stay query-only.
	if cfg, ok, err := ReadEncoderConfig(from); err != nil {
		return s, err
	} else if ok {
		s.pooling, s.normalize, s.maxLength = cfg.Pooling, cfg.Normalize, cfg.MaxLength
		s.headApply, _ = cfg.Provenance[ProvenanceHeadApply].(string)
		if strings.HasPrefix(cfg.Build, ImportBuildPrefix) && o.Pooling == "" && o.Normalize == nil && o.MaxLength <= 0 {
			s.provenance = cfg.Provenance
		}
		s.note("pooling %s, normalize %t, max_length %d (%s)", s.pooling, s.normalize, s.maxLength, ConfigFile)
		o.applyFlags(&s, pooled)
		return s, nil
	}
	if o.Pooling != "" && o.Normalize != nil && o.MaxLength > 0 {
		// Everything is given: no other config is read, so a broken one
		// does not stand in the way.
		o.applyFlags(&s, pooled)
		return s, nil
	}
	modules, err := readModules(from)
	if err != nil {
		return s, err
	}
	s.warnDense(modules, pooled)
	sbert := readSBertConfig(from)
	s.warnLowerCase(sbert, tokPath)
	if o.Pooling == "" {
		if err := s.detectPooling(from, modules, pooled); err != nil {
			return s, err
		}
	}
	if o.Normalize == nil {
		s.detectNormalize(modules, pooled)
	}
	if o.MaxLength <= 0 {
		if err := s.detectMaxLength(from, tokPath, sbert); err != nil {
			return s, err
		}
	}
	o.applyFlags(&s, pooled)
	return s, nil
}

// defaultImportMaxLength is model.Open's limit without encoder.json, and
// BERT's position count.
const defaultImportMaxLength = 512

func (s *importSettings) note(format string, args ...any) {
	s.notes = append(s.notes, fmt.Sprintf(format, args...))
}

// applyFlags sets what o gives over what s holds.
func (o ImportOptions) applyFlags(s *importSettings, pooled bool) {
	if o.Pooling != "" {
		s.pooling = o.Pooling
		if pooled {
			s.note("pooling %s (--pooling; unused: the model outputs sentence_embedding)", s.pooling)
		} else {
			s.note("pooling %s (--pooling)", s.pooling)
		}
	}
	if o.Normalize != nil {
		s.normalize = *o.Normalize
		s.note("normalize %t (--normalize)", s.normalize)
	}
	if o.MaxLength > 0 {
		s.maxLength = o.MaxLength
		s.note("max_length %d (--max-length)", s.maxLength)
	}
}

// sbertConfig is what retune reads of sentence_bert_config.json, read once
// for the settings that use it; found is false without the file, and err
// is why it could not be read (reported by the setting that needs it).
type sbertConfig struct {
	MaxSeqLength int  `json:"max_seq_length"`
	DoLowerCase  bool `json:"do_lower_case"`
	found        bool
	err          error
}

func readSBertConfig(from string) sbertConfig {
	var c sbertConfig
	c.found, c.err = readOptionalJSON(filepath.Join(from, "sentence_bert_config.json"), &c)
	return c
}

// warnLowerCase warns of sentence_bert_config.json's do_lower_case over a
// tokenizer that keeps case: sentence-transformers lowercases each text
// before tokenizing it, retune tokenizes as tokenizer.json says, so cased
// texts would embed differently. An unreadable file is left to the
// settings that read it.
func (s *importSettings) warnLowerCase(sbert sbertConfig, tokPath string) {
	if sbert.err != nil || !sbert.found || !sbert.DoLowerCase {
		return
	}
	if raw, err := os.ReadFile(tokPath); err != nil || tokenize.Lowercases(raw) {
		return
	}
	s.warnings = append(s.warnings, "sentence_bert_config.json sets do_lower_case, which sentence-transformers applies before tokenizing, "+
		"but tokenizer.json keeps case and retune tokenizes as it says: lowercase texts before embedding them, or their vectors will differ from the sentence-transformers model's")
}

// warnDense warns of a Dense module the ONNX model leaves out.
func (s *importSettings) warnDense(modules []stModule, pooled bool) {
	for _, m := range modules {
		if strings.HasSuffix(m.Type, ".Dense") && !pooled {
			s.warnings = append(s.warnings, fmt.Sprintf(
				"modules.json has a Dense layer after pooling (%s), which the ONNX model does not include (it has no sentence_embedding output): "+
					"retune's vectors will differ from the sentence-transformers model's", m.Path))
		}
	}
}

func (s *importSettings) detectPooling(from string, modules []stModule, pooled bool) error {
	var poolDir string
	for _, m := range modules {
		if strings.HasSuffix(m.Type, ".Pooling") {
			poolDir = m.Path
		}
	}
	switch {
	case pooled:
		s.note("pooling by the model itself (it outputs sentence_embedding)")
		return nil
	case poolDir == "":
		s.note("pooling mean (assumed: no sentence-transformers Pooling module; --pooling cls for a CLS-pooled model)")
		return nil
	}
	rel := filepath.Join(poolDir, "config.json")
	var cfg map[string]any
	if err := readJSON(filepath.Join(from, rel), &cfg); err != nil {
		return err
	}
	// Every pooling_mode_* flag turned on counts, known or not, so that a
	// mode a newer sentence-transformers adds is named, not ignored.
	var on []string
	mode := ""
	for _, key := range slices.Sorted(maps.Keys(cfg)) {
		if v, _ := cfg[key].(bool); !v || !strings.HasPrefix(key, "pooling_mode_") {
			continue
		}
		on = append(on, key)
		mode = poolingModes[key] // "" for a flag retune does not know
	}
	switch {
	case len(on) == 0:
		return fmt.Errorf("%s turns on no pooling mode; pass --pooling (%s)", rel, strings.Join(PoolingModes, ", "))
	case len(on) > 1:
		return fmt.Errorf("%s combines pooling modes %s (concatenated vectors), which retune does not compute; only one of %s alone", rel, strings.Join(on, " + "), strings.Join(PoolingModes, ", "))
	case mode == "":
		return fmt.Errorf("%s asks for %s, which retune does not compute (%s); export a model with a sentence_embedding output instead", rel, on[0], strings.Join(PoolingModes, ", "))
	}
	s.pooling = mode
	s.note("pooling %s (%s)", mode, rel)
	return nil
}

func (s *importSettings) detectNormalize(modules []stModule, pooled bool) {
	if modules == nil {
		what := "pooled vectors"
		if pooled {
			what = "its sentence_embedding"
		}
		s.note("normalize true (assumed: retune ranks by cosine; L2-normalising %s changes no ranking)", what)
		return
	}
	s.normalize = slices.ContainsFunc(modules, func(m stModule) bool { return strings.HasSuffix(m.Type, ".Normalize") })
	if s.normalize {
		s.note("normalize true (modules.json has a Normalize module)")
	} else {
		s.note("normalize false (modules.json has no Normalize module)")
	}
}

// detectMaxLength takes sentence-transformers' max_seq_length, else the
// tokenizer's own truncation length, else the model's positions (at most
// 512).
func (s *importSettings) detectMaxLength(from, tokPath string, sbert sbertConfig) error {
	if sbert.err != nil {
		return sbert.err
	} else if sbert.found && sbert.MaxSeqLength > 0 {
		s.maxLength = sbert.MaxSeqLength
		s.note("max_length %d (sentence_bert_config.json max_seq_length)", s.maxLength)
		return nil
	}
	var tok struct {
		Truncation *struct {
			MaxLength int `json:"max_length"`
		} `json:"truncation"`
	}
	if ok, err := readOptionalJSON(tokPath, &tok); err == nil && ok && tok.Truncation != nil && tok.Truncation.MaxLength > 0 {
		s.maxLength = tok.Truncation.MaxLength
		s.note("max_length %d (%s truncation)", s.maxLength, TokenizerFile)
		return nil
	}
	var hf struct {
		MaxPositions int `json:"max_position_embeddings"`
	}
	if ok, err := readOptionalJSON(filepath.Join(from, "config.json"), &hf); err != nil {
		return err
	} else if ok && hf.MaxPositions > 0 {
		// RoBERTa-style models declare 514 positions for 512 tokens, so
		// more than 512 is taken at its word only when the model says so
		// through sentence_bert_config.json or --max-length.
		s.maxLength = min(hf.MaxPositions, defaultImportMaxLength)
		s.note("max_length %d (config.json max_position_embeddings %d, at most %d)", s.maxLength, hf.MaxPositions, defaultImportMaxLength)
		return nil
	}
	s.note("max_length %d (assumed; --max-length to change)", s.maxLength)
	return nil
}

// readModules reads modules.json; nil without one.
func readModules(from string) ([]stModule, error) {
	var mods []stModule
	ok, err := readOptionalJSON(filepath.Join(from, "modules.json"), &mods)
	if err != nil || !ok {
		return nil, err
	}
	for _, m := range mods {
		if m.Path != "" && !filepath.IsLocal(m.Path) {
			return nil, fmt.Errorf("modules.json: module path %q is not a folder inside %s", m.Path, from)
		}
	}
	if mods == nil {
		return nil, nil // "null": no pipeline described
	}
	return mods, nil
}

// readOptionalJSON is readJSON for a file that may be absent (ok false).
func readOptionalJSON(path string, v any) (ok bool, err error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return true, readJSON(path, v)
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
