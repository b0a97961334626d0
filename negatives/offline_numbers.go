package negatives

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// cfQuantity is a number (or spelled-out quantity) in a text and what
// surrounds it: the unit that follows and the comparator that precedes it.
type cfQuantity struct {
	tok        int    // token index
	percent    bool   // followed by '%' or "percent"
	unitTok    int    // token index of a unit word after it, or -1
	unitSuffix string // unit glued with a hyphen ("12-week" → "week")
	cmp        cfSpan // span of a bound phrase before it ("at least"), or empty
	cmpRepl    string // the flipped bound
}

// cfQuantities finds the quantities of t in text order.
func cfQuantities(t *cfText) []cfQuantity {
	var out []cfQuantity
	for i, tok := range t.toks {
		_, word := cfNumberWords[tok.lower]
		_, mult := cfMultipliers[tok.lower]
		if !tok.isNum() && !word && !mult {
			continue
		}
		q := cfQuantity{tok: i, unitTok: -1}
		if tok.isNum() {
			if tok.numEnd < tok.end {
				q.unitSuffix = strings.ToLower(t.src[tok.numEnd+1 : tok.end])
			}
			rest := t.src[tok.end:]
			q.percent = strings.HasPrefix(strings.TrimLeft(rest, " "), "%")
			if i+1 < len(t.toks) && t.toks[i+1].sent == tok.sent &&
				strings.TrimSpace(t.src[tok.end:t.toks[i+1].start]) == "" {
				next := t.toks[i+1].lower
				q.percent = q.percent || next == "percent"
				if _, ok := cfUnits[next]; ok && q.unitSuffix == "" {
					q.unitTok = i + 1
				}
			}
			if _, ok := cfUnits[q.unitSuffix]; !ok {
				q.unitSuffix = ""
			}
		}
		q.cmp, q.cmpRepl = cfBoundBefore(t, tok)
		out = append(out, q)
	}
	return out
}

// cfBoundBefore finds a comparator phrase ending right before tok (only
// spaces between), within tok's sentence.
func cfBoundBefore(t *cfText, tok cfToken) (cfSpan, string) {
	lo := max(t.sents[tok.sent].start, tok.start-16)
	before := t.src[lo:tok.start]
	trimmed := strings.TrimRight(before, " ")
	lower := strings.ToLower(trimmed)
	for _, c := range cfComparators {
		if !strings.HasSuffix(lower, c[0]) {
			continue
		}
		start := lo + len(trimmed) - len(c[0])
		if r, _ := utf8.DecodeRuneInString(c[0]); unicode.IsLetter(r) && start > 0 {
			// A word comparator must start a word: "cover 5" is not "over 5".
			if p, _ := utf8.DecodeLastRuneInString(t.src[:start]); unicode.IsLetter(p) {
				continue
			}
		}
		return cfSpan{start, lo + len(trimmed)}, cfMatchCase(t.src[start:lo+len(trimmed)], c[1])
	}
	return cfSpan{}, ""
}

// cfConstraintEdit changes quantity q in one way picked by rng among the
// ways that apply: flip its bound, change its unit, or scale the number.
// It returns the edit, the strategy name and a description of the change.
func cfConstraintEdit(t *cfText, q cfQuantity, rng *rand.Rand) (cfEdit, string, string, bool) {
	tok := t.toks[q.tok]
	type op func() (cfEdit, string, string, bool)
	var ops []op
	if q.cmp.end > q.cmp.start {
		ops = append(ops, func() (cfEdit, string, string, bool) {
			orig := t.src[q.cmp.start:q.cmp.end]
			return cfEdit{q.cmp.start, q.cmp.end, q.cmpRepl}, "flip_bound",
				"bound " + strconv.Quote(orig) + " flipped to " + strconv.Quote(q.cmpRepl), true
		})
	}
	if q.unitTok >= 0 || q.unitSuffix != "" {
		ops = append(ops, func() (cfEdit, string, string, bool) {
			start, end, unit := 0, 0, ""
			if q.unitTok >= 0 {
				u := t.toks[q.unitTok]
				start, end, unit = u.start, u.end, u.lower
			} else {
				start, end, unit = tok.numEnd+1, tok.end, q.unitSuffix
			}
			orig := t.src[start:end]
			repl := cfMatchCase(orig, cfUnits[unit])
			return cfEdit{start, end, repl}, "change_unit",
				"unit " + strconv.Quote(orig) + " changed to " + strconv.Quote(repl), true
		})
	}
	ops = append(ops, func() (cfEdit, string, string, bool) {
		orig := t.src[tok.start:tok.end]
		if tok.isNum() {
			orig = t.src[tok.start:tok.numEnd]
		}
		repl, strategy, ok := cfScaleQuantity(orig, q.percent, rng)
		if !ok {
			return cfEdit{}, "", "", false
		}
		end := tok.end
		if tok.isNum() {
			end = tok.numEnd
		}
		return cfEdit{tok.start, end, repl}, strategy,
			"quantity " + strconv.Quote(orig) + " changed to " + strconv.Quote(repl), true
	})
	return ops[rng.IntN(len(ops))]()
}

// cfScaleQuantity returns a different value for a number, a range
// ("4-5") or a spelled-out quantity, keeping its written form (decimals,
// digit grouping, words). Years move back a decade (scaling 2005 makes no
// sense), percentages stay in (0, 100], fractions below 1 move by a factor
// of ten (0.05 ↔ 0.5 is the significance threshold case), other numbers are
// multiplied by 2, 3 or 10. Both ends of a range move by the same rule.
func cfScaleQuantity(s string, percent bool, rng *rand.Rand) (string, string, bool) {
	lower := strings.ToLower(s)
	if r, ok := cfMultipliers[lower]; ok {
		return cfMatchCase(s, r), "change_multiplier", true
	}
	if v, ok := cfNumberWords[lower]; ok {
		nv := v * (2 + rng.IntN(2))
		out := strconv.Itoa(nv)
		if nv < len(cfSpelled) {
			out = cfMatchCase(s, cfSpelled[nv])
		}
		return out, "scale_number", true
	}
	type part struct {
		v        float64
		decimals int
		grouped  bool
	}
	var parts []part
	hi := 0.0
	years := true
	for _, f := range strings.Split(s, "-") {
		p := part{grouped: strings.Contains(f, ",")}
		plain := strings.ReplaceAll(f, ",", "")
		if dot := strings.IndexByte(plain, '.'); dot >= 0 {
			p.decimals = len(plain) - dot - 1
		}
		v, err := strconv.ParseFloat(plain, 64)
		if err != nil || math.IsInf(v, 0) {
			return "", "", false
		}
		p.v, hi = v, max(hi, v)
		years = years && p.decimals == 0 && !p.grouped && v >= 1900 && v <= 2099
		parts = append(parts, p)
	}
	strategy := "scale_number"
	var scale func(p *part)
	switch {
	case years && !percent:
		strategy = "shift_year"
		scale = func(p *part) { p.v -= 10 }
	case percent && hi > 0 && hi <= 100:
		strategy = "scale_percent"
		f := 2.0
		if hi > 50 {
			f = 0.5
		}
		scale = func(p *part) { p.v *= f }
	case hi > 0 && hi < 1:
		up := hi*10 < 1
		scale = func(p *part) {
			if up {
				p.v, p.decimals = p.v*10, max(p.decimals-1, 1)
			} else {
				p.v, p.decimals = p.v/10, p.decimals+1
			}
		}
	case hi == 0:
		scale = func(p *part) { p.v = 1 }
	default:
		f := []float64{2, 3, 10}[rng.IntN(3)]
		scale = func(p *part) { p.v *= f }
	}
	out := make([]string, len(parts))
	for i := range parts {
		p := &parts[i]
		scale(p)
		if p.v != math.Trunc(p.v) && p.decimals == 0 {
			p.decimals = 1
		}
		out[i] = strconv.FormatFloat(p.v, 'f', p.decimals, 64)
		if p.grouped {
			out[i] = cfGroupThousands(out[i])
		}
	}
	res := strings.Join(out, "-")
	if res == s {
		return "", "", false
	}
	return res, strategy, true
}

// cfGroupThousands writes "12345.6" as "12,345.6".
func cfGroupThousands(s string) string {
	intPart, frac := s, ""
	if dot := strings.IndexByte(s, '.'); dot >= 0 {
		intPart, frac = s[:dot], s[dot:]
	}
	var b strings.Builder
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String() + frac
}
