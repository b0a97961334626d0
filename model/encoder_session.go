package model

import (
	"errors"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// ErrClosed is what a forward pass returns once its encoder is closed.
var ErrClosed = errors.New("encoder closed")

// session is an Encoder's onnxruntime session, held apart from the Encoder
// so that a cleanup can free it once the Encoder is unreachable (a replaced
// encoder the registry has let go of and no run still holds): the native
// memory of a transformer session is far larger than anything the Go
// garbage collector sees.
type session struct {
	// mu guards s: forward passes hold it for reading, close for writing,
	// so a server that stops with requests still running never frees a
	// session one of them is using.
	mu sync.RWMutex
	s  *ort.DynamicAdvancedSession
}

// run is one session call, under the read lock close waits for.
func (s *session) run(ins, outs []ort.Value) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.s == nil {
		return ErrClosed
	}
	return s.s.Run(ins, outs)
}

// close frees the session once the calls under way have returned; later
// calls fail with ErrClosed. Closing twice is a no-op.
func (s *session) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.s == nil {
		return nil
	}
	err := s.s.Destroy()
	s.s = nil
	trimNativeHeap()
	return err
}

// closed reports whether the session was freed.
func (s *session) closed() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.s == nil
}
