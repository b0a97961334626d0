package negatives

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Text handling for the offline generator. Every counterfactual is built by
// replacing byte spans of the original text, never by re-joining tokens, so
// a negative differs from its source only where the violation says it does
// (punctuation, spacing and casing elsewhere are untouched).

// cfToken is one word or number of a text with its byte span.
type cfToken struct {
	start, end int
	lower      string // lowercased surface form
	numEnd     int    // > start when the token begins with a number: end of the numeric part
	sent       int    // index of the sentence holding the token
}

// isNum reports whether the token is a number, possibly with a hyphenated
// unit suffix ("12-week").
func (t cfToken) isNum() bool { return t.numEnd > t.start }

// cfSpan is a half-open byte range of a text.
type cfSpan struct{ start, end int }

// cfText is a tokenised text.
type cfText struct {
	src   string
	toks  []cfToken
	sents []cfSpan
}

func cfParse(src string) *cfText {
	t := &cfText{src: src, sents: cfSentences(src)}
	t.toks = cfTokenize(src, t.sents)
	return t
}

// sentenceText is sentence i as written.
func (t *cfText) sentenceText(i int) string { return t.src[t.sents[i].start:t.sents[i].end] }

func cfIsAlnum(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

// cfRune decodes the rune at s[i:], with a fast path for ASCII, which is
// almost all of an English corpus.
func cfRune(s string, i int) (rune, int) {
	if i >= len(s) {
		return utf8.RuneError, 0
	}
	if c := s[i]; c < utf8.RuneSelf {
		return rune(c), 1
	}
	return utf8.DecodeRuneInString(s[i:])
}

// cfTokenize splits src into words and numbers. Hyphens and apostrophes join
// letters and digits on both sides ("IL-6", "patient's"); '.' and ',' join
// only digits ("0.05", "1,000") so sentence punctuation never sticks to a
// word. sents (from cfSentences) assigns each token its sentence.
func cfTokenize(src string, sents []cfSpan) []cfToken {
	toks := make([]cfToken, 0, len(src)/6+1)
	si := 0
	i := 0
	for i < len(src) {
		r, w := cfRune(src, i)
		if !cfIsAlnum(r) {
			i += w
			continue
		}
		start := i
		prev := r
		i += w
		for i < len(src) {
			r, w := cfRune(src, i)
			if cfIsAlnum(r) {
				prev = r
				i += w
				continue
			}
			next, nw := cfRune(src, i+w)
			if nw == 0 || !cfIsAlnum(next) {
				break
			}
			joins := false
			switch r {
			case '-', '\'', '’':
				joins = true
			case '.', ',':
				joins = unicode.IsDigit(prev) && unicode.IsDigit(next)
			}
			if !joins {
				break
			}
			i += w
		}
		for si < len(sents)-1 && start >= sents[si].end {
			si++
		}
		tok := cfToken{start: start, end: i, lower: strings.ToLower(src[start:i]), sent: si}
		tok.numEnd = cfNumericPrefix(src, start, i)
		toks = append(toks, tok)
	}
	return toks
}

// cfNumericPrefix returns the end of the number the token [start,end)
// begins with, or start when it is not a number. A number is digits with
// internal '.' or ','; a range joins numbers with '-' ("4-5", "1990-1993");
// either may carry a hyphenated alphabetic suffix ("12-week", "5-fold").
// "CD4" and "1990s" are words.
func cfNumericPrefix(src string, start, end int) int {
	j := start
	for {
		k := j
		for k < end && (src[k] >= '0' && src[k] <= '9' || (src[k] == '.' || src[k] == ',') && k > j) {
			k++
		}
		if k == j {
			if j == start {
				return start
			}
			return j - 1 // a '-' followed by letters: the suffix starts after it
		}
		j = k
		if j == end {
			return j
		}
		if src[j] != '-' {
			return start
		}
		j++
	}
}

// cfSentences splits src at '.', '!' or '?' (plus closing quotes/brackets)
// followed by whitespace and a capital letter, a digit or an opening bracket.
// Lower-case continuations ("e.g. the", "vs. placebo") do not split, which is
// the common abbreviation case in abstracts.
func cfSentences(src string) []cfSpan {
	var out []cfSpan
	start := cfSkipSpace(src, 0)
	i := start
	for i < len(src) {
		c := src[i]
		if c != '.' && c != '!' && c != '?' {
			i++
			continue
		}
		end := i + 1
		for end < len(src) && strings.IndexByte(`)]"'`, src[end]) >= 0 {
			end++
		}
		next := cfSkipSpace(src, end)
		if next == end && next < len(src) {
			i = end
			continue
		}
		if next < len(src) {
			r, _ := utf8.DecodeRuneInString(src[next:])
			if !unicode.IsUpper(r) && !unicode.IsDigit(r) && r != '(' && r != '[' {
				i = end
				continue
			}
		}
		if end > start {
			out = append(out, cfSpan{start, end})
		}
		start, i = next, next
	}
	if end := cfTrimRightSpace(src); end > start {
		out = append(out, cfSpan{start, end})
	}
	return out
}

func cfSkipSpace(s string, i int) int {
	for i < len(s) {
		r, w := utf8.DecodeRuneInString(s[i:])
		if !unicode.IsSpace(r) {
			break
		}
		i += w
	}
	return i
}

func cfTrimRightSpace(s string) int { return len(strings.TrimRightFunc(s, unicode.IsSpace)) }

// cfEdit replaces src[start:end] with repl.
type cfEdit struct {
	start, end int
	repl       string
}

// cfApply applies non-overlapping edits (in any order) to src.
func cfApply(src string, edits []cfEdit) string {
	edits = slices.Clone(edits)
	slices.SortFunc(edits, func(a, b cfEdit) int { return a.start - b.start })
	var b strings.Builder
	b.Grow(len(src) + 32)
	at := 0
	for _, e := range edits {
		if e.start < at {
			continue // overlapping: the first edit wins
		}
		b.WriteString(src[at:e.start])
		b.WriteString(e.repl)
		at = e.end
	}
	b.WriteString(src[at:])
	return b.String()
}

// cfDropSentence removes sentence i with the whitespace that separated it
// from its neighbour, leaving every other byte as it was.
func (t *cfText) dropSentence(i int) string {
	s := t.sents[i]
	switch {
	case i+1 < len(t.sents):
		return t.src[:s.start] + t.src[t.sents[i+1].start:]
	case i > 0:
		return t.src[:t.sents[i-1].end] + t.src[s.end:]
	default:
		return ""
	}
}

// cfMatchCase gives repl the casing pattern of orig: ALL CAPS, Capitalised
// or as given (lower case). An all-caps orig is usually an acronym ("DNA"),
// so its casing passes only to a replacement that looks like one too
// ("dsb" → "DSB", but "damage" stays "damage").
func cfMatchCase(orig, repl string) string {
	if repl == "" {
		return repl
	}
	hasLower, hasUpper := false, false
	for _, r := range orig {
		hasLower = hasLower || unicode.IsLower(r)
		hasUpper = hasUpper || unicode.IsUpper(r)
	}
	if hasUpper && !hasLower && utf8.RuneCountInString(orig) > 1 {
		if cfAcronymLike(repl) || strings.ContainsRune(orig, ' ') {
			return strings.ToUpper(repl)
		}
		return repl
	}
	if r, _ := utf8.DecodeRuneInString(orig); unicode.IsUpper(r) {
		q, qw := utf8.DecodeRuneInString(repl)
		return string(unicode.ToUpper(q)) + repl[qw:]
	}
	return repl
}

// cfAcronymLike guesses whether a lowercased word is written in capitals:
// short, or with a digit, or without a vowel ("il-6", "dsb", "hiv").
func cfAcronymLike(w string) bool {
	return utf8.RuneCountInString(w) <= 3 || strings.IndexFunc(w, unicode.IsDigit) >= 0 ||
		!strings.ContainsAny(w, "aeiouy")
}

// cfStem is a crude suffix stripper used only to match a query word with its
// inflections in a document ("increases", "increased", "increasing" all give
// "increas"); it never produces text.
func cfStem(w string) string {
	w = strings.TrimSuffix(strings.TrimSuffix(w, "'s"), "’s")
	switch {
	case len(w) > 4 && strings.HasSuffix(w, "ies"):
		w = w[:len(w)-3] + "y"
	case len(w) > 4 && strings.HasSuffix(w, "sses"):
		w = w[:len(w)-2]
	case len(w) > 3 && strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") &&
		!strings.HasSuffix(w, "us") && !strings.HasSuffix(w, "is"):
		w = w[:len(w)-1]
	}
	switch {
	case len(w) > 5 && strings.HasSuffix(w, "ing"):
		w = w[:len(w)-3]
	case len(w) > 4 && strings.HasSuffix(w, "ed"):
		w = w[:len(w)-2]
	}
	if len(w) > 4 && strings.HasSuffix(w, "e") {
		w = w[:len(w)-1]
	}
	return w
}

// cfIsContent reports whether a lowercased token can carry meaning on its
// own: not a stop-word, not a number, at least two characters, with a letter.
func cfIsContent(tok cfToken) bool {
	if tok.isNum() || len(tok.lower) < 2 || cfStopWords[tok.lower] {
		return false
	}
	return strings.IndexFunc(tok.lower, unicode.IsLetter) >= 0
}

// cfWordish reports whether a neighbour proposed for substitution is a
// single plausible word (letters, digits, inner hyphens), so a noisy
// neighbour source cannot inject punctuation or phrases into a text.
func cfWordish(w string) bool {
	if len(w) < 2 || cfStopWords[w] {
		return false
	}
	letter := false
	for i, r := range w {
		switch {
		case unicode.IsLetter(r):
			letter = true
		case unicode.IsDigit(r):
		case r == '-' && i > 0 && i < len(w)-1:
		default:
			return false
		}
	}
	return letter
}

// cfRelatedForm reports whether two words are forms of one another (same
// crude stem, or one contains the other), which makes a swap meaningless.
func cfRelatedForm(a, b string) bool {
	if a == b || cfStem(a) == cfStem(b) {
		return true
	}
	if len(a) >= 4 && len(b) >= 4 && (strings.Contains(a, b) || strings.Contains(b, a)) {
		return true
	}
	// Spelling variants ("tumor"/"tumour", "ischemic"/"ischaemic") name the
	// same thing: two edits apart at most, for words long enough that two
	// edits cannot make a different word.
	return len(a) >= 5 && len(b) >= 5 && cfEditDistanceAtMost(a, b, 2)
}

// cfEditDistanceAtMost reports whether the Levenshtein distance of a and b
// (in bytes) is at most k.
func cfEditDistanceAtMost(a, b string, k int) bool {
	if d := len(a) - len(b); d > k || -d > k {
		return false
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		best := cur[0]
		for j := 1; j <= len(b); j++ {
			sub := prev[j-1]
			if a[i-1] != b[j-1] {
				sub++
			}
			cur[j] = min(sub, prev[j]+1, cur[j-1]+1)
			best = min(best, cur[j])
		}
		if best > k {
			return false
		}
		prev, cur = cur, prev
	}
	return prev[len(b)] <= k
}

// cfStopWords are English function words plus the few all-purpose words of
// abstracts that never make a requirement on their own.
var cfStopWords = cfSet(`a about above after again against all also am an and any are aren't as at
be because been before being below between both but by can cannot could did do does doing down
during each either et al etc few for from further had has have having he her here hers herself him
himself his how however i if in into is isn't it it's its itself just me might more most must my
myself neither no nor not now of off on once only or other our ours ourselves out over own same
she should so some such than that the their theirs them themselves then there these they this
those through thus to too under until up upon us very via was wasn't we were weren't what when
where whether which while who whom why will with within without would yet you your yours
whereas although though among amongst per versus vs i.e e.g ie eg whereby thereby wherein therefore
hence herein moreover furthermore additionally respectively including`)

// cfGenericWords are content words too general to be what a query is about
// ("results", "study", "normal"); they still count towards the answer
// sentence but never become entity nodes, whose swap would change nothing
// a reader cares about.
var cfGenericWords = cfSet(`result results resulted resulting study studies studied effect effects
association associations show shows showed shown found find finding findings suggest suggests
suggested suggesting role roles level levels use used using uses based compared comparison
analysis analyses data evidence report reports reported observed significant significantly
different difference differences new novel important type types normal common specific several
many well known potential possible related due cause causes caused role involved`)

// cfModifierCue are words after which an adjacent pair of content words is
// most likely "modifier noun" rather than "verb object" ("the chronic
// inflammation" vs "to complete DNA").
var cfModifierCue = cfSet(`the a an of in on with for by from and or its their this these those
our both each among between during after before`)

func cfSet(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}
