package negatives

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// The prompt asks for 4 to 8 requirements; one fewer or two more is still a
// usable decomposition and not worth a repair round.
const minRequirements, maxRequirements = 3, 10

// analysisPromptData feeds causal_analysis.*.tmpl.
type analysisPromptData struct {
	Query, Positive string
	Facets          []string
	Types           []ViolationType
}

var analysisSchema = Schema{
	Name: causalAnalysisPrompt.name,
	Required: []string{
		"information_need", "how_answered", "answer_boundary", "requirements",
		"requirements[].id", "requirements[].facet", "requirements[].text",
		// Without this, a forgotten flag would quietly read as false.
		"requirements[].critical",
	},
	Check: func(out any) error { return checkAnalysis(out.(*Analysis)) },
}

// checkAnalysis validates an analysis and normalises its labels in place.
// All problems are reported together so one repair round can fix them all.
func checkAnalysis(a *Analysis) error {
	var errs []error
	for _, f := range []struct {
		name string
		val  *string
	}{{"information_need", &a.InformationNeed}, {"how_answered", &a.HowAnswered}, {"answer_boundary", &a.AnswerBoundary}} {
		if *f.val = strings.TrimSpace(*f.val); *f.val == "" {
			errs = append(errs, fmt.Errorf("%s is empty", f.name))
		}
	}
	if n := len(a.Requirements); n < minRequirements || n > maxRequirements {
		errs = append(errs, fmt.Errorf("give 4 to 8 requirements, not %d", n))
	}
	seen := map[string]bool{}
	critical := 0
	for i := range a.Requirements {
		r := &a.Requirements[i]
		r.ID, r.Text = strings.TrimSpace(r.ID), strings.TrimSpace(r.Text)
		r.Facet = normalizeLabel(r.Facet)
		name := r.ID
		switch {
		case r.ID == "":
			name = fmt.Sprintf("requirements[%d]", i)
			errs = append(errs, fmt.Errorf("%s has no id", name))
		case seen[r.ID]:
			errs = append(errs, fmt.Errorf("requirement id %q is used more than once", r.ID))
		}
		seen[r.ID] = true
		if !slices.Contains(Facets, r.Facet) {
			errs = append(errs, fmt.Errorf("requirement %s: facet %q is not one of %s", name, r.Facet, strings.Join(Facets, ", ")))
		}
		if r.Text == "" {
			errs = append(errs, fmt.Errorf("requirement %s has no text", name))
		}
		if !r.Critical {
			// Only critical requirements are ever broken, and breaks of the
			// others are not checked, so they are not kept either.
			r.Breaks = nil
			continue
		}
		critical++
		if len(r.Breaks) == 0 {
			errs = append(errs, fmt.Errorf("critical requirement %s has no breaks: give 2 or 3", name))
		}
		for j := range r.Breaks {
			b := &r.Breaks[j]
			b.Strategy = strings.TrimSpace(b.Strategy)
			b.Type = ViolationType(normalizeLabel(string(b.Type)))
			if b.Strategy == "" {
				errs = append(errs, fmt.Errorf("requirement %s, break %d: strategy is empty", name, j+1))
			}
			if !slices.Contains(ViolationTypes, b.Type) {
				errs = append(errs, fmt.Errorf("requirement %s, break %d: type %q is not one of %s", name, j+1, b.Type, violationTypeList()))
			}
		}
	}
	if critical == 0 && len(a.Requirements) > 0 {
		errs = append(errs, errors.New("no requirement is critical: mark those a passage must meet to answer the query"))
	}
	return errors.Join(errs...)
}

// normalizeLabel forgives the usual spellings of an enum value:
// "Entity Shift" and "entity-shift" both become "entity_shift".
func normalizeLabel(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	return strings.NewReplacer(" ", "_", "-", "_").Replace(s)
}

func violationTypeList() string {
	names := make([]string, len(ViolationTypes))
	for i, t := range ViolationTypes {
		names[i] = string(t)
	}
	return strings.Join(names, ", ")
}
