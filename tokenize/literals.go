package tokenize

import (
	"iter"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sugarme/tokenizer"
	"github.com/sugarme/tokenizer/normalizer"
	"golang.org/x/text/unicode/norm"
)

// literalsPerCall bounds the added-token literals of one chunk, or whole
// text, given to sugarme, whose matching re-sorts the matches after each
// one it takes: m literals cost m² (with the BERT file, 150 KB of "[SEP]"
// with no space took 1.7 s and 300 KB 5.2 s; 16 MB would take hours). A
// longer run is cut after a literal once literalsPerCall have gone by
// since the last cut, at the first literal where cutting changes nothing
// (see literalCuts).
const literalsPerCall = 64

// literalCuts decides where a text holding many added-token literals may
// be cut so that its pieces, encoded one by one, give the ids sugarme
// gives the whole text, and so Hugging Face's wherever sugarme's are. Both
// extract literals in two passes: the raw text is split at the matches of
// the tokens that are not `normalized`, then each stretch between them is
// normalised and split at the matches of the normalized ones; what is left
// is pre-tokenised and encoded stretch by stretch. A cut right after a
// match therefore changes no split, provided no literal spans the cut and
// no rule looks across it: lstrip takes whitespace before a match, rstrip
// whitespace after it (sugarme one character, Hugging Face all), and
// single_word drops a match beside a word character. A cut before a
// literal would not do: the piece before it would keep the whitespace an
// lstrip literal takes.
//
// Matches are found leftmost-longest, as Hugging Face finds them; sugarme
// matches each literal on its own and keeps one kind per call
// (TestSpecialTokensInText), so a run of several kinds may get other ids
// than whole. Runs stay whole where no place passes: single_word literals
// beside word characters ("<w>a<w>a…"), rstrip ones before non-ASCII
// whitespace, and normalized ones under a normaliser that does not work
// character by character or changes the literal.
type literalCuts struct {
	// raw are the literals matched in the raw text, norm those matched in
	// the normalised text between them.
	raw, norm literalSet
	// perChar: the normaliser works character by character (see
	// unitLen); normCuts: besides, a cut may follow a normalized literal.
	perChar, normCuts bool
	normalizer        normalizer.Normalizer // nil: the identity
	ascii             [utf8.RuneSelf]string // the normaliser's output for each ASCII byte
	// start: a byte that may start a literal, raw or (ASCII ones) once
	// normalised; set at load, not worked out per byte of every text.
	start [256]bool
	// first: the pipeline has a Metaspace that prepends to the first
	// split of a call only; firstBehind: behind a pre-tokenizer that
	// drops whitespace (see leadsLikeWhole).
	first, firstBehind bool
}

// newLiteralCuts reads the added tokens as sugarme matches them: special
// tokens, and other ones outside the model's vocabulary (sugarme never
// matches those). perChar says the file's normaliser works character by
// character (perCharNormalizer).
func newLiteralCuts(added []addedTokenConfig, tk *tokenizer.Tokenizer, perChar bool) literalCuts {
	c := literalCuts{normalizer: tk.GetNormalizer(), perChar: perChar}
	for b := range utf8.RuneSelf {
		s, err := sugarmeNormalize(c.normalizer, string(rune(b)))
		if err != nil {
			c.perChar = false
		}
		c.ascii[b] = s
	}
	c.normCuts = c.perChar
	for _, at := range added {
		if _, inVocab := tk.GetModel().TokenToId(at.Content); at.Content == "" || !at.Special && inVocab {
			continue
		}
		l := literal{s: at.Content, lstrip: at.Lstrip, rstrip: at.Rstrip, singleWord: at.SingleWord}
		// sugarme looks for single_word tokens, and Hugging Face for
		// normalized ones, as the normaliser makes them.
		ns, err := sugarmeNormalize(c.normalizer, at.Content)
		if at.SingleWord {
			// sugarme's pattern guards an end with \b where its character
			// is a word character to it (GetPattern), whatever the other side.
			first, _ := utf8.DecodeRuneInString(at.Content)
			last, _ := utf8.DecodeLastRuneInString(at.Content)
			l.wordStart, l.wordEnd = sugarmeWordChar(first), sugarmeWordChar(last)
			// Where sugarme looks for another string, it never matches
			// this one: no cut may follow it.
			l.unmatched = err != nil || ns != at.Content
		}
		switch {
		case err != nil:
			c.normCuts = false
		case at.Normalized && ns != at.Content:
			c.normCuts = false // the two would look for different strings
		case at.SingleWord && ns != at.Content && ns != "":
			sugarmes := l
			sugarmes.s, sugarmes.unmatched = ns, false
			c.raw.add(sugarmes, false)
		}
		if at.Normalized {
			c.norm.add(l, true)
		} else {
			c.raw.add(l, true)
		}
	}
	c.raw.index()
	c.norm.index()
	for b := range c.start {
		c.start[b] = c.raw.first[b] || c.norm.first[b] || b < utf8.RuneSelf && c.ascii[b] != "" && c.norm.first[c.ascii[b][0]]
	}
	return c
}

// literal is one string a matcher looks for, with the flags of its token.
type literal struct {
	s                          string
	lstrip, rstrip, singleWord bool
	// match: Hugging Face matches it (it is a token's content), rather
	// than only sugarme (a single_word token's normalised content).
	match bool
	// For single_word ones: sugarme's pattern has \b (ASCII) at the start,
	// at the end; unmatched: sugarme looks for another string.
	wordStart, wordEnd, unmatched bool
	// The native encoder's (native_added.go): the token a match gives,
	// whose content s is, or is the normalised form of.
	content string
	id      int32
}

// sugarmeWordChar is sugarme's isWordCharacter: its single_word pattern
// puts \b beside such a character, so "[W]" matches only between ASCII
// word characters ("a[W]a"), where Hugging Face never matches it.
func sugarmeWordChar(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsDigit(r) || unicode.IsControl(r) || unicode.IsPunct(r)
}

// sugarmeMatches reports whether sugarme's pattern for l, found at s[i:],
// matches there: a cut after l changes no split only if sugarme splits
// there too.
func sugarmeMatches(s string, i int, l literal) bool {
	if !l.singleWord {
		return true
	}
	e := i + len(l.s)
	return !l.unmatched && (!l.wordStart || asciiWordAt(s, i-1) != asciiWordAt(s, i)) &&
		(!l.wordEnd || asciiWordAt(s, e-1) != asciiWordAt(s, e))
}

// asciiWordAt reports whether s[i] is in Go's \w (asciiClass); false
// outside s.
func asciiWordAt(s string, i int) bool {
	return i >= 0 && i < len(s) && s[i] < utf8.RuneSelf && asciiClass[s[i]]&classWord != 0
}

// literalSet holds literals by first byte.
type literalSet struct {
	byFirst      [256][]literal
	first        [256]bool
	maxLen       int
	lstrip, word bool // some literal is lstrip, single_word
	// many: for a first byte many literals share, those Hugging Face
	// matches, sorted (see index).
	many [256]*literalIndex
}

// literalIndex is a first byte's matched literals: their strings sorted,
// and each one's place in byFirst.
type literalIndex struct {
	strs sortedPrefixes
	refs []int
}

// indexFrom is how many literals sharing a first byte are worth an index.
const indexFrom = 16

func (ls *literalSet) add(l literal, match bool) {
	l.match = match
	ls.many[l.s[0]] = nil // index again
	ls.byFirst[l.s[0]] = append(ls.byFirst[l.s[0]], l)
	ls.first[l.s[0]] = true
	ls.maxLen = max(ls.maxLen, len(l.s))
	ls.lstrip, ls.word = ls.lstrip || l.lstrip, ls.word || l.singleWord
}

func (ls *literalSet) empty() bool { return ls.maxLen == 0 }

// index sorts the literals of each first byte that many share, once all
// are added: a place in a text that starts one then costs a binary search
// a byte, not a look at each (files with thousands of added tokens, say
// "<tok_1>"… share "<").
func (ls *literalSet) index() {
	for b, cands := range ls.byFirst {
		if len(cands) < indexFrom {
			continue
		}
		refs := make([]int, 0, len(cands))
		for k := range cands {
			if cands[k].match {
				refs = append(refs, k)
			}
		}
		// Stable: of equal strings, the first added sorts first, as
		// longestRef's scan keeps it.
		slices.SortStableFunc(refs, func(a, b int) int { return strings.Compare(cands[a].s, cands[b].s) })
		x := &literalIndex{strs: make(sortedPrefixes, len(refs)), refs: refs}
		for k, r := range refs {
			x.strs[k] = cands[r].s
		}
		ls.many[b] = x
	}
}

// longestAt returns the longest literal Hugging Face matches at s[i:]:
// taking it and going on after it is leftmost-longest matching.
func (ls *literalSet) longestAt(s string, i int) (literal, bool) {
	if l := ls.longestRef(s, i); l != nil {
		return *l, true
	}
	return literal{}, false
}

// longestRef is longestAt's literal in ls, or nil.
func (ls *literalSet) longestRef(s string, i int) *literal {
	var found *literal
	cands := ls.byFirst[s[i]]
	if x := ls.many[s[i]]; x != nil {
		x.strs.each(s[i:min(len(s), i+ls.maxLen)], func(k int) bool {
			found = &cands[x.refs[k]]
			return true
		})
		return found
	}
	for k := range cands {
		l := &cands[k]
		if l.match && (found == nil || len(l.s) > len(found.s)) && strings.HasPrefix(s[i:], l.s) {
			found = l
		}
	}
	return found
}

// lstripAt reports whether an lstrip literal starts at s[j:].
func (ls *literalSet) lstripAt(s string, j int) bool {
	for _, l := range ls.byFirst[s[j]] {
		if l.lstrip && strings.HasPrefix(s[j:], l.s) {
			return true
		}
	}
	return false
}

// cutAfter is where a cut after the literal l ending at s[:e] goes: past
// the whitespace character an rstrip literal takes in sugarme (its
// regexp's (\s)?; Hugging Face takes all the whitespace there, which
// gives other ids only where sugarme's whole text already does). taken
// says it took one.
func cutAfter(s string, e int, l literal) (j int, taken bool) {
	if l.rstrip && e < len(s) && s[e] < utf8.RuneSelf && asciiClass[s[e]]&classGoSpace != 0 {
		return e + 1, true
	}
	return e, false
}

// safeCut reports whether matching ls in s and in s cut at j find the
// same literals with the same extents: none spans j, no lstrip or rstrip
// one can take whitespace across j, and no single_word one ends or starts
// at j beside a word character. It looks at every literal found there,
// not only the one a matcher would take. taken: see cutAfter.
func (ls *literalSet) safeCut(s string, j int, taken bool) bool {
	if j <= 0 || j >= len(s) {
		return true
	}
	before, _ := utf8.DecodeLastRuneInString(s[:j])
	after, _ := utf8.DecodeRuneInString(s[j:])
	// Whitespace before j that no rstrip literal took could be taken by
	// an lstrip literal at j, or be part of a stretch between matches
	// that goes on after j.
	if unicode.IsSpace(before) && !taken && (unicode.IsSpace(after) || ls.lstrip && ls.lstripAt(s, j)) {
		return false
	}
	for k := max(0, j-ls.maxLen); k < j; k++ {
		for _, l := range ls.byFirst[s[k]] {
			end := k + len(l.s)
			if end < j || !strings.HasPrefix(s[k:], l.s) {
				continue
			}
			if end > j || l.singleWord && isWord(after) || l.rstrip && unicode.IsSpace(after) {
				return false
			}
		}
	}
	if ls.word && isWord(before) {
		for _, l := range ls.byFirst[s[j]] {
			if l.singleWord && strings.HasPrefix(s[j:], l.s) {
				return false
			}
		}
	}
	return true
}

// isWord is Rust's Unicode \w, which Hugging Face's single_word check
// uses: Alphabetic (letters, Nl, Other_Alphabetic such as the circled
// letters U+24B6-U+24E9), marks, decimal digits, connector punctuation
// and the joiners. It holds sugarme's \w (ASCII).
func isWord(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsDigit(r) || unicode.Is(unicode.Nl, r) ||
		unicode.Is(unicode.Other_Alphabetic, r) || unicode.Is(unicode.Pc, r) || r == '\u200c' || r == '\u200d'
}

// cut yields s in pieces whose encodings, joined, are s's: a piece ends
// after a literal at the first safe place once literalsPerCall literals
// have gone by. Texts with fewer bytes that can start one are not
// scanned, and a caller that stops (its encoding already truncated) stops
// the scan.
func (c *literalCuts) cut(s string) iter.Seq[string] {
	return func(yield func(string) bool) {
		if !c.mayHoldMany(s) {
			yield(s)
			return
		}
		p := pieces{s: s, yield: yield}
		c.scan(&p)
		if !p.stopped {
			yield(s[p.start:])
		}
	}
}

// scan finds the literals of p.s, raw then normalized ones between them,
// and cuts after them.
func (c *literalCuts) scan(p *pieces) {
	s := p.s
	gap := 0
	for i := 0; i < len(s) && !p.stopped; {
		l, ok := literal{}, false
		if c.raw.first[s[i]] {
			l, ok = c.raw.longestAt(s, i)
		}
		if !ok {
			i++
			continue
		}
		c.cutGap(p, gap, i)
		// The raw pass splits here whatever the cut: the normalized
		// pass sees the same text between raw matches.
		matched := sugarmeMatches(s, i, l)
		i, gap = i+len(l.s), i+len(l.s)
		j, taken := cutAfter(s, i, l)
		p.found(j, func() (int, bool) {
			j2, ok := c.pastDeleted(s, j)
			if j2 > j {
				// What the normaliser deletes is a piece of its own
				// between the two raw matches whichever side of it the
				// cut goes: the normalized pass sees nothing there.
				j, taken = j2, false
			}
			return j, ok && matched && c.raw.safeCut(s, j, taken) && c.leadsLikeWhole(s, j)
		})
	}
	c.cutGap(p, gap, len(s))
}

// mayHoldMany reports whether more than literalsPerCall bytes of s could
// start a literal, raw or once normalised.
func (c *literalCuts) mayHoldMany(s string) bool {
	starts, nonASCII := 0, 0
	for i := 0; i < len(s) && starts <= literalsPerCall; i++ {
		if c.start[s[i]] {
			starts++
		} else if s[i] >= 0xc0 {
			nonASCII++
		}
	}
	if starts > literalsPerCall {
		return true
	}
	// Characters outside ASCII may normalise to a normalized literal's
	// start ("＜ｎ＞" is "<n>" under NFKC): where they could make up the
	// difference, count them as normalised, or a run of them would go
	// whole to sugarme. Each distinct one is normalised once.
	if !c.normCuts || c.norm.empty() || starts+nonASCII <= literalsPerCall {
		return false
	}
	var starting map[rune]bool
	for i := 0; i < len(s) && starts <= literalsPerCall; {
		r, n := utf8.DecodeRuneInString(s[i:])
		if n > 1 {
			st, ok := starting[r]
			if !ok {
				out, err := sugarmeNormalize(c.normalizer, s[i:i+n])
				st = err == nil && out != "" && c.norm.first[out[0]] && !c.start[s[i]]
				if starting == nil {
					starting = map[rune]bool{}
				}
				starting[r] = st
			}
			if st {
				starts++
			}
		}
		i += n
	}
	return starts > literalsPerCall
}

// cutGap finds the normalized literals of s[g0:g1], a stretch between raw
// matches, and cuts after them where the stretch normalises character by
// character and both passes allow it.
func (c *literalCuts) cutGap(p *pieces, g0, g1 int) {
	if c.norm.empty() || !c.normCuts || g0 == g1 {
		return
	}
	g, ok := c.gapText(p.s[g0:g1])
	if !ok {
		return
	}
	// A failed check of the normalisation is not retried in this stretch:
	// each costs the piece's length.
	trusted := true
	for i := 0; i < len(g.n) && !p.stopped; {
		l, ok := literal{}, false
		if c.norm.first[g.n[i]] {
			l, ok = c.norm.longestAt(g.n, i)
		}
		if !ok {
			i++
			continue
		}
		matched := sugarmeMatches(g.n, i, l)
		i += len(l.s)
		q, taken := cutAfter(g.n, i, l)
		j := g.rawEnd(q - 1)
		if j < 0 {
			continue // mid-character: no raw position to cut at
		}
		j += g0
		p.found(j, func() (int, bool) {
			// The raw pass runs first: its lstrip literals take
			// whitespace before the normalized pass sees it.
			if !trusted || !matched || !c.raw.safeCut(p.s, j, false) || !c.norm.safeCut(g.n, q, taken) || !c.leadsLikeWhole(p.s, j) {
				return j, false
			}
			trusted = c.sameNorm(p.s[max(g0, p.start):j], g, q)
			return j, trusted
		})
	}
}

// leadsLikeWhole reports whether a piece starting at s[j:] starts a split
// that is not the first of its call in the whole text either: under a
// Metaspace prepending to the first split only (c.first), a piece starting
// mid-word ("<mask>the" cut after the literal) would get "▁the" where the
// whole text has "the". Whitespace (which Metaspace turns into its
// replacement, so nothing is prepended, unless a pre-tokenizer before it
// drops it) and a raw literal sugarme takes (a split of its own, before
// the words) lead alike.
func (c *literalCuts) leadsLikeWhole(s string, j int) bool {
	if !c.first || j >= len(s) || !c.firstBehind && s[j] < utf8.RuneSelf && asciiClass[s[j]]&classGoSpace != 0 {
		return true
	}
	l, ok := c.raw.longestAt(s, j)
	return ok && sugarmeMatches(s, j, l)
}

// joins reports whether a raw added token spans the junction of before
// and after (text around a character about to be deleted).
func (c *literalCuts) joins(before, after string) bool {
	if c.raw.empty() {
		return false
	}
	before = before[max(0, len(before)-c.raw.maxLen):]
	s := before + after[:min(len(after), c.raw.maxLen)]
	for k := 0; k < len(before); k++ {
		if !c.raw.first[s[k]] {
			continue
		}
		if l, ok := c.raw.longestAt(s, k); ok && k+len(l.s) > len(before) {
			return true
		}
	}
	return false
}

// mayStart reports whether some byte of s may start an added token, raw or
// once normalised; with normalized tokens, any non-ASCII byte may.
func (c *literalCuts) mayStart(s string) bool {
	for i := 0; i < len(s); i++ {
		if c.start[s[i]] || s[i] >= utf8.RuneSelf && !c.norm.empty() {
			return true
		}
	}
	return false
}

// pastDeleted moves a cut at j past what the normaliser deletes (a
// zero-width space under a BERT normaliser): sugarme garbles, or panics
// on, a text that starts with it. ok is false where that cannot be told
// (a normaliser that does not work character by character) and j is at a
// format or control character.
func (c *literalCuts) pastDeleted(s string, j int) (int, bool) {
	if c.normalizer == nil {
		return j, true
	}
	if !c.perChar {
		r, _ := utf8.DecodeRuneInString(s[j:])
		return j, !(unicode.In(r, unicode.Cc, unicode.Cf) && !unicode.IsSpace(r))
	}
	for j < len(s) {
		u := unitLen(s, j)
		if out, err := c.normalizeUnit(s[j : j+u]); err != nil || out != "" {
			return j, err == nil
		}
		j += u
	}
	return j, true
}

func (c *literalCuts) normalizeUnit(u string) (string, error) {
	if len(u) == 1 && u[0] < utf8.RuneSelf {
		return c.ascii[u[0]], nil
	}
	return sugarmeNormalize(c.normalizer, u)
}

// gapText is a stretch of raw text as the normaliser makes it.
type gapText struct {
	n string
	// ends[k] is the raw offset after the character that gave byte k of n,
	// where k is its last byte, else -1; nil when n is the raw text.
	ends []int
}

func (g *gapText) rawEnd(k int) int {
	if g.ends == nil {
		return k + 1
	}
	return g.ends[k]
}

// gapText normalises raw one character at a time (with what combines with
// it: see boundary), as the normaliser would normalise it whole, and
// remembers where each character's output ends. ok is false if a
// character fails to normalise.
func (c *literalCuts) gapText(raw string) (gapText, bool) {
	if c.normalizer == nil {
		return gapText{n: raw}, true
	}
	var b strings.Builder
	ends := make([]int, 0, len(raw))
	for k := 0; k < len(raw); {
		u := unitLen(raw, k)
		out, err := c.normalizeUnit(raw[k : k+u])
		if err != nil {
			return gapText{}, false
		}
		for range len(out) - 1 {
			ends = append(ends, -1)
		}
		switch {
		case out != "":
			ends = append(ends, k+u)
		case len(ends) > 0 && ends[len(ends)-1] == k:
			// A cut goes after what normalises to nothing (a zero-width
			// space): sugarme garbles a piece that starts with it.
			ends[len(ends)-1] = k + u
		}
		b.WriteString(out)
		k += u
	}
	return gapText{n: b.String(), ends: ends}, true
}

// sameNorm checks the piece a cut would end, raw (from the stretch's
// start or the last cut), against the normalised stretch up to i: a
// normaliser that is not character by character somewhere (sugarme
// mishandles a few characters) must not have a cut made on a wrong view.
func (c *literalCuts) sameNorm(raw string, g gapText, i int) bool {
	if g.ends == nil {
		return true
	}
	n, err := sugarmeNormalize(c.normalizer, raw)
	return err == nil && strings.HasSuffix(g.n[:i], n)
}

// unitLen is the length of the character at s[k:] with the characters
// that combine with it under any Unicode normal form: normalising such
// units one by one is normalising the text.
func unitLen(s string, k int) int {
	if s[k] < utf8.RuneSelf && (k+1 == len(s) || s[k+1] < utf8.RuneSelf) {
		return 1
	}
	_, n := utf8.DecodeRuneInString(s[k:])
	for k+n < len(s) && !boundary(s[k+n:]) {
		_, m := utf8.DecodeRuneInString(s[k+n:])
		n += m
	}
	return n
}

func boundary(s string) bool {
	for _, f := range []norm.Form{norm.NFC, norm.NFD, norm.NFKC, norm.NFKD} {
		if !f.PropertiesString(s).BoundaryBefore() {
			return false
		}
	}
	return true
}

// pieces yields the cuts of s.
type pieces struct {
	s       string
	yield   func(string) bool
	stopped bool // yield said stop
	start   int  // of the piece being built
	n       int  // literals in it
}

// found counts a literal ending at j and, if literalsPerCall of them are
// waiting, cuts where safe says a cut at j changes nothing (it may move
// the cut further on), if it does.
func (p *pieces) found(j int, safe func() (int, bool)) {
	p.n++
	if p.stopped || p.n < literalsPerCall || j <= p.start || j >= len(p.s) {
		return
	}
	if j, ok := safe(); ok && j < len(p.s) {
		p.stopped = !p.yield(p.s[p.start:j])
		p.start, p.n = j, 0
	}
}
