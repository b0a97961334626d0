package train

import (
	"context"
	"testing"

	"retune/negatives"
)

// spender is a generator that reports a fixed LLM spending.
type spender struct{ u negatives.LLMUsage }

func (s spender) Name() string { return "spender" }
func (s spender) Generate(context.Context, negatives.Pair, []string, int) ([]negatives.Negative, error) {
	return nil, nil
}
func (s spender) LLMUsage() negatives.LLMUsage { return s.u }

// What an interrupted attempt spent is added to the next attempt's
// spending, through the work folder.
func TestLLMSpendingAddsUpAttempts(t *testing.T) {
	dir := t.TempDir()
	first := (&Pipeline{WorkDir: dir, Generator: spender{negatives.LLMUsage{Requests: 3, TotalTokens: 300}}}).llmSpending()
	if total, ok := first.save(true); !ok || total.Requests != 3 {
		t.Fatalf("first attempt: %+v %v", total, ok)
	}
	second := (&Pipeline{WorkDir: dir, Generator: spender{negatives.LLMUsage{Requests: 2, TotalTokens: 150}}}).llmSpending()
	total, ok := second.save(true)
	if !ok || total.Requests != 5 || total.TotalTokens != 450 {
		t.Fatalf("second attempt: %+v, want 5 requests and 450 tokens in all", total)
	}
	if got, ok := SpentLLM(dir); !ok || got != total {
		t.Fatalf("recorded %+v %v, want %+v", got, ok, total)
	}
	// A generator that calls no LLM records nothing.
	if _, ok := (&Pipeline{WorkDir: t.TempDir(), Generator: nil}).llmSpending().save(true); ok {
		t.Fatal("spending recorded without an LLM generator")
	}
}
