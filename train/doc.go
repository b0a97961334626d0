// Package train runs a fine-tuning: the pipeline embeds a dataset once
// (through the persistent embedding cache), mines and generates negatives,
// trains the projection head with AdamW on package objective's loss, with
// dev-set early stopping and checkpoints in a resumable work folder, and
// evaluates base and tuned retrieval on the held-out split. `retune train`
// and the API's job worker both drive it.
package train
