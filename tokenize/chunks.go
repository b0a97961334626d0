package tokenize

import (
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
)

// sugarme spends ~20µs per word keeping normalisation alignments we never
// read. For pipelines where a space always separates tokens, a text's tokens
// are the concatenation of its space-separated chunks' tokens, so chunks
// that sugarme encodes are encoded once and memoised; word frequencies are
// Zipfian, so most chunks of a corpus are hits. Chunks the native encoder
// takes are not cached: encoding one natively is cheaper than a lookup.
const (
	// maxCachedChunk bounds the key size: longer chunks (URLs, sequences,
	// unspaced text) rarely repeat.
	maxCachedChunk = 64
	// maxCacheEntries bounds memory at ~35 MB (~250 B per entry measured);
	// the first chunks seen, i.e. mostly the frequent ones, stay. The
	// benchmark's 2000 synthetic abstracts (500k words) fill ~53k.
	maxCacheEntries = 1 << 17
)

// chunk is the content encoding of one chunk; shared, never modified.
type chunk struct {
	ids    []int
	tokens []string
}

// chunkCache is safe for concurrent use. sync.Map suits it: keys are written
// once and then only read.
type chunkCache struct {
	m sync.Map // string -> chunk
	n atomic.Int64
}

func (c *chunkCache) get(key string) (chunk, bool) {
	v, ok := c.m.Load(key)
	if !ok {
		return chunk{}, false
	}
	return v.(chunk), true
}

// put stores copies of key and the token strings: they may be substrings of
// a whole text (of 200 KB, say), which a cached word would keep alive.
func (c *chunkCache) put(key string, ch chunk) {
	if c.n.Load() >= maxCacheEntries {
		return
	}
	key = strings.Clone(key)
	toks := make([]string, len(ch.tokens))
	for i, tok := range ch.tokens {
		toks[i] = strings.Clone(tok)
	}
	ch.tokens = toks
	if _, loaded := c.m.LoadOrStore(key, ch); !loaded {
		c.n.Add(1)
	}
}

// pipelineConfig is the part of tokenizer.json that decides whether
// chunking is exact and whether the native encoder covers the file.
type pipelineConfig struct {
	Normalizer   *normalizerConfig   `json:"normalizer"`
	PreTokenizer *preTokenizerConfig `json:"pre_tokenizer"`
	Model        modelConfig         `json:"model"`
	AddedTokens  []addedTokenConfig  `json:"added_tokens"`
	// own: retune runs the normalizer (normalize) and finds the added
	// tokens before sugarme sees the text (see ownNormalizer).
	own       bool
	normalize hfNormalizer
}

type preTokenizerConfig struct {
	Type          string               `json:"type"`
	PreTokenizers []preTokenizerConfig `json:"pretokenizers"`
	// Metaspace's: its replacement character, and "first" when it
	// prepends one to the first split of a call only.
	Replacement   string `json:"replacement"`
	PrependScheme string `json:"prepend_scheme"`
	// The older files' add_prefix_space, and whether it splits at the
	// replacement (absent: true).
	AddPrefixSpace *bool `json:"add_prefix_space"`
	Split          *bool `json:"split"`
}

// metaspaceFirst reports whether p holds a Metaspace that prepends to the
// first split of a call only, and whether a pre-tokenizer before it (which
// splits, dropping whitespace) makes each word a split of its own: a text
// cut in pieces would get a prepended character at each piece that does
// not start with whitespace (behind: with an added token).
func (p *preTokenizerConfig) metaspaceFirst() (first, behind bool) {
	if p == nil {
		return false, false
	}
	if p.Type == "Metaspace" {
		return p.PrependScheme == "first", false
	}
	for i := range p.PreTokenizers {
		if f, b := p.PreTokenizers[i].metaspaceFirst(); f {
			return true, b || i > 0
		}
	}
	return false, false
}

// modelConfig omits the vocabulary: the native encoder takes it from
// sugarme's model, so both look words up in the very same map.
type modelConfig struct {
	Type                    string   `json:"type"`
	UnkToken                *string  `json:"unk_token"`
	ContinuingSubwordPrefix *string  `json:"continuing_subword_prefix"`
	MaxInputCharsPerWord    *float64 `json:"max_input_chars_per_word"`
}

type addedTokenConfig struct {
	ID         int    `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	Lstrip     bool   `json:"lstrip"`
	Rstrip     bool   `json:"rstrip"`
	Normalized bool   `json:"normalized"`
	Special    bool   `json:"special"`
}

// chunkable reports whether encoding space-separated chunks separately gives
// exactly the tokens of encoding the whole text. That needs: normalizers that
// act per character (they never merge characters across a space), a
// pre-tokenizer that splits on and drops spaces, a model that sees one
// pre-token at a time without randomness, and no added token containing
// whitespace (it could span two chunks). ByteLevel and Metaspace fail the
// second test: they keep the space as part of the next token. Where retune
// normalises and finds the added tokens, it chunks what is left, and only
// the pre-tokenizer and model count.
func chunkable(cfg *pipelineConfig) bool {
	own := cfg.own
	if !own && !perCharNormalizer(cfg.Normalizer) || !spaceSplitting(cfg.PreTokenizer) {
		return false
	}
	switch cfg.Model.Type {
	case "WordPiece", "WordLevel":
	default:
		return false
	}
	return own || !cfg.addedHoldsSpace()
}

// addedHoldsSpace reports whether an added token holds whitespace: a cut at
// a space could fall inside it.
func (cfg *pipelineConfig) addedHoldsSpace() bool {
	for _, at := range cfg.AddedTokens {
		if strings.ContainsFunc(at.Content, unicode.IsSpace) {
			return true
		}
	}
	return false
}

// spaceSplitting reports whether the pre-tokenizer splits on and drops
// spaces. A sequence of such pre-tokenizers does: the first splits on
// spaces, the others only split further.
func spaceSplitting(p *preTokenizerConfig) bool {
	if p == nil {
		return false
	}
	switch p.Type {
	case "BertPreTokenizer", "Whitespace", "WhitespaceSplit":
		return true
	case "Sequence":
		for i := range p.PreTokenizers {
			if !spaceSplitting(&p.PreTokenizers[i]) {
				return false
			}
		}
		return len(p.PreTokenizers) > 0
	}
	return false
}

func perCharNormalizer(n *normalizerConfig) bool {
	if n == nil {
		return true
	}
	switch n.Type {
	case "BertNormalizer", "Lowercase", "StripAccents", "NFC", "NFD", "NFKC", "NFKD":
		return true
	case "Sequence":
		for i := range n.Normalizers {
			if !perCharNormalizer(&n.Normalizers[i]) {
				return false
			}
		}
		return true
	}
	return false
}
