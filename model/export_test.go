package model

// SessionFreed reports, without keeping e reachable, whether e's
// onnxruntime session has been freed.
func SessionFreed(e *Encoder) func() bool { return e.sess.closed }
