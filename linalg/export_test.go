package linalg

// OpShape exposes opShape to the external tests.
var OpShape = opShape
