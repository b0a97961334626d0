package tokenize

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode"
)

// literalKinds counts the distinct literals of c that occur in s: raw
// ones in s, normalized ones in s normalised. sugarme extracts one kind of
// literal per pass reliably (TestSpecialTokensInText); with more, cuts may
// change its ids, as documented.
func literalKinds(c *literalCuts, s string) (raw, normalized int) {
	count := func(set *literalSet, texts ...string) int {
		seen := map[string]bool{}
		for _, ls := range set.byFirst {
			for _, l := range ls {
				for _, s := range texts {
					if strings.Contains(s, l.s) {
						seen[l.s] = true
					}
				}
			}
		}
		return len(seen)
	}
	ns, err := sugarmeNormalize(c.normalizer, s)
	if err != nil {
		ns = s
	}
	return count(&c.raw, s), count(&c.norm, s, ns)
}

// FuzzLiteralCuts: a text of prefix, a run of 65 to 320 units (every k-th
// unit2) and suffix, cut at literals, gives the ids sugarme gives it whole
// wherever each pass of sugarme sees one kind of literal; cut never
// panics, even on invalid UTF-8, its pieces make the text, and a caller
// may stop it after any piece.
func FuzzLiteralCuts(f *testing.F) {
	makers := []func(testing.TB) string{
		func(t testing.TB) string { return mpnetLike(t, false, nil) },
		func(t testing.TB) string { return mpnetLike(t, true, nil) },
		func(t testing.TB) string {
			return mpnetLike(t, true, func(doc map[string]any) {
				doc["normalizer"] = map[string]any{"type": "Lowercase"}
				doc["pre_tokenizer"] = map[string]any{"type": "Metaspace", "replacement": "▁", "add_prefix_space": true}
			})
		},
		flagsFile, literalsFile, wordsFile, nfkcFile,
	}
	paths := make([]string, len(makers))
	for i, mk := range makers {
		paths[i] = mk(f)
	}
	type pair struct{ cut, whole *Tokenizer }
	loads := make([]func() (pair, error), len(paths))
	for i, p := range paths {
		loads[i] = sync.OnceValues(func() (pair, error) {
			// nfkcFile's normalizer is retune's own (own.go), which
			// leaves sugarme no literal: these test sugarme's path.
			cut, err := Load(p, withoutOwn())
			if err != nil {
				return pair{}, err
			}
			whole, err := Load(p, withoutOwn())
			if err != nil {
				return pair{}, err
			}
			whole.literals, whole.spaceCuts = literalCuts{}, false // never cuts
			return pair{cut, whole}, nil
		})
	}
	units := []string{"<mask>", " <mask>", "<mask> ", "a<mask>", "<mask>\u200b", "<mask>\u00ad", "<mask>\u0301",
		"<mask>\u3000", "<MASK>.", "[SEP]", "[SEP] ", "<s>", "</s> ", "<m>", "<r>  ", "<x> ", "<w>.", "<n>",
		"<N>\u0301", "é<n>ü", "[W].", "<W>.", "a[W]a", "＜ｎ＞", "<n>\u00a0", "\u200b<s>", "<r>\u2028", "<s>\xff",
		"<mask>中\u0301", "中<mask>\u0301", "<mask>\u00ad\u0301", "<mask>\ufeff", "<mask>\u0085", "<MASK>\u0130",
		"<mask>ẞ", "<mask>Ⱥ", "<n>ﬁ", "<n>\u2028 ", "<mask>\u200d", "\u0301<mask>", "<mask>\x00", "<mask>한\u11a8",
		"<n>\u0301 ", "<x>\u200b ", "<r>\u200b <mask>", "<w>\u0301."}
	for i := range makers {
		for j, u := range units {
			f.Add(uint8(i), "hello ", u, units[(j+5)%len(units)], " world", uint8(j*7), uint8(j%4))
		}
	}
	f.Fuzz(func(t *testing.T, file uint8, prefix, unit, unit2, suffix string, n, k uint8) {
		if unit == "" || len(unit) > 24 || len(unit2) > 24 || len(prefix) > 64 || len(suffix) > 64 {
			return
		}
		var b strings.Builder
		b.WriteString(prefix)
		for r := range literalsPerCall + 1 + int(n) {
			if k > 0 && r%int(k) == int(k)-1 {
				b.WriteString(unit2)
			} else {
				b.WriteString(unit)
			}
		}
		b.WriteString(suffix)
		text := b.String()
		p, err := loads[int(file)%len(loads)]()
		if err != nil {
			t.Fatal(err)
		}
		// cut itself, on any bytes: pieces make the text, none empty, and
		// stopping after any piece is allowed.
		pieces := slices.Collect(p.cut.literals.cut(text))
		if strings.Join(pieces, "") != text || len(pieces) > 1 && slices.Contains(pieces, "") {
			t.Fatalf("pieces %q do not make %q", pieces, text)
		}
		for stop := range min(len(pieces), 4) {
			m := 0
			for range p.cut.literals.cut(text) {
				if m == stop {
					break
				}
				m++
			}
		}
		if validateText(text) != nil {
			return
		}
		got, _, errCut := p.cut.content(text, -1, false)
		want, wantToks, errWhole := p.whole.content(text, -1, true)
		if errWhole != nil {
			return // sugarme panics on the whole text: pieces may do better
		}
		if garbled(p.cut, text, wantToks) {
			return // sugarme's whole text is no reference: pieces may do better
		}
		raw, normalized := literalKinds(&p.cut.literals, p.cut.prepForSugarme(text))
		if raw > 1 || normalized > 1 {
			return // several kinds in a pass: documented to differ
		}
		if errCut != nil || !slices.Equal(got, want) {
			t.Fatalf("file %d, %q: cut into %d, %d ids %v… (%v), whole %d ids %v…", int(file)%len(loads), text,
				len(pieces), len(got), got[:min(12, len(got))], errCut, len(want), want[:min(12, len(want))])
		}
		// Truncated encodings stop the cut early and are prefixes.
		short, _, err := p.cut.content(text, 5, false)
		if err != nil || len(short) < min(6, len(want)) || len(short) > len(want) || !slices.Equal(short, want[:len(short)]) {
			t.Fatalf("%q: limit 5 gives %v (%v), whole %v…", text, short, err, want[:min(12, len(want))])
		}
	})
}

// garbled reports whether sugarme's tokens of text (as retune hands it
// to sugarme) hold a word piece that is not in the text as normalised: after a character of several bytes
// that its normaliser deletes (U+0085 under clean_text) sugarme's offsets
// shift, and a text holding "00" came out with the token "000" whole (cut
// after literals, its pieces gave "00").
func garbled(t *Tokenizer, text string, toks []string) bool {
	if text = t.prepForSugarme(text); t.fold != nil {
		text = foldAccents(text, t.fold)
	}
	norm, err := sugarmeNormalize(t.literals.normalizer, text)
	if err != nil {
		return false
	}
	norm = strings.ToLower(norm)
	for _, tok := range toks {
		piece := strings.ToLower(strings.TrimPrefix(tok, "##"))
		if piece != "" && !strings.ContainsFunc(piece, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) &&
			!strings.Contains(norm, piece) {
			return true
		}
	}
	return false
}
