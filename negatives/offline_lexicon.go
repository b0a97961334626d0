package negatives

import "strings"

// Word lists behind the offline generator's relation and constraint breaks.
// They are deliberately small and biomedical-leaning (SciFact claims are of
// the form "X increases/reduces/is associated with Y"); a word that is not
// listed simply makes a break inapplicable, it never produces a wrong edit.

// cfDirectionPairs are lexical families with opposite direction, form by
// form: the i-th word of one side maps to the i-th word of the other. A word
// listed on several right-hand sides keeps its first opposite.
var cfDirectionPairs = [][2]string{
	{"increase increases increased increasing", "decrease decreases decreased decreasing"},
	{"reduce reduces reduced reducing reduction", "increase increases increased increasing increase"},
	{"higher highest", "lower lowest"},
	{"lowers lowered lowering", "raises raised raising"},
	{"greater", "smaller"},
	{"more", "less"},
	{"fewer", "more"},
	{"elevated elevation", "reduced reduction"},
	{"positive positively", "negative negatively"},
	{"upregulate upregulates upregulated upregulating upregulation", "downregulate downregulates downregulated downregulating downregulation"},
	{"up-regulate up-regulates up-regulated up-regulating up-regulation", "down-regulate down-regulates down-regulated down-regulating down-regulation"},
	{"improve improves improved improving improvement", "worsen worsens worsened worsening deterioration"},
	{"promote promotes promoted promoting", "inhibit inhibits inhibited inhibiting"},
	{"activate activates activated activating activation", "suppress suppresses suppressed suppressing suppression"},
	{"induce induces induced inducing induction", "prevent prevents prevented preventing prevention"},
	{"enhance enhances enhanced enhancing enhancement", "impair impairs impaired impairing impairment"},
	{"accelerate accelerates accelerated accelerating", "slow slows slowed slowing"},
	{"stimulate stimulates stimulated stimulating stimulation", "inhibit inhibits inhibited inhibiting inhibition"},
	{"gain gains", "loss losses"},
	{"beneficial benefit benefits", "harmful harm harms"},
	{"protective protects protected", "detrimental harms harmed"},
	{"effective efficacious", "ineffective inefficacious"},
	{"sufficient", "insufficient"},
	{"necessary essential required", "dispensable dispensable dispensable"},
	{"presence", "absence"},
	{"agonist agonists", "antagonist antagonists"},
	{"overexpression overexpressed", "underexpression underexpressed"},
	{"faster", "slower"},
	{"longer", "shorter"},
	{"larger", "smaller"},
	{"stronger", "weaker"},
	{"better", "worse"},
	{"earlier", "later"},
	{"maximum maximal", "minimum minimal"},
	{"most", "least"},
}

// cfDirection maps a direction word to its opposite; cfFamily maps it to a
// family id so every form of the chosen family can be flipped together.
var cfDirection, cfFamily = cfBuildDirections()

func cfBuildDirections() (map[string]string, map[string]int) {
	opp := map[string]string{}
	fam := map[string]int{}
	for i, p := range cfDirectionPairs {
		l, r := strings.Fields(p[0]), strings.Fields(p[1])
		if len(l) != len(r) {
			panic("negatives: direction pair " + p[0] + " / " + p[1] + " is not form by form")
		}
		for j := range l {
			if _, ok := opp[l[j]]; !ok {
				opp[l[j]], fam[l[j]] = r[j], 2*i
			}
			if _, ok := opp[r[j]]; !ok {
				opp[r[j]], fam[r[j]] = l[j], 2*i+1
			}
		}
	}
	return opp, fam
}

// cfAssociation words state a relation that is negated by a preceding "not".
var cfAssociation = cfSet(`associated linked related correlated correlates correlate correlation
predictive predicts predict involved implicated`)

// cfNegatable are auxiliaries after which "not" negates the clause.
var cfNegatable = cfSet(`is are was were can could may might does do did has have had will would should`)

// cfComparators flip the bound a number sets; multi-word keys come first so
// "at least" wins over a bare "least".
var cfComparators = [][2]string{
	{"at least", "at most"}, {"at most", "at least"},
	{"more than", "less than"}, {"less than", "more than"},
	{"greater than", "less than"}, {"fewer than", "more than"},
	{"higher than", "lower than"}, {"lower than", "higher than"},
	{"up to", "at least"}, {"no more than", "at least"},
	{"over", "under"}, {"under", "over"}, {"above", "below"}, {"below", "above"},
	{"exceeding", "below"}, {"within", "beyond"},
	{"<=", ">="}, {">=", "<="}, {"≤", "≥"}, {"≥", "≤"}, {"<", ">"}, {">", "<"},
}

// cfUnits maps a unit to another of the same dimension, so "12 weeks"
// becomes "12 months": a different constraint that reads naturally.
var cfUnits = map[string]string{
	"mg": "g", "g": "mg", "kg": "g", "µg": "mg", "μg": "mg", "ng": "µg", "mcg": "mg",
	"ml": "l", "l": "ml", "µl": "ml", "μl": "ml",
	"nm": "µm", "µm": "mm", "μm": "mm", "mm": "nm", "mmol": "µmol", "µmol": "mmol", "mol": "mmol",
	"day": "week", "days": "weeks", "week": "month", "weeks": "months", "month": "year",
	"months": "years", "year": "month", "years": "months", "hour": "day", "hours": "days",
	"h": "min", "min": "h", "minute": "hour", "minutes": "hours", "second": "minute", "seconds": "minutes",
	"decade": "year", "decades": "years",
}

// cfNumberWords are spelled-out quantities the constraint break can scale.
// "one" is left out: in abstracts it is mostly a pronoun ("one of the").
var cfNumberWords = map[string]int{
	"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
	"nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "twenty": 20,
}

// cfMultipliers are spelled-out ratios and their replacements.
var cfMultipliers = map[string]string{
	"twice": "three times", "double": "triple", "doubled": "tripled", "doubles": "triples",
	"half": "a quarter", "twofold": "fourfold", "threefold": "sixfold", "tenfold": "twofold",
}

// cfSpelled writes small integers as words and the rest as digits.
var cfSpelled = []string{"zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
	"nine", "ten", "eleven", "twelve"}

// cfAdjectiveSuffixes mark a modifier as adjective-like, which the
// attribute break prefers so it swaps "chronic" rather than a noun modifier.
// "-ing" is left out: in abstracts it marks verbs ("encoding", "using")
// more often than modifiers.
var cfAdjectiveSuffixes = []string{"al", "ic", "ive", "ous", "ary", "ar", "ile", "ant", "ent", "able", "ible", "ful", "less", "ed"}

func cfAdjectiveLike(w string) bool {
	for _, s := range cfAdjectiveSuffixes {
		if len(w) > len(s)+2 && strings.HasSuffix(w, s) {
			return true
		}
	}
	return false
}
