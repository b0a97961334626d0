// Package eval scores retrieval runs the way trec_eval / pytrec_eval (and so
// BEIR) do, and provides the exact dense top-k search that produces those runs.
//
// The metric definitions follow trec_eval 9.x, which pytrec_eval embeds and
// BEIR calls; matching it exactly is what makes our numbers comparable with
// published BEIR tables. Every place where this package has to choose between
// conventions says which one it follows and why.
package eval
