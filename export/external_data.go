package export

// Exports of large encoders use ONNX external data (onnxgraph.Externalize):
// protobuf refuses messages of 2 GiB or more, so their big initializers move
// to ExternalFile; smaller models stay self-contained.

// protoLimit is the largest serialized message protobuf parsers accept.
const protoLimit = 1<<31 - 1

// externalPolicy decides when and what goes to external data.
type externalPolicy struct {
	limit    int64 // a model whose serialized size exceeds this is split
	minBytes int64 // initializers with more raw bytes than this move out
}

// defaultExternal splits only models protobuf could not hold, moving
// initializers over 1 MiB (the weight matrices) and keeping small constants
// inline, as the ONNX reference tooling does.
var defaultExternal = externalPolicy{limit: protoLimit, minBytes: 1 << 20}
