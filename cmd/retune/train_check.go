package main

import (
	"errors"
	"flag"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"retune/negatives"
	"retune/train"
)

// settingFlags maps the settings' names in train's messages (the API's
// hyperparameter names) to the flags that set them here.
var settingFlags = map[string]string{
	"epochs": "--epochs", "lr": "--lr", "weight_decay": "--weight-decay", "batch_size": "--batch",
	"temperature": "--temperature", "entropy_weight": "--entropy-weight", "entropy_temperature": "--entropy-temperature",
	"dev_fraction": "--dev", "patience": "--patience", "apply": "--apply", "rank": "--rank",
	"mined_per_query": "--mined", "margin": "--margin", "per_query": "--per-query", "generation concurrency": "--gen-concurrency",
	"gen_min_words": "--gen-min-words", "gen_max_cos": "--gen-max-cos", "test_split": "--test-split", "negatives": "--negatives",
	"train_split": "--split", "in_batch": "--in-batch",
}

// settingAtStart matches a setting's name where a message names it: at
// the start of a line, or (for the two that messages name mid-sentence)
// anywhere. "negatives" mid-sentence is a word, not the setting.
var settingAtStart = regexp.MustCompile(`(?m)(^(?:` + strings.Join(settingNames(), "|") + `)\b)|\b(train_split|in_batch)\b`)

func settingNames() []string {
	names := make([]string, 0, len(settingFlags))
	for n := range settingFlags {
		names = append(names, regexp.QuoteMeta(n))
	}
	// Longest first, so entropy_temperature is not read as temperature.
	slices.SortFunc(names, func(a, b string) int { return len(b) - len(a) })
	return names
}

// inFlagWords rewrites a settings error in the words of the command line.
func inFlagWords(err error) error {
	if err == nil {
		return nil
	}
	return errors.New(settingAtStart.ReplaceAllStringFunc(err.Error(), func(name string) string { return settingFlags[name] }))
}

// llmFlagNames are the flags only the LLM generators read.
var llmFlagNames = []string{"llm-base-url", "llm-model", "llm-key", "llm-org", "llm-cache", "llm-concurrency", "llm-temperature", "llm-timeout", "llm-retries"}

// generationFlags are the flags that only a run generating negatives reads
// (the entropy term acts on generated negatives alone).
var generationFlags = append([]string{"generator", "gen-rewrite-candidates", "per-query", "gen-concurrency", "gen-max-cos", "gen-min-words",
	"entropy-weight", "entropy-temperature"},
	llmFlagNames...)

// setFlags lists, as --name, the flags among names given on the command line.
func setFlags(fs *flag.FlagSet, names []string) []string {
	var set []string
	fs.Visit(func(f *flag.Flag) {
		if slices.Contains(names, f.Name) {
			set = append(set, "--"+f.Name)
		}
	})
	return set
}

// checkLLMFlags refuses LLM flags for the offline generator, which calls
// no LLM (the API refuses a job's "llm" with it too).
func checkLLMFlags(fs *flag.FlagSet, kind string) error {
	if kind != negatives.KindOffline {
		return nil
	}
	if set := setFlags(fs, llmFlagNames); len(set) > 0 {
		return fmt.Errorf("%s: the offline generator calls no LLM", strings.Join(set, ", "))
	}
	return nil
}

// miningFlags shape mining, which a run with --negatives none skips.
var miningFlags = []string{"mined", "margin", "mine-exact"}

// checkMiningFlags refuses mining flags on a run that mines nothing, where
// they would be silently ignored.
func checkMiningFlags(fs *flag.FlagSet, negs string) error {
	if negs != train.NegNone {
		return nil
	}
	if set := setFlags(fs, miningFlags); len(set) > 0 {
		return fmt.Errorf("%s: --negatives %s mines nothing", strings.Join(set, ", "), negs)
	}
	return nil
}

// checkGenerationFlags refuses generation flags on a run that generates
// nothing, where they would be silently ignored (the API refuses them too).
func checkGenerationFlags(fs *flag.FlagSet, negs string) error {
	if negs == train.NegGenerated || negs == train.NegBoth {
		return nil
	}
	set := setFlags(fs, generationFlags)
	if len(set) == 0 {
		return nil
	}
	verb := "applies"
	if len(set) > 1 {
		verb = "apply"
	}
	return fmt.Errorf("%s %s only to --negatives %s or %s, not %s", strings.Join(set, ", "), verb, train.NegGenerated, train.NegBoth, negs)
}
