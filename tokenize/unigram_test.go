package tokenize

import (
	"encoding/json"
	"slices"
	"strconv"
	"testing"
)

// unigramFile is a Metaspace + Unigram file without normalizer or
// post-processor. Its scores for w/ww, B/BB and 3/33 are those of a
// sentencepiece model trained on SciFact (spm_train, vocabulary 8,000),
// where "www" is a tie between "w ww" and "ww w".
func unigramFile(t *testing.T, byteFallback bool) string {
	t.Helper()
	vocab := []any{[]any{"<unk>", 0.0}, []any{"▁", -3.0}, []any{"w", -7.8048}, []any{"ww", -10.7896},
		[]any{"B", -6.71781}, []any{"BB", -10.2882}, []any{"3", -6.35763}, []any{"33", -9.77072},
		[]any{".", -4.0}, []any{"(", -5.0}, []any{")", -5.0}, []any{":", -6.0}, []any{"/", -6.0},
		[]any{"▁international", -9.0}, []any{"ization", -8.0}, []any{"▁internationalization", -16.5},
		[]any{"e", -5.0}, []any{"x", -6.0}}
	if byteFallback {
		vocab = append(vocab, []any{"<0xC3>", -20.0}, []any{"<0xA9>", -20.0})
	}
	return writeTokenizer(t, nil, map[string]any{
		"added_tokens":  []any{addedToken(0, "<unk>", true, false, false, false, false)},
		"normalizer":    nil,
		"pre_tokenizer": map[string]any{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true},
		"model":         map[string]any{"type": "Unigram", "unk_id": 0, "vocab": vocab, "byte_fallback": byteFallback},
	})
}

// TestUnigramAsHuggingFace pins Hugging Face's ids (tokenizers 0.23.2):
// on a tie the path found first wins ("www" is "w ww"), a piece may be
// longer than 20 bytes, runs of unknown characters are one unknown token,
// and under byte_fallback an unknown run is its bytes' pieces where the
// vocabulary holds them all. sugarme's model gave "ww w", "BB B" and
// "▁international ization".
func TestUnigramAsHuggingFace(t *testing.T) {
	tests := []struct {
		text         string
		byteFallback bool
		want         []int64
	}{
		{"www", false, []int64{1, 2, 3}},
		{"://www.x", false, []int64{1, 11, 12, 12, 2, 3, 8, 17}},
		{"(BB B)", false, []int64{1, 9, 5, 1, 4, 10}},
		{"(BBB) 333", false, []int64{1, 9, 4, 5, 10, 1, 6, 7}},
		{"internationalization", false, []int64{15}},
		{"international ization", false, []int64{13, 1, 14}},
		{"wwwwww", false, []int64{1, 3, 3, 3}},
		{"éx w", false, []int64{1, 0, 17, 1, 2}},
		{"éé x", false, []int64{1, 0, 1, 17}},
		{"éé x", true, []int64{1, 18, 19, 18, 19, 1, 17}},
		{"ñé", true, []int64{1, 0}}, // no <0xB1>: unknown
		{"é", true, []int64{1, 18, 19}},
	}
	files := map[bool]*Tokenizer{false: mustLoad(t, unigramFile(t, false)), true: mustLoad(t, unigramFile(t, true))}
	for _, tt := range tests {
		b, err := files[tt.byteFallback].EncodeBatch([]string{tt.text})
		if err != nil {
			t.Errorf("%q: %v", tt.text, err)
			continue
		}
		if got := rowIDs(b, 0); !slices.Equal(got, tt.want) {
			t.Errorf("%q (byte_fallback %v): %v, Hugging Face %v", tt.text, tt.byteFallback, got, tt.want)
		}
	}
}

// TestUnigramRefusesBadFiles: a model section Hugging Face would not load
// is an error at Load, not a panic or a guess.
func TestUnigramRefusesBadFiles(t *testing.T) {
	for name, model := range map[string]map[string]any{
		"no vocab":          {"type": "Unigram", "unk_id": 0, "vocab": []any{}},
		"unk_id outside":    {"type": "Unigram", "unk_id": 5, "vocab": []any{[]any{"a", -1.0}}},
		"score not numeric": {"type": "Unigram", "vocab": []any{[]any{"a", "x"}}},
	} {
		path := writeTokenizer(t, nil, map[string]any{"normalizer": nil, "model": model,
			"pre_tokenizer": map[string]any{"type": "Metaspace", "replacement": "▁"}})
		if _, err := Load(path); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
	// Without an unk_id, a character no piece holds fails the text where
	// the unknown path would be taken, as in Hugging Face: "b" alone, not
	// the "b" of the piece "ab".
	path := writeTokenizer(t, nil, map[string]any{"normalizer": nil,
		"model": map[string]any{"type": "Unigram", "vocab": []any{[]any{"▁", -1.0}, []any{"a", -1.0},
			[]any{"ab", -1.0}, []any{"c", -1.0}}},
		"pre_tokenizer": map[string]any{"type": "Metaspace", "replacement": "▁"}})
	tok := mustLoad(t, path)
	for text, want := range map[string][]int64{"ab": {0, 2}, "cab": {0, 3, 2}} {
		if b, err := tok.EncodeBatch([]string{text}); err != nil || !slices.Equal(rowIDs(b, 0), want) {
			t.Errorf("%s: %v, Hugging Face %v", text, err, want)
		}
	}
	if _, err := tok.EncodeBatch([]string{"b"}); err == nil {
		t.Error("b: encoded without a piece or unk_id")
	}
}

// TestUnigramAddedIDsCountDuplicates: an added token outside the
// vocabulary gets the model's size as id, which for Unigram counts
// duplicate pieces (Hugging Face's get_vocab_size); the map's size gave
// "<new>" the id of "b".
func TestUnigramAddedIDsCountDuplicates(t *testing.T) {
	path := writeTokenizer(t, nil, map[string]any{"normalizer": nil,
		"added_tokens": []any{addedToken(0, "<unk>", true, false, false, false, false),
			addedToken(5, "<new>", false, false, false, false, false)},
		"model": map[string]any{"type": "Unigram", "unk_id": 0, "vocab": []any{[]any{"<unk>", 0.0},
			[]any{"▁", -1.0}, []any{"a", -1.0}, []any{"a", -1.0}, []any{"b", -1.0}}},
		"pre_tokenizer": map[string]any{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always"}})
	b, err := mustLoad(t, path).EncodeBatch([]string{"a<new>b"})
	if want := []int64{1, 3, 5, 1, 4}; err != nil || !slices.Equal(rowIDs(b, 0), want) {
		t.Errorf("%v, Hugging Face %v", err, want)
	}
}

// TestSerdeFloat: scores are parsed as serde_json parses them (the
// digits as an integer, rounded to a double, then one division by a power
// of ten), which for 17 significant digits can be a unit in the last
// place away from Go's correctly rounded parse; a Unigram tie then went
// the other way ("丐丑" is "丐 丑" in Hugging Face, whose score for "丐丑" is
// below the two pieces' sum there and equal to it in Go).
func TestSerdeFloat(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want float64
	}{
		{"0", 0}, {"-1", -1}, {"-12.0", -12}, {"1e3", 1000}, {"2.5E-3", 2.5 / 1000},
		{"-6.406410217285156", -(6406410217285156.0 / 1e15)},
		// 13845972061157227 is halfway between two doubles; it rounds to
		// the even one, ...228, before the division.
		{"-13.845972061157227", -(13845972061157228.0 / 1e15)},
	} {
		got, err := serdeFloat(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("%s: %v (%v), want %v", tt.in, got, err, tt.want)
		}
	}
	if goParse, _ := strconv.ParseFloat("-13.845972061157227", 64); goParse == -(13845972061157228.0 / 1e15) {
		t.Error("the example no longer tells the two parses apart")
	}
	for _, in := range []string{"", "-", "1.", ".5", "1e", "0x10", "1 "} {
		if _, err := serdeFloat(in); err == nil {
			t.Errorf("%q parsed", in)
		}
	}
	path := writeTokenizer(t, nil, map[string]any{"normalizer": nil,
		"model": map[string]any{"type": "Unigram", "unk_id": 0, "vocab": []any{[]any{"<unk>", 0.0}, []any{"▁", -1.0},
			[]any{"丐", json.Number("-6.406410217285156")}, []any{"丑", json.Number("-7.43956184387207")},
			[]any{"丐丑", json.Number("-13.845972061157227")}}},
		"pre_tokenizer": map[string]any{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "never"}})
	b, err := mustLoad(t, path).EncodeBatch([]string{"丐丑"})
	if want := []int64{2, 3}; err != nil || !slices.Equal(rowIDs(b, 0), want) {
		t.Errorf("丐丑: %v, Hugging Face %v", err, want)
	}
}
