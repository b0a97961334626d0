package tokenize

import (
	"errors"
	"fmt"
	"slices"

	"github.com/sugarme/tokenizer"
)

// wrap is what the file's post-processor does to a single sequence: put
// special tokens before and after it and set type ids. It is learnt once at
// Load so EncodeBatch need not run sugarme's post-processing per text (about
// 100µs each, more than a cached text's tokenisation).
type wrap struct {
	prefix, suffix           []int
	prefixTypes, suffixTypes []int
	contentType              int
}

func (w *wrap) len() int { return len(w.prefix) + len(w.suffix) }

// errNotAWrapper reports a post-processor that changes the sequence itself;
// no Hugging Face single-sequence post-processor does.
var errNotAWrapper = errors.New("post-processor does not just add special tokens around the text")

// learnWrap runs the post-processor on the encoding of a probe text and
// splits its output into prefix, content and suffix. The content is found as
// the probe's ids at positions not flagged as special tokens.
func learnWrap(tk *tokenizer.Tokenizer) (w wrap, err error) {
	if tk.GetPostProcessor() == nil {
		return wrap{}, nil
	}
	defer recoverAsError(&err)
	enc, err := tk.EncodeSingleSequence(tokenizer.NewInputSequence("a b"), 0, tokenizer.Byte)
	if err != nil {
		return wrap{}, fmt.Errorf("probe text: %w", err)
	}
	if enc.Len() == 0 {
		return wrap{}, errors.New("probe text: no tokens")
	}
	content := slices.Clone(enc.Ids)
	out := tk.PostProcess(enc, nil, true)
	if len(out.TypeIds) != len(out.Ids) || len(out.SpecialTokenMask) != len(out.Ids) {
		return wrap{}, fmt.Errorf("%w: inconsistent output lengths", errNotAWrapper)
	}
	start := slices.Index(out.SpecialTokenMask, 0)
	end := start + len(content)
	if start < 0 || end > len(out.Ids) || !slices.Equal(out.Ids[start:end], content) ||
		slices.Contains(out.SpecialTokenMask[:start], 0) || slices.Contains(out.SpecialTokenMask[end:], 0) {
		return wrap{}, fmt.Errorf("%w: %v from %v", errNotAWrapper, out.Ids, content)
	}
	contentTypes := out.TypeIds[start:end]
	if slices.ContainsFunc(contentTypes, func(v int) bool { return v != contentTypes[0] }) {
		return wrap{}, fmt.Errorf("%w: mixed type ids %v", errNotAWrapper, contentTypes)
	}
	return wrap{
		prefix:      slices.Clone(out.Ids[:start]),
		suffix:      slices.Clone(out.Ids[end:]),
		prefixTypes: slices.Clone(out.TypeIds[:start]),
		suffixTypes: slices.Clone(out.TypeIds[end:]),
		contentType: contentTypes[0],
	}, nil
}
