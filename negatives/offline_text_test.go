package negatives

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

func TestOfflineSentences(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"One. Two! Three?", []string{"One.", "Two!", "Three?"}},
		{"  P was 0.05. Next one.  ", []string{"P was 0.05.", "Next one."}},
		{"Drugs (e.g. aspirin) vs. placebo were compared. (Ref) Done.", []string{"Drugs (e.g. aspirin) vs. placebo were compared.", "(Ref) Done."}},
		{"Rates rose (p<0.01). 2005 data agree.", []string{"Rates rose (p<0.01).", "2005 data agree."}},
		{"No final stop", []string{"No final stop"}},
		{"", nil},
	}
	for _, tc := range tests {
		var got []string
		for _, s := range cfSentences(tc.in) {
			got = append(got, tc.in[s.start:s.end])
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("cfSentences(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestOfflineTokenize(t *testing.T) {
	src := "In 12-week trials, 4-5% of 1,200 IL-6 patients' levels (P<0.05) rose; CD4 1990s."
	type tok struct {
		text, num string
	}
	var got []tok
	for _, x := range cfParse(src).toks {
		num := ""
		if x.isNum() {
			num = src[x.start:x.numEnd]
		}
		got = append(got, tok{src[x.start:x.end], num})
	}
	// A trailing apostrophe is not between letters, so "patients'" loses it.
	want := []tok{{"In", ""}, {"12-week", "12"}, {"trials", ""}, {"4-5", "4-5"}, {"of", ""}, {"1,200", "1,200"},
		{"IL-6", ""}, {"patients", ""}, {"levels", ""}, {"P", ""}, {"0.05", "0.05"}, {"rose", ""}, {"CD4", ""}, {"1990s", ""}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("tokens\n got %v\nwant %v", got, want)
	}
}

func TestOfflineScaleQuantity(t *testing.T) {
	tests := []struct {
		in       string
		percent  bool
		want     []string
		strategy string
	}{
		{"2005", false, []string{"1995"}, "shift_year"},
		{"1990-1993", false, []string{"1980-1983"}, "shift_year"},
		{"30", true, []string{"60"}, "scale_percent"},
		{"75", true, []string{"37.5"}, "scale_percent"},
		{"4-5", true, []string{"8-10"}, "scale_percent"},
		{"0.05", false, []string{"0.5"}, "scale_number"},
		{"0.5", false, []string{"0.05"}, "scale_number"},
		{"0", false, []string{"1"}, "scale_number"},
		{"1,200", false, []string{"2,400", "3,600", "12,000"}, "scale_number"},
		{"2.5", false, []string{"5.0", "7.5", "25.0"}, "scale_number"},
		{"Two", false, []string{"Four", "Six"}, "scale_number"},
		{"twice", false, []string{"three times"}, "change_multiplier"},
	}
	for _, tc := range tests {
		for seed := range uint64(5) {
			got, strategy, ok := cfScaleQuantity(tc.in, tc.percent, rand.New(rand.NewPCG(seed, 1)))
			if !ok || !slices.Contains(tc.want, got) || strategy != tc.strategy {
				t.Errorf("cfScaleQuantity(%q, %v) = %q, %q, %v; want one of %q, %q", tc.in, tc.percent, got, strategy, ok, tc.want, tc.strategy)
			}
		}
	}
}

func TestOfflineConstraintEdits(t *testing.T) {
	// Each quantity's applicable edits, over enough seeds to see them all.
	tests := []struct {
		src  string
		want []string
	}{
		{"Patients were followed for at least 5 years.", []string{
			"Patients were followed for at most 5 years.",
			"Patients were followed for at least 5 months.",
			"Patients were followed for at least 10 years.", "Patients were followed for at least 15 years.",
			"Patients were followed for at least 50 years."}},
		{"A 12-week course was given.", []string{"A 12-month course was given.",
			"A 24-week course was given.", "A 36-week course was given.", "A 120-week course was given."}},
		{"Effects were significant (P<0.05).", []string{"Effects were significant (P>0.05).", "Effects were significant (P<0.5)."}},
	}
	for _, tc := range tests {
		txt := cfParse(tc.src)
		qs := cfQuantities(txt)
		if len(qs) != 1 {
			t.Fatalf("%q: %d quantities, want 1", tc.src, len(qs))
		}
		seen := map[string]bool{}
		for seed := range uint64(60) {
			e, _, _, ok := cfConstraintEdit(txt, qs[0], rand.New(rand.NewPCG(seed, 0)))
			if !ok {
				t.Fatalf("%q: no edit", tc.src)
			}
			got := cfApply(tc.src, []cfEdit{e})
			if !slices.Contains(tc.want, got) {
				t.Errorf("%q → %q, not an expected edit", tc.src, got)
			}
			seen[got] = true
		}
		if len(seen) != len(tc.want) {
			t.Errorf("%q: saw %d of %d edits: %v", tc.src, len(seen), len(tc.want), seen)
		}
	}
}

func TestOfflineMatchCase(t *testing.T) {
	tests := []struct{ orig, repl, want string }{
		{"aspirin", "clopidogrel", "clopidogrel"},
		{"Aspirin", "clopidogrel", "Clopidogrel"},
		{"DNA", "dsb", "DSB"},       // acronym for acronym
		{"DNA", "damage", "damage"}, // not shouted
		{"HIV-1", "siv", "SIV"},     // short: an acronym
		{"IL-6", "tnf-α", "TNF-Α"},  // digits or short: upper
		{"Increases", "decreases", "Decreases"},
		{"x", "", ""},
	}
	for _, tc := range tests {
		if got := cfMatchCase(tc.orig, tc.repl); got != tc.want {
			t.Errorf("cfMatchCase(%q, %q) = %q, want %q", tc.orig, tc.repl, got, tc.want)
		}
	}
}

func TestOfflineRelatedForm(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"increase", "increased", true},
		{"tumor", "tumour", true},
		{"ischemic", "ischaemic", true},
		{"insulin", "insulin-like", true},
		{"mice", "rats", false},
		// The price of catching spellings: at 5+ letters, one or two edits
		// count as a variant even between different words.
		{"stroke", "strike", true},
		{"insulin", "glucose", false},
	}
	for _, tc := range tests {
		if got := cfRelatedForm(tc.a, tc.b); got != tc.want {
			t.Errorf("cfRelatedForm(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
