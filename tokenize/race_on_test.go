//go:build race

package tokenize

// raceEnabled shrinks the corpus-wide comparisons under the race detector,
// which slows sugarme's allocation-heavy pipeline about tenfold; the full
// comparisons run without it.
const raceEnabled = true
