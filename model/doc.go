// Package model holds what turns text into vectors: the frozen ONNX encoder
// (an onnxruntime session, tokenisation, batching and pooling), the registry
// that opens each installed encoder once, and the trainable projection head
// (its forward pass, gradients, initialisation and head.json/weights.bin
// files). The ONNX exports of a head are built in package export.
package model
