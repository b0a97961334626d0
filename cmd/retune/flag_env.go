package main

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"

	"retune/api"
	"retune/models"
	"retune/store"
)

// hiddenString is a string flag whose default is left out of the usage
// text: flag prints a default only when String differs from the zero
// value's, and this one's String is always empty. Defaults taken from the
// environment can be keys, or URLs with credentials in them, and help
// output (which a mistyped flag prints) ends up in CI logs.
type hiddenString struct {
	v      string
	folder bool // refuse an empty value, which would mean the working directory
}

func (h *hiddenString) String() string { return "" }

func (h *hiddenString) Set(v string) error {
	if h.folder && strings.TrimSpace(v) == "" {
		return errors.New("must name a folder")
	}
	h.v = v
	return nil
}

// Get is the flag's value.
func (h *hiddenString) Get() string { return h.v }

// hiddenFlag registers a string flag defaulting to def without printing
// it; the usage should say where the default comes from.
func hiddenFlag(fs *flag.FlagSet, name, def, usage string) *hiddenString {
	h := &hiddenString{v: def}
	fs.Var(h, name, usage)
	return h
}

// folderFlag is hiddenFlag for a folder: an empty value is refused.
func folderFlag(fs *flag.FlagSet, name, def, usage string) *hiddenString {
	h := &hiddenString{v: def, folder: true}
	fs.Var(h, name, usage)
	return h
}

// modelsFlag registers --models; models.Root owns its default.
func modelsFlag(fs *flag.FlagSet) *hiddenString {
	return folderFlag(fs, "models", models.Root(), "models `folder` (default $RETUNE_MODELS, else ./models)")
}

// cacheFlag registers --cache, defaulting to $RETUNE_CACHE, then
// data/cache/embeddings: where `retune serve --data data` (the default)
// keeps its own, so the two share embeddings.
func cacheFlag(fs *flag.FlagSet) *hiddenString {
	def := os.Getenv("RETUNE_CACHE")
	if def == "" {
		def = defaultEmbeddingCache
	}
	return folderFlag(fs, "cache", def, "embedding cache `folder` (default $RETUNE_CACHE, else "+defaultEmbeddingCache+")")
}

// The server's cache folders under its default data folder.
var (
	defaultEmbeddingCache = filepath.Join(defaultDataDir, store.KindCache, api.EmbeddingCacheName)
	defaultLLMCache       = filepath.Join(defaultDataDir, store.KindCache, api.LLMCacheName)
)
