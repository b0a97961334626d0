package model

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"sync"
	"time"

	"retune/models"
)

// ErrUnknownModel is returned for a model name with no folder under the root.
var ErrUnknownModel = errors.New("unknown model")

// ErrEncoderBroken is matched by the error for an installed encoder that
// does not open (a file missing or damaged): the operator's to repair, by
// installing it again.
var ErrEncoderBroken = errors.New("installed encoder does not open")

// Registry opens encoders by name from a models folder (one sub-folder per
// encoder holding model.onnx + tokenizer.json) and keeps them open, so a
// server pays the session start-up once per model.
type Registry struct {
	root string
	opts []Option

	mu       sync.Mutex
	encoders map[string]*Encoder
	opening  map[string]*sync.Mutex
}

// NewRegistry serves encoders found under root.
func NewRegistry(root string, opts ...Option) *Registry {
	return &Registry{root: root, opts: opts, encoders: map[string]*Encoder{}, opening: map[string]*sync.Mutex{}}
}

// Root is the models folder.
func (r *Registry) Root() string { return r.root }

// List names the encoders available under the root, sorted.
func (r *Registry) List() ([]string, error) {
	entries, err := os.ReadDir(r.root)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("list models: %w", err)
	}
	var names []string
	for _, e := range entries {
		if !models.ValidName(e.Name()) {
			continue
		}
		// Stat, not the entry's type: an encoder folder may be a symlink
		// (Get and Open follow it).
		if st, err := os.Stat(filepath.Join(r.root, e.Name())); err != nil || !st.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(r.root, e.Name(), "model.onnx")); err == nil {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// Get returns the open encoder called name, opening it on first use.
func (r *Registry) Get(ctx context.Context, name string) (*Encoder, error) {
	if !models.ValidName(name) {
		return nil, fmt.Errorf("%w %q", ErrUnknownModel, name)
	}
	r.mu.Lock()
	e, ok := r.encoders[name]
	r.mu.Unlock()
	// Looked at outside the lock: other names' lookups must not queue
	// behind this one's file system calls. A replaced folder is seen at
	// once, files edited in place within a second.
	if ok && e.sameFolder() && !e.changedLately() {
		return e, nil
	}
	r.mu.Lock()
	// One opener per name; other names are not blocked while it loads.
	lock, ok := r.opening[name]
	if !ok {
		lock = &sync.Mutex{}
		r.opening[name] = lock
	}
	r.mu.Unlock()

	lock.Lock()
	defer lock.Unlock()
	r.mu.Lock()
	e, ok = r.encoders[name]
	r.mu.Unlock()
	if ok && !e.Changed() {
		return e, nil
	}
	// A replaced encoder (`retune models add --force`) is opened anew for
	// new requests. The old one is not closed here: runs that hold it still
	// use it, under the checksum of its own files (taken at open). Once the
	// registry and they have let go of it, its session is freed by the
	// Encoder's cleanup (see session).
	dir := filepath.Join(r.root, name)
	if _, err := os.Stat(filepath.Join(dir, "model.onnx")); err != nil {
		return nil, fmt.Errorf("%w %q (no %s)", ErrUnknownModel, name, filepath.Join(dir, "model.onnx"))
	}
	e, err := r.open(ctx, dir, name)
	if err != nil {
		if ctx.Err() != nil || errors.Is(err, ErrEncoderChanged) {
			return nil, err // the caller's end, or files being replaced as they were read: not broken
		}
		return nil, fmt.Errorf("%w: %q: %w", ErrEncoderBroken, name, err)
	}
	r.mu.Lock()
	_, replaced := r.encoders[name]
	r.encoders[name] = e
	r.mu.Unlock()
	if replaced {
		// The old encoder's session (hundreds of MB for a transformer) is
		// freed by a cleanup after a garbage collection finds it unreachable,
		// and opening the new one left its parsed model as garbage: collect
		// now rather than when the Go heap, which holds neither session,
		// next doubles. An old encoder a run still holds goes at a later GC.
		go debug.FreeOSMemory()
	}
	return e, nil
}

// open opens the encoder in dir and takes its checksum now, not at a run's
// first need: an encoder the registry hands out then always has the
// checksum of the files it runs, even if they are replaced while a request
// or job uses it (its vectors stay filed under the old files, whose heads
// and collections answer 409), instead of refusing it half-way through the
// run. Files replaced while it opened (the checksum refuses) are opened
// again, once.
func (r *Registry) open(ctx context.Context, dir, name string) (*Encoder, error) {
	for attempt := 0; ; attempt++ {
		e, err := Open(ctx, dir, append([]Option{WithName(name)}, r.opts...)...)
		if err != nil {
			return nil, err
		}
		_, err = e.Checksum()
		if err == nil {
			return e, nil
		}
		e.Close()
		if !errors.Is(err, ErrEncoderChanged) || attempt > 0 {
			return nil, err
		}
	}
}

// releaseDelay is how long Release waits before collecting: long enough
// for the run that released the encoder to have returned and dropped it.
const releaseDelay = time.Second

// Release tells the registry that a run which got e from Get is done with
// it. An encoder replaced while the run held it is no longer the
// registry's, and its session is freed by a cleanup once a garbage
// collection finds it unreachable: one is started shortly, rather than
// whenever the Go heap (which holds none of the session) next doubles.
func (r *Registry) Release(e *Encoder) {
	if e == nil {
		return
	}
	r.mu.Lock()
	current := r.encoders[e.Name()] == e
	r.mu.Unlock()
	if !current {
		time.AfterFunc(releaseDelay, debug.FreeOSMemory)
	}
}

// Close closes every open encoder.
func (r *Registry) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	for name, e := range r.encoders {
		errs = append(errs, e.Close())
		delete(r.encoders, name)
	}
	return errors.Join(errs...)
}
