//go:build !linux

package model

// trimNativeHeap is a no-op where glibc's malloc_trim is not available.
func trimNativeHeap() {}
