package train

import (
	"encoding/json"
	"os"
	"path/filepath"
	"time"

	"retune/internal/atomicfile"
	"retune/negatives"
)

// llmSpentFile, in a run's work folder, holds what the run's LLM calls
// cost over all its attempts so far: a resumed generation stage answers
// the finished pairs from the reply cache for free, so without it a run
// interrupted midway would report only its last attempt's spending.
const llmSpentFile = "llm-spent.json"

// llmSpending adds an LLM generator's spending in this attempt to what
// earlier attempts recorded, saving the sum at most once a second.
type llmSpending struct {
	path  string // "" without a work folder
	prior negatives.LLMUsage
	gen   negatives.LLMSpender // nil for generators that call no LLM
	last  time.Time
}

func (p *Pipeline) llmSpending() *llmSpending {
	s := &llmSpending{}
	s.gen, _ = p.Generator.(negatives.LLMSpender)
	if p.WorkDir == "" || s.gen == nil {
		return s
	}
	s.path = filepath.Join(p.WorkDir, llmSpentFile)
	if prior, ok := SpentLLM(p.WorkDir); ok {
		s.prior = prior
	}
	return s
}

// save records the total so far (always when final, else at most once a
// second) and returns it; ok is false for a generator that calls no LLM.
func (s *llmSpending) save(final bool) (total negatives.LLMUsage, ok bool) {
	if s.gen == nil {
		return negatives.LLMUsage{}, false
	}
	total = s.prior.Plus(s.gen.LLMUsage())
	if s.path != "" && (final || time.Since(s.last) >= time.Second) {
		s.last = time.Now()
		if b, err := json.Marshal(total); err == nil {
			_ = atomicfile.WriteFile(s.path, b, 0o644) // best effort: a lost save undercounts, nothing more
		}
	}
	return total, true
}

// SpentLLM returns what a run's LLM calls cost over its attempts, as its
// work folder records it (ok is false when it records nothing).
func SpentLLM(workDir string) (negatives.LLMUsage, bool) {
	var u negatives.LLMUsage
	b, err := os.ReadFile(filepath.Join(workDir, llmSpentFile))
	if err != nil || json.Unmarshal(b, &u) != nil {
		return negatives.LLMUsage{}, false
	}
	return u, true
}
