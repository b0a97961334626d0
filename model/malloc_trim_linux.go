//go:build linux

package model

/*
#include <malloc.h>
*/
import "C"

// trimNativeHeap hands the C heap's free pages back to the system: a freed
// onnxruntime session's memory otherwise stays in glibc's arenas.
func trimNativeHeap() { C.malloc_trim(0) }
