package tokenize

import (
	"encoding/json"
	"math/rand"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestSpaceCuttable lists the pipelines whose long texts may be cut before
// a space (see spaceCuttable).
func TestSpaceCuttable(t *testing.T) {
	typ := func(name string) map[string]any { return map[string]any{"type": name} }
	meta := map[string]any{"type": "Metaspace", "replacement": "▁", "add_prefix_space": true}
	metaFirst := map[string]any{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": true}
	replace := func(pattern map[string]any) map[string]any {
		return map[string]any{"type": "Replace", "pattern": pattern, "content": " "}
	}
	seq := func(key string, items ...any) map[string]any { return map[string]any{"type": "Sequence", key: items} }
	tests := []struct {
		name              string
		normalizer, preTk any
		added             []any
		want              bool
	}{
		{"Metaspace, no normalizer", nil, meta, nil, true},
		{"Metaspace, BERT normalizer", map[string]any{"type": "BertNormalizer", "lowercase": true}, meta, nil, true},
		{"Replace of space runs", seq("normalizers", typ("Lowercase"),
			replace(map[string]any{"Regex": " {2,}"})), meta, nil, true},
		{"Precompiled left to sugarme (retune runs XLM-R's: TestPrecompiledLongTextsAreLinear)", seq("normalizers", typ("Precompiled"),
			replace(map[string]any{"Regex": " {2,}"})), meta, nil, false},
		{"WhitespaceSplit then Metaspace", nil, seq("pretokenizers", typ("WhitespaceSplit"), meta), nil, true},
		{"Replace of other text", replace(map[string]any{"Regex": "a b"}), meta, nil, false},
		{"Replace of spaces by nothing", map[string]any{"type": "Replace", "pattern": map[string]any{"String": " "}, "content": ""}, meta, nil, false},
		{"Replace of spaces by ▁", map[string]any{"type": "Replace", "pattern": map[string]any{"String": " "}, "content": "▁"}, meta, nil, true},
		{"Metaspace prepending to the first split only", nil, metaFirst, nil, true},
		{"WhitespaceSplit then Metaspace prepending to the first split only", nil, seq("pretokenizers", typ("WhitespaceSplit"), metaFirst), nil, false},
		{"Metaspace prepending to the first split only, then Punctuation", nil, seq("pretokenizers", metaFirst, typ("Punctuation")), nil, true},
		{"Prepend", typ("Prepend"), meta, nil, false},
		{"ByteLevel", nil, typ("ByteLevel"), nil, false},
		{"Metaspace then ByteLevel", nil, seq("pretokenizers", meta, typ("ByteLevel")), nil, false},
		{"BERT pre-tokenizer alone (chunkable)", nil, typ("BertPreTokenizer"), nil, false},
		{"added token with a space", nil, meta, []any{addedToken(30522, "a b", true, false, false, false, false)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := editedBERT(t, func(doc map[string]any) {
				doc["normalizer"], doc["pre_tokenizer"] = tt.normalizer, tt.preTk
				if tt.added != nil {
					doc["added_tokens"] = append(doc["added_tokens"].([]any), tt.added...)
				}
			})
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var cfg fileConfig
			if err := json.Unmarshal(data, &cfg); err != nil {
				t.Fatal(err)
			}
			if got := spaceCuttable(&cfg.pipelineConfig); got != tt.want {
				t.Errorf("space cuts %v, want %v", got, tt.want)
			}
		})
	}
}

// TestSpaceCutsKeepIDs: under Metaspace pipelines, long texts cut before
// spaces give the ids and tokens sugarme gives them whole: synthetic
// abstracts joined, with runs of spaces, tabs, literals of every flag
// (flagsFile), Prepend characters and accents, and the cuts happen.
func TestSpaceCutsKeepIDs(t *testing.T) {
	files := map[string]func(t *testing.T) *Tokenizer{
		// Without a normalizer, or under these, retune runs the lone
		// Metaspace itself (own.go): these test sugarme's path.
		"no normalizer": func(t *testing.T) *Tokenizer {
			return wholeTextBERT(t, func(doc map[string]any) { doc["normalizer"] = nil }, withoutOwn())
		},
		"bert normalizer": func(t *testing.T) *Tokenizer { return wholeTextBERT(t, nil) },
		"replace space runs": func(t *testing.T) *Tokenizer {
			return wholeTextBERT(t, func(doc map[string]any) {
				doc["normalizer"] = map[string]any{"type": "Sequence", "normalizers": []any{
					map[string]any{"type": "Lowercase"},
					map[string]any{"type": "Replace", "pattern": map[string]any{"Regex": " {2,}"}, "content": " "}}}
			}, withoutOwn())
		},
		"literal flags": func(t *testing.T) *Tokenizer { return mustLoad(t, flagsFile(t)) },
		"prepend to the first split only": func(t *testing.T) *Tokenizer {
			return wholeTextBERT(t, func(doc map[string]any) {
				doc["pre_tokenizer"] = map[string]any{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": true}
			})
		},
	}
	r := rand.New(rand.NewSource(3))
	words := strings.Fields(strings.Join(abstracts(t, 20), " "))
	extras := []string{"  ", "\t", " \u0600", "\u0600", "café", "\u200b", "ﬁ"}
	// One kind of literal per text: sugarme matches one kind per call,
	// so with several its whole-text ids depend on what else the text
	// holds, and cut ones on what else the piece holds.
	literals := [][]string{{"<mask>", " <mask>", "x<mask>"}, {"<r>", "<r> ", "<r>x"}, {"<x>", " <x> "},
		{"<w>", "a<w>b", " <w>"}, {"<n>", "<N>"}, {"[SEP]", "x[SEP]"}}
	var texts []string
	for i := range 24 {
		lits := literals[i%len(literals)]
		var b strings.Builder
		for range 150 + r.Intn(200) {
			if k := r.Intn(16); k == 0 {
				b.WriteString(extras[r.Intn(len(extras))])
			} else if k == 1 {
				b.WriteString(lits[r.Intn(len(lits))])
			} else {
				b.WriteString(words[r.Intn(len(words))])
			}
			b.WriteString([]string{" ", " ", " ", "\n", "\t"}[r.Intn(5)])
		}
		texts = append(texts, b.String())
	}
	for name, load := range files {
		t.Run(name, func(t *testing.T) {
			tok := load(t)
			if !tok.spaceCuts {
				t.Fatal("space cuts off")
			}
			pieces, compared := 0, 0
			for _, text := range texts {
				want, wantToks, err := tok.encodeChunk(tok.prepForSugarme(text))
				if err != nil {
					continue // sugarme panicked on the whole text (see the README's known limits)
				}
				compared++
				pieces += len(slices.Collect(tok.spaceCut(text)))
				got, gotToks, err := tok.viaSugarme(nil, nil, text, -1, true, tok.encodeChunk)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, want) || !slices.Equal(gotToks, wantToks) {
					for i := range min(len(gotToks), len(wantToks)) {
						if gotToks[i] != wantToks[i] {
							t.Fatalf("token %d: cut %q, whole %q (%q…)", i, gotToks[i:min(i+5, len(gotToks))], wantToks[i:min(i+5, len(wantToks))], text[:80])
						}
					}
					t.Fatalf("cut %d tokens, whole %d", len(gotToks), len(wantToks))
				}
			}
			t.Logf("%d of %d texts compared, %d pieces", compared, len(texts), pieces)
			if compared < len(texts)/2 || pieces < 3*compared {
				t.Errorf("%d pieces for %d texts compared of %d: few cuts or comparisons", pieces, compared, len(texts))
			}
		})
	}
}

// TestMetaspaceLongTextsAreLinear: 4,000 words under a Metaspace
// pre-tokenizer took sugarme 15 s whole; cut, they take well under a
// second, and truncated to 512 tokens a few milliseconds. -v logs the
// times.
func TestMetaspaceLongTextsAreLinear(t *testing.T) {
	timeLongText(t, wholeTextBERT(t, nil), strings.Repeat("the cell cycle ", 4000/3), 4000/3*3)
}

// timeLongText times tok on text whole (Tokens, at least minTokens) and
// truncated (EncodeBatch), and fails past 5 s.
func timeLongText(t *testing.T, tok *Tokenizer, text string, minTokens int) {
	t.Helper()
	start := time.Now()
	toks, err := tok.Tokens(text)
	if err != nil || len(toks) < minTokens {
		t.Fatalf("%d tokens, %v", len(toks), err)
	}
	whole := time.Since(start)
	if _, err := tok.EncodeBatch([]string{text}); err != nil {
		t.Fatal(err)
	}
	truncated := time.Since(start) - whole
	t.Logf("4,000 words: Tokens %v, EncodeBatch %v", whole, truncated)
	if !raceEnabled && whole+truncated > 5*time.Second {
		t.Errorf("took %v", whole+truncated)
	}
}
