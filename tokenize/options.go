package tokenize

import "runtime"

// DefaultMaxLength is the sequence length (special tokens included) that
// EncodeBatch truncates to unless WithMaxLength says otherwise. It matches the
// position-embedding size of BERT-family encoders, so any file is safe to use
// without knowing its model.
const DefaultMaxLength = 512

// Option configures Load.
type Option func(*options)

type options struct {
	maxLength int
	// foldAccents is nil when the choice is left to auto-detection from the
	// tokenizer.json normalizer.
	foldAccents *bool
	// workers bounds the goroutines one EncodeBatch call uses, cache
	// enables the chunk cache and native the native encoder. Unexported:
	// they exist so tests and the benchmark can compare the alternatives.
	workers int
	cache   bool
	native  bool
	// own: retune normalises and finds added tokens where sugarme's
	// normalizer is wrong (ownNormalizer); off, sugarme does.
	own bool
}

func defaultOptions() options {
	return options{
		maxLength: DefaultMaxLength,
		workers:   runtime.GOMAXPROCS(0),
		cache:     true,
		native:    true,
		own:       true,
	}
}

// WithMaxLength sets the maximum sequence length in tokens, special tokens
// included. Longer texts are truncated, whatever the file's own truncation
// section says.
func WithMaxLength(n int) Option {
	return func(o *options) { o.maxLength = n }
}

// WithFoldAccents forces accent folding on or off instead of deriving it from
// the file's normalizer.
func WithFoldAccents(on bool) Option {
	return func(o *options) { o.foldAccents = &on }
}

func withWorkers(n int) Option {
	return func(o *options) { o.workers = n }
}

func withoutCache() Option {
	return func(o *options) { o.cache = false }
}

func withoutNative() Option {
	return func(o *options) { o.native = false }
}

func withoutOwn() Option {
	return func(o *options) { o.own = false }
}
