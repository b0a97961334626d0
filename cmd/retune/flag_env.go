package main

import (
	"flag"
	"os"
)

// envString is a string flag whose default comes from the environment (or
// a fallback) without the value being printed: flag's usage shows a
// default only when String differs from the zero value's, and this one's
// String is always empty. Keys and URLs with credentials in them must not
// end up in help output, which a typo prints to CI logs.
type envString struct{ v string }

func (e *envString) String() string { return "" }

func (e *envString) Set(v string) error { e.v = v; return nil }

// Get is the flag's value.
func (e *envString) Get() string { return e.v }

// envFlag registers a string flag defaulting to $env, then fallback. The
// usage should name both, as flag will not.
func envFlag(fs *flag.FlagSet, name, env, fallback, usage string) *envString {
	e := &envString{v: fallback}
	if v := os.Getenv(env); v != "" {
		e.v = v
	}
	fs.Var(e, name, usage)
	return e
}
