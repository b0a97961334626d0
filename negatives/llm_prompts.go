package negatives

import (
	"bytes"
	"embed"
	"fmt"
	"strings"
	"text/template"
)

// Prompts live in versioned template files so a wording change is a new
// file (and a new cache key), never a silent edit of what old runs used.
//
//go:embed prompts/*.tmpl
var promptFiles embed.FS

// promptTemplate is one prompt file, defining a "system" and a "user"
// template.
type promptTemplate struct {
	name string // file name without .tmpl, e.g. "causal_analysis.v1"
	tmpl *template.Template
}

// mustPrompt parses an embedded prompt; a missing or broken file is a
// build-time mistake, so it panics at package initialisation.
func mustPrompt(name string) promptTemplate {
	t := template.Must(template.New(name).Option("missingkey=error").ParseFS(promptFiles, "prompts/"+name+".tmpl"))
	for _, part := range []string{"system", "user"} {
		if t.Lookup(part) == nil {
			panic(fmt.Sprintf("prompt %s: no %q template", name, part))
		}
	}
	return promptTemplate{name: name, tmpl: t}
}

func (p promptTemplate) render(data any) (system, user string, err error) {
	var sys, usr bytes.Buffer
	if err := p.tmpl.ExecuteTemplate(&sys, "system", data); err != nil {
		return "", "", fmt.Errorf("prompt %s: %w", p.name, err)
	}
	if err := p.tmpl.ExecuteTemplate(&usr, "user", data); err != nil {
		return "", "", fmt.Errorf("prompt %s: %w", p.name, err)
	}
	return strings.TrimSpace(sys.String()), strings.TrimSpace(usr.String()), nil
}

var (
	causalAnalysisPrompt = mustPrompt("causal_analysis.v1")
	causalGeneratePrompt = mustPrompt("causal_generate.v1")
	naivePrompt          = mustPrompt("naive.v1")
)
