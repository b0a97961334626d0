package tokenize

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// addedToken is a tokenizer.json added_tokens entry.
func addedToken(id int, content string, special, lstrip, rstrip, singleWord, normalized bool) map[string]any {
	return map[string]any{"id": id, "content": content, "special": special, "lstrip": lstrip,
		"rstrip": rstrip, "single_word": singleWord, "normalized": normalized}
}

// mpnetLike is the BERT file with MPNet's extra literals: <s> and </s>,
// and <mask> taking the whitespace before it (lstrip), normalized or not
// (files of the family differ). edit, if not nil, changes it further.
func mpnetLike(t testing.TB, normalized bool, edit func(doc map[string]any)) string {
	t.Helper()
	return editedBERT(t, func(doc map[string]any) {
		vocab := doc["model"].(map[string]any)["vocab"].(map[string]any)
		n := len(vocab) // 30522
		for i, s := range []string{"<s>", "</s>", "<mask>"} {
			vocab[s] = n + i
		}
		doc["added_tokens"] = append(doc["added_tokens"].([]any),
			addedToken(n, "<s>", true, false, false, false, false),
			addedToken(n+1, "</s>", true, false, false, false, false),
			addedToken(n+2, "<mask>", true, true, false, false, normalized))
		if edit != nil {
			edit(doc)
		}
	})
}

// flagsFile is the BERT file with a literal of each flag, under a
// Metaspace pre-tokenizer, which neither the native encoder nor the chunk
// cache covers (texts go whole to sugarme) and which keeps whitespace as
// "▁": <mask> is lstrip, <w> single_word, <r> rstrip, <x> lstrip and
// rstrip (and not special), <n> normalized (not special).
func flagsFile(t testing.TB) string {
	t.Helper()
	return editedBERT(t, func(doc map[string]any) {
		vocab := doc["model"].(map[string]any)["vocab"].(map[string]any)
		n := len(vocab)
		for i, s := range []string{"<mask>", "<w>", "<r>"} {
			vocab[s] = n + i
		}
		// sugarme numbers the literals outside the vocabulary after it,
		// in order, as the file does.
		doc["added_tokens"] = append(doc["added_tokens"].([]any),
			addedToken(n, "<mask>", true, true, false, false, false),
			addedToken(n+1, "<w>", true, false, false, true, false),
			addedToken(n+2, "<r>", true, false, true, false, false),
			addedToken(n+3, "<x>", false, true, true, false, false),
			addedToken(n+4, "<n>", false, false, false, false, true))
		doc["pre_tokenizer"] = map[string]any{"type": "Metaspace", "replacement": "▁", "add_prefix_space": true}
	})
}

// literalsFile is a small WordLevel file (Lowercase, BertPreTokenizer)
// whose literals have each flag: <m> lstrip, <r> rstrip, <x> both, <w>
// single_word, <n> normalized, and m>x, which overlaps <m>.
func literalsFile(t testing.TB) string {
	t.Helper()
	return writeTokenizer(t, gloveVocab, map[string]any{"added_tokens": []any{
		addedToken(10, "<m>", true, true, false, false, false),
		addedToken(11, "<r>", true, false, true, false, false),
		addedToken(12, "<x>", true, true, true, false, false),
		addedToken(13, "<w>", true, false, false, true, false),
		addedToken(14, "<n>", true, false, false, false, true),
		addedToken(15, "m>x", true, false, false, false, false),
	}})
}

// TestLiteralCuts: a run of literals is cut after every literalsPerCall-th
// literal, or the first one after it where a cut changes nothing, and not
// at all where no such place exists.
func TestLiteralCuts(t *testing.T) {
	tok := mustLoad(t, literalsFile(t))
	const n = 3 * literalsPerCall
	for _, tt := range []struct {
		name, unit string // the text is n units
		pieces     int
	}{
		{"plain text", "the cat ", 1},
		{"glued", "<m>", 3},
		{"lstrip after a space", " <m>", 3},
		{"words around", "the <m>cat ", 4}, // the last piece holds "cat "
		{"rstrip takes the space after", "<r> ", 3},
		{"rstrip takes one of two spaces", "<r>  ", 4}, // the last piece holds " "
		{"rstrip then lstrip: one space", "<x> ", 3},
		{"rstrip then lstrip: one of two spaces each", "<x>  ", 4},
		{"single_word beside a non-word character", "<w>.", 4},
		{"single_word beside a word character", "<w>a", 1},
		{"overlapping literal", "<m>x", 1},
		{"normalized", "<n>", 3},
		{"normalized once lowercased", "<N>", 3},
		{"normalized beside accents", "é<n>ü", 4},
		{"normalized and raw", "<n><m>", 6},
	} {
		t.Run(tt.name, func(t *testing.T) {
			text := strings.Repeat(tt.unit, n)
			pieces := slices.Collect(tok.literals.cut(text))
			if strings.Join(pieces, "") != text {
				t.Fatalf("pieces %.40q… do not make the text", pieces)
			}
			if len(pieces) != tt.pieces {
				t.Errorf("%d pieces, want %d", len(pieces), tt.pieces)
			}
			for _, p := range pieces[:len(pieces)-1] {
				if !strings.HasSuffix(strings.TrimRight(p, " "), ">") {
					t.Errorf("piece %.20q… ends past its literal", p)
				}
			}
		})
	}
}

// TestLiteralRunsKeepIDs: however a text is cut, it gets the ids sugarme
// gives it whole (runs of several kinds aside: sugarme extracts one kind
// per call, see TestSpecialTokensInText), and sugarme never gets more
// than 2×literalsPerCall literals in a call where the text can be cut.
func TestLiteralRunsKeepIDs(t *testing.T) {
	n := 150
	if raceEnabled {
		n = 70
	}
	files := []struct {
		name string
		path string
	}{
		{"MPNet-like", mpnetLike(t, false, nil)},
		{"MPNet-like, normalized <mask>", mpnetLike(t, true, nil)},
		{"MPNet-like, Lowercase and Metaspace", mpnetLike(t, true, func(doc map[string]any) {
			doc["normalizer"] = map[string]any{"type": "Lowercase"}
			doc["pre_tokenizer"] = map[string]any{"type": "Metaspace", "replacement": "▁", "add_prefix_space": true}
		})},
		{"a literal of each flag, Metaspace", flagsFile(t)},
	}
	units := []string{"<mask>", " <mask>", "<mask> ", "<mask>  ", "a<mask>", "<mask>a", "<mask>\t", "<mask>\n",
		"<mask>\u00a0", "<mask>\u3000", "<mask>\u200b", "<mask>é", "<mask>中", "x y<mask>", "<MASK>", "<MASK>.",
		"<s>", "</s> ", "[SEP]", "[MASK] ", "<w>.", "<w> ", "<r> ", "<r>  x", "<r>\t", "<x> ", "<x>.", "<n>", "<n> "}
	for _, f := range files {
		t.Run(f.name, func(t *testing.T) {
			tok, whole := mustLoad(t, f.path), mustLoad(t, f.path)
			whole.literals, whole.spaceCuts = literalCuts{}, false // never cuts
			for _, u := range units {
				text := "hello " + strings.Repeat(u, n) + " world"
				got, _, err := tok.content(text, -1, false)
				want, _, wholeErr := whole.content(text, -1, false)
				if (err == nil) != (wholeErr == nil) {
					// sugarme panics on some texts whole ("hello " and
					// 150 "<mask>\u200b" with the flags file): pieces
					// may fail with them, not alone.
					t.Errorf("%q × %d: error %v, whole %v", u, n, err, wholeErr)
				}
				if !slices.Equal(got, want) {
					t.Errorf("%q × %d: %d ids, whole %d", u, n, len(got), len(want))
				}
				if most := mostLiteralsPerCall(tok, text); most > 2*literalsPerCall {
					t.Errorf("%q × %d: sugarme gets %d literals in a call", u, n, most)
				}
			}
		})
	}
}

// mostLiteralsPerCall is the most literals sugarme gets in one call for
// text: its chunks (for files whose chunks encode alone) as cut.
func mostLiteralsPerCall(tok *Tokenizer, text string) int {
	chunks := []string{text}
	if tok.cache != nil {
		chunks = strings.Split(unicodeSpacesToASCII(text, tok.keepControls), " ")
	}
	most := 0
	for _, c := range chunks {
		if tok.fold != nil {
			c = foldAccents(c, tok.fold)
		}
		for p := range tok.literals.cut(tok.prepForSugarme(c)) {
			most = max(most, countLiterals(&tok.literals, p))
		}
	}
	return most
}

// countLiterals counts the literals of s, raw or normalized, taking the
// longest at each place.
func countLiterals(c *literalCuts, s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		for _, set := range []*literalSet{&c.raw, &c.norm} {
			if l, ok := set.longestAt(s, i); ok {
				n, i = n+1, i+len(l.s)-1
				break
			}
		}
	}
	return n
}

// TestLiteralRunsMatchHuggingFace pins the ids Hugging Face's tokenizers
// (0.23.2) gives long runs of literals, which are cut here: lstrip,
// rstrip, single_word and normalized ones, glued, spaced and between
// words.
func TestLiteralRunsMatchHuggingFace(t *testing.T) {
	const n = 100
	const hello, world, a, b, x, unk, dot = 7592, 2088, 1037, 1038, 1060, 100, 1012
	const s, mask = 30522, 30524 // MPNet-like
	// flagsFile's literals.
	const fMask, fW, fR, fX, fN = 30522, 30523, 30524, 30525, 30526
	mpnet, mpnetNorm, flags := mpnetLike(t, false, nil), mpnetLike(t, true, nil), flagsFile(t)
	for _, tt := range []struct {
		path       string
		text       string
		head, unit []int // want: head, then unit n times
	}{
		{mpnet, "hello " + strings.Repeat("<mask>", n) + " world", []int{hello}, []int{mask}},
		{mpnet, strings.Repeat("a<mask>", n), nil, []int{a, mask}},
		{mpnet, strings.Repeat("<mask> b ", n), nil, []int{mask, b}},
		{mpnet, strings.Repeat("x <s> <mask>", n), nil, []int{x, s, mask}},
		{mpnet, strings.Repeat("<mask>\u200b", n), nil, []int{mask}},
		{mpnetNorm, "hello " + strings.Repeat("<mask>", n) + " world", []int{hello}, []int{mask}},
		{mpnetNorm, strings.Repeat("a<mask>", n), nil, []int{a, mask}},
		{mpnetNorm, strings.Repeat("<MASK>.", n), nil, []int{mask, dot}},
		{mpnetNorm, strings.Repeat("<mask>\u200b", n), nil, []int{mask}},
		{flags, strings.Repeat("<mask>", n), nil, []int{fMask}},
		{flags, strings.Repeat(" <mask>", n), nil, []int{fMask}},
		{flags, strings.Repeat("<r> x", n), nil, []int{fR, unk}},
		{flags, strings.Repeat("<x> ", n), nil, []int{fX}},
		{flags, strings.Repeat("<w>.", n), nil, []int{fW, unk}},
		{flags, strings.Repeat("<n>", n), nil, []int{fN}},
	} {
		tok := mustLoad(t, tt.path)
		if pieces := slices.Collect(tok.literals.cut(tt.text)); tok.cache == nil && len(pieces) < 2 {
			t.Errorf("%.20q…: not cut", tt.text)
		}
		got, _, err := tok.content(tt.text, -1, false)
		if err != nil {
			t.Fatal(err)
		}
		want := slices.Clone(tt.head)
		for range n {
			want = append(want, tt.unit...)
		}
		if strings.HasSuffix(tt.text, " world") {
			want = append(want, world)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%.20q…: %d ids %v…, want %d %v…", tt.text, len(got), got[:min(6, len(got))], len(want), want[:min(6, len(want))])
		}
	}
}

// TestMaskRunsAreLinear: 120,000 <mask> (lstrip) with no space, whose
// time through sugarme uncut grows with their number squared
// (BenchmarkMaskRun compares), go through in about a second whole
// (Tokens) and in milliseconds truncated (EncodeBatch), through sugarme
// cut at literals and natively alike; -v logs the times.
func TestMaskRunsAreLinear(t *testing.T) {
	n := 120000
	if raceEnabled {
		n = 2000
	}
	for _, c := range []struct {
		normalized bool
		opts       []Option
	}{{false, nil}, {true, nil}, {false, []Option{withoutNative()}}, {true, []Option{withoutNative()}}} {
		normalized := c.normalized
		tok := mustLoad(t, mpnetLike(t, normalized, nil), c.opts...)
		text := strings.Repeat("<mask>", n)
		start := time.Now()
		toks, err := tok.Tokens(text)
		if err != nil {
			t.Fatal(err)
		}
		if len(toks) != n || toks[0] != "<mask>" || toks[n-1] != "<mask>" {
			t.Fatalf("%d literals gave %d tokens", n, len(toks))
		}
		whole := time.Since(start)
		if _, err := tok.EncodeBatch([]string{text}); err != nil {
			t.Fatal(err)
		}
		truncated := time.Since(start) - whole
		t.Logf("normalized %t, native %t: <mask> × %d: Tokens %v, EncodeBatch %v", normalized, tok.native != nil, n, whole, truncated)
		if !raceEnabled && whole+truncated > 10*time.Second {
			t.Errorf("normalized %t: <mask> × %d took %v", normalized, n, whole+truncated)
		}
	}
}

// wordsFile is the BERT file under a Metaspace pre-tokenizer (texts go
// whole to sugarme) with single_word literals whose ends sugarme's pattern
// guards with \b: "[W]" (punctuation at both ends) and "<W>" (which the
// normaliser lowercases, so sugarme looks for "<w>").
func wordsFile(t testing.TB) string {
	t.Helper()
	return editedBERT(t, func(doc map[string]any) {
		n := len(doc["model"].(map[string]any)["vocab"].(map[string]any))
		doc["added_tokens"] = append(doc["added_tokens"].([]any),
			addedToken(n, "[W]", true, false, false, true, false),
			addedToken(n+1, "<W>", true, false, false, true, false))
		doc["pre_tokenizer"] = map[string]any{"type": "Metaspace", "replacement": "▁", "add_prefix_space": true}
	})
}

// TestSingleWordCutsWhereSugarmeMatches: a cut follows a single_word
// literal only where sugarme matches it. Its pattern puts \b (ASCII)
// beside an end that is a letter, digit, mark, control or punctuation
// character, so "[W]" matches only between word characters ("a[W]a"),
// never where Hugging Face does ("[W]."), and it looks for the content
// normalised ("<w>"), never "<W>": a cut after those split sugarme's text
// (one Metaspace word, one [UNK], became one per piece).
func TestSingleWordCutsWhereSugarmeMatches(t *testing.T) {
	path := wordsFile(t)
	tok, whole := mustLoad(t, path), mustLoad(t, path)
	whole.literals, whole.spaceCuts = literalCuts{}, false
	for _, u := range []string{"[W].", "<W>.", "a[W]a", "[W]", "<W>", " [W] ", "<w>."} {
		text := "hello " + strings.Repeat(u, 2*literalsPerCall) + " world"
		got, _, err := tok.content(text, -1, false)
		want, _, wholeErr := whole.content(text, -1, false)
		if err != nil || wholeErr != nil {
			t.Fatalf("%q: %v, whole %v", u, err, wholeErr)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%q × %d: %d ids %v…, whole %d %v…", u, 2*literalsPerCall, len(got), got[:min(4, len(got))],
				len(want), want[:min(4, len(want))])
		}
	}
}

// nfkcFile is MPNet-like under Sequence[NFKC, Lowercase] and Metaspace,
// with a normalized rstrip literal "<n>" besides the normalized lstrip
// <mask>: fullwidth "＜ｎ＞" normalises to it.
func nfkcFile(t testing.TB) string {
	t.Helper()
	return mpnetLike(t, true, func(doc map[string]any) {
		n := len(doc["model"].(map[string]any)["vocab"].(map[string]any))
		doc["added_tokens"] = append(doc["added_tokens"].([]any),
			addedToken(n, "<n>", false, false, true, false, true))
		doc["normalizer"] = map[string]any{"type": "Sequence", "normalizers": []any{
			map[string]any{"type": "NFKC"}, map[string]any{"type": "Lowercase"}}}
		doc["pre_tokenizer"] = map[string]any{"type": "Metaspace", "replacement": "▁", "add_prefix_space": true}
	})
}

// TestLiteralRunsBehindNonASCIIAreCut: a run of normalized literals
// written with characters the normaliser maps to them ("＜ｎ＞" under
// NFKC) is cut too; counting only the bytes that start a literal as
// written, it went whole to sugarme (40,000 of them took 2.7 s, and 16 MB
// would take hours).
func TestLiteralRunsBehindNonASCIIAreCut(t *testing.T) {
	path := nfkcFile(t)
	// On sugarme's path, as under a normalizer retune does not run
	// itself (ownNormalizer); on retune's, literals are found in one pass.
	tok, whole := mustLoad(t, path, withoutOwn()), mustLoad(t, path, withoutOwn())
	whole.literals, whole.spaceCuts = literalCuts{}, false
	for _, u := range []string{"＜ｎ＞", "＜Ｎ＞ ", "<ｎ>", "＜mask＞", "é"} {
		text := "hello " + strings.Repeat(u, 3*literalsPerCall) + " world"
		pieces := slices.Collect(tok.literals.cut(text))
		if u != "é" && len(pieces) < 3 {
			t.Errorf("%q × %d: %d pieces", u, 3*literalsPerCall, len(pieces))
		}
		got, _, err := tok.content(text, -1, false)
		want, _, wholeErr := whole.content(text, -1, false)
		if err != nil || wholeErr != nil {
			t.Fatalf("%q: %v, whole %v", u, err, wholeErr)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%q × %d: %d ids, whole %d", u, 3*literalsPerCall, len(got), len(want))
		}
	}
}

// BenchmarkMaskRun encodes n <mask> (lstrip) with no space natively and
// through sugarme, cut at literals and, as before the cuts, whole: whole
// grows with n², cut and native with n.
func BenchmarkMaskRun(b *testing.B) {
	for _, n := range []int{8000, 16000, 32000} {
		text := strings.Repeat("<mask>", n)
		for _, path := range []string{"native", "cut", "whole"} {
			b.Run(fmt.Sprintf("n=%d/%s", n, path), func(b *testing.B) {
				var opts []Option
				if path != "native" {
					opts = append(opts, withoutNative())
				}
				tok, err := Load(mpnetLike(b, false, nil), opts...)
				if err != nil {
					b.Fatal(err)
				}
				if path == "whole" {
					tok.literals, tok.spaceCuts = literalCuts{}, false // never cuts
				}
				for b.Loop() {
					if _, err := tok.Tokens(text); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// Under a Metaspace that prepends "▁" to the first split of a call only, a
// literal run is cut only where the next piece starts with whitespace or a
// literal: cut after "<mask>" in "<mask>the", the piece "the…" would get
// "▁the" where the whole text has "the".
func TestLiteralCutsUnderPrependFirst(t *testing.T) {
	meta := map[string]any{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": true}
	behind := map[string]any{"type": "Sequence", "pretokenizers": []any{map[string]any{"type": "WhitespaceSplit"}, meta}}
	load := func(pre any) *Tokenizer {
		return mustLoad(t, mpnetLike(t, false, func(doc map[string]any) { doc["pre_tokenizer"] = pre }))
	}
	for _, tt := range []struct {
		pre  any
		text string
		cut  bool
	}{
		{meta, "hello " + strings.Repeat("<mask>the", 3*literalsPerCall), false},
		{meta, "hello " + strings.Repeat("<mask> the", 3*literalsPerCall), true},
		{meta, "hello " + strings.Repeat("<mask>", 3*literalsPerCall) + "the", true},
		// Behind WhitespaceSplit each word is a split of its own: after
		// the space, "the" would be a piece's first split.
		{behind, "hello" + strings.Repeat(" <s> the", 3*literalsPerCall), false},
		{behind, "hello " + strings.Repeat("<s>", 3*literalsPerCall) + "the", true},
	} {
		tok, whole := load(tt.pre), load(tt.pre)
		whole.literals, whole.spaceCuts = literalCuts{}, false
		if !tok.literals.first {
			t.Fatal("prepend_scheme first not read")
		}
		if pieces := len(slices.Collect(tok.literals.cut(tt.text))); (pieces > 1) != tt.cut {
			t.Errorf("%.20q…: %d pieces, want cut %v", tt.text, pieces, tt.cut)
		}
		got, gotToks, err := tok.content(tt.text, -1, true)
		want, wantToks, wholeErr := whole.content(tt.text, -1, true)
		if err != nil || wholeErr != nil {
			t.Fatalf("%.20q…: %v, whole %v", tt.text, err, wholeErr)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%.20q…: %d ids %q…, whole %d %q…", tt.text, len(got), gotToks[:min(8, len(gotToks))], len(want), wantToks[:min(8, len(wantToks))])
		}
	}
}
