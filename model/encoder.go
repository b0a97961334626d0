package model

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/advancedclimatesystems/gonnx/onnx"
	ort "github.com/yalue/onnxruntime_go"

	"retune/internal/ortenv"
	"retune/model/onnxgraph"
	"retune/models"
	"retune/tokenize"
)

// Encoder turns texts into sentence embeddings with a frozen ONNX model:
// tokenise → forward pass → pooling → L2 normalisation when encoder.json asks
// for it (models.EncoderConfig.Normalize). It is safe for concurrent use:
// onnxruntime sessions allow concurrent Run calls, the tokenizer is
// concurrency-safe, and Close waits for forward passes under way.
type Encoder struct {
	name string
	dir  string
	tok  *tokenize.Tokenizer
	// sess is freed by Close, or by a cleanup once the Encoder is
	// unreachable (see session).
	sess      *session
	inputs    []string // the subset of input_ids/attention_mask/token_type_ids the model declares, in its order
	output    string
	pooled    bool   // output is already a sentence embedding ([batch, dim])
	pooling   string // one of models.PoolingModes, when !pooled
	normalize bool
	queryOnly bool // a query-only fused export (models.EncoderConfig.QueryOnly)
	dim       int
	batchSize int

	folder         os.FileInfo  // the folder as opened (nil if it could not be read)
	stamps         fileStamps   // the files as opened: Checksum must describe them
	stampCheckedAt atomic.Int64 // unix ns of changedLately's last look
	stampChanged   atomic.Bool  // what it found
	checksumOnce   sync.Once
	checksum       string
	checksumErr    error

	// outBufs holds *[]float32 output buffers reused across forward passes.
	// A pointer, not a value: the runtime keeps a pool it has emptied for
	// one more garbage collection, and a pool inside the Encoder would keep
	// the Encoder, and so its session, alive that long.
	outBufs     *sync.Pool
	forwards    atomic.Int64 // forward passes run (tests and caches assert on it)
	zeroVectors atomic.Int64 // texts with no known token: zero vector instead of NaN
}

// Option configures Open.
type Option func(*options)

type options struct {
	name      string
	batchSize int
}

// WithName overrides the encoder's name (default: encoder.json name, else the folder name).
func WithName(name string) Option { return func(o *options) { o.name = name } }

// WithBatchSize sets how many texts go through one forward pass (default 64).
func WithBatchSize(n int) Option { return func(o *options) { o.batchSize = n } }

// Input and output names of Hugging Face style encoder exports.
const (
	inputIDs      = "input_ids"
	inputMask     = "attention_mask"
	inputTypeIDs  = "token_type_ids"
	inputPosIDs   = "position_ids" // decoder exports (Qwen, Mistral) take positions as an input
	outSentence   = "sentence_embedding"
	outLastHidden = "last_hidden_state"
)

// Open loads the encoder in dir: model.onnx + tokenizer.json (+ optional
// encoder.json). ortenv.Init must have been called.
func Open(ctx context.Context, dir string, opts ...Option) (*Encoder, error) {
	if !ortenv.Ready() {
		return nil, errors.New("open encoder: onnx runtime not initialised (call ortenv.Init)")
	}
	o := options{batchSize: 64}
	for _, opt := range opts {
		opt(&o)
	}
	// Stamped before anything is read: a file replaced while the encoder
	// opens makes Checksum refuse rather than describe other files.
	folder, _ := os.Stat(dir)
	stamps := stampFiles(dir)
	cfg, hasCfg, err := models.ReadEncoderConfig(dir)
	if err != nil {
		return nil, fmt.Errorf("open encoder %s: %w", dir, err)
	}
	modelPath := filepath.Join(dir, models.ModelFile)
	if _, err := os.Stat(modelPath); err != nil {
		return nil, fmt.Errorf("open encoder %s: %w", dir, err)
	}
	if hasCfg && cfg.DataSize > 0 {
		// Caught here, the fix can be named; onnxruntime would only say a
		// file is missing in the middle of its initialisation.
		if st, err := os.Stat(filepath.Join(dir, models.DataFile)); err != nil || st.Size() != cfg.DataSize {
			return nil, fmt.Errorf("open encoder %s: %s is missing or not the %d bytes encoder.json records; rebuild the encoder (`make setup` or `retune models build`)",
				dir, models.DataFile, cfg.DataSize)
		}
	}
	e := &Encoder{dir: dir, batchSize: max(o.batchSize, 1), pooling: "mean", normalize: true, folder: folder, stamps: stamps, outBufs: &sync.Pool{}}
	e.name = filepath.Base(dir)
	maxLen := 512
	if hasCfg {
		if cfg.Name != "" {
			e.name = cfg.Name
		}
		if cfg.Pooling != "" {
			e.pooling = cfg.Pooling
		}
		e.normalize = cfg.Normalize
		e.queryOnly = cfg.QueryOnly()
		if cfg.MaxLength > 0 {
			maxLen = cfg.MaxLength
		}
	}
	if o.name != "" {
		e.name = o.name
	}
	if !models.ValidPooling(e.pooling) {
		return nil, fmt.Errorf("open encoder %s: pooling %q not supported (%s)", dir, e.pooling, strings.Join(models.PoolingModes, ", "))
	}
	if e.tok, err = tokenize.Load(filepath.Join(dir, "tokenizer.json"), tokenize.WithMaxLength(maxLen)); err != nil {
		return nil, fmt.Errorf("open encoder %s: %w", dir, err)
	}
	if err := e.pickIO(modelPath); err != nil {
		return nil, fmt.Errorf("open encoder %s: %w", dir, err)
	}
	if hasCfg && cfg.Dim > 0 && e.dim > 0 && cfg.Dim != e.dim {
		return nil, fmt.Errorf("open encoder %s: encoder.json says dim %d but the model outputs %d", dir, cfg.Dim, e.dim)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("open encoder %s: session options: %w", dir, err)
	}
	defer so.Destroy()
	// All cores: the library default behaved like a single thread here.
	if err := so.SetIntraOpNumThreads(runtime.NumCPU()); err != nil {
		return nil, fmt.Errorf("open encoder %s: %w", dir, err)
	}
	if err := so.SetInterOpNumThreads(1); err != nil {
		return nil, fmt.Errorf("open encoder %s: %w", dir, err)
	}
	// Idle pool threads sleep rather than spin: the tokenizer's goroutines
	// work while a batch runs (EmbedCount encodes the next one), and spinning
	// threads took their cores — served glove-100d embeddings ran 25-40%
	// faster per CPU without it (README, Speed).
	if err := so.AddSessionConfigEntry("session.intra_op.allow_spinning", "0"); err != nil {
		return nil, fmt.Errorf("open encoder %s: %w", dir, err)
	}
	s, err := ort.NewDynamicAdvancedSession(modelPath, e.inputs, []string{e.output}, so)
	if err != nil {
		return nil, fmt.Errorf("open encoder %s: create session: %w", dir, err)
	}
	e.sess = &session{s: s}
	runtime.AddCleanup(e, func(s *session) { _ = s.close() }, e.sess)
	if e.dim <= 0 {
		// Symbolic output width: learn it once from a probe text, before the
		// encoder is shared, so Dim never changes under concurrent callers.
		v, err := e.Embed(ctx, []string{"probe"})
		if err != nil {
			e.Close()
			return nil, fmt.Errorf("open encoder %s: probe: %w", dir, err)
		}
		e.dim = len(v[0])
	}
	return e, nil
}

// pickIO reads the model's declared inputs/outputs: only inputs the model
// declares are fed, and a ready sentence_embedding output wins over pooling.
func (e *Encoder) pickIO(modelPath string) error {
	ins, outs, err := onnxgraph.ReadIO(modelPath)
	if err != nil {
		return fmt.Errorf("read model inputs/outputs: %w", err)
	}
	for _, in := range ins {
		switch in.GetName() {
		case inputIDs, inputMask, inputTypeIDs, inputPosIDs:
			e.inputs = append(e.inputs, in.GetName())
		default:
			return fmt.Errorf("model input %q is not one of %s, %s, %s, %s", in.GetName(), inputIDs, inputMask, inputTypeIDs, inputPosIDs)
		}
		// Named here: onnxruntime would only fail the first forward pass.
		if t := tensorElem(in); t != onnx.TensorProto_INT64 {
			return fmt.Errorf("model input %s holds %s; retune feeds int64 token ids (re-export the model with int64 inputs, as transformers' and optimum's exports have)", in.GetName(), t)
		}
	}
	if !contains(e.inputs, inputIDs) {
		return fmt.Errorf("model has no %s input", inputIDs)
	}
	var names []string
	for _, want := range []string{outSentence, outLastHidden} {
		for _, out := range outs {
			if out.GetName() == want && e.output == "" {
				if t := tensorElem(out); t != onnx.TensorProto_FLOAT {
					return fmt.Errorf("model output %s holds %s; retune reads float32 (export the model in float32, not float16 or quantised outputs)", want, t)
				}
				e.output, e.pooled = want, want == outSentence
				last, _ := onnxgraph.LastDim(out)
				e.dim = int(last)
			}
		}
	}
	if e.output == "" {
		for _, out := range outs {
			names = append(names, out.GetName())
		}
		return fmt.Errorf("model outputs %v include neither %s nor %s", names, outSentence, outLastHidden)
	}
	return nil
}

// tensorElem is a model input's or output's element type.
func tensorElem(vi *onnx.ValueInfoProto) onnx.TensorProto_DataType {
	return onnx.TensorProto_DataType(vi.GetType().GetTensorType().GetElemType())
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// Name is the encoder's model name (e.g. "glove-100d").
func (e *Encoder) Name() string { return e.name }

// Dir is the folder the encoder was loaded from.
func (e *Encoder) Dir() string { return e.dir }

// Dim is the embedding dimension (0 until known for models with symbolic output dims).
func (e *Encoder) Dim() int { return e.dim }

// QueryOnly reports whether the encoder embeds queries only (a fused export
// of a query-side head); see CheckDocumentEncoder.
func (e *Encoder) QueryOnly() bool { return e.queryOnly }

// CheckDocumentEncoder refuses a query-only encoder where documents are to
// be embedded: its document vectors would not be comparable with its
// query vectors, and the metrics or index built on them would be wrong.
func (e *Encoder) CheckDocumentEncoder() error {
	if e.queryOnly {
		return fmt.Errorf("encoder %s embeds queries only (a fused export of a head trained with apply=query): "+
			"embed documents with its base encoder and apply the head to queries", e.name)
	}
	return nil
}

// Tokenizer exposes the encoder's tokenizer (benchmarks, BM25, generators).
func (e *Encoder) Tokenizer() *tokenize.Tokenizer { return e.tok }

// Forwards counts forward passes run so far.
func (e *Encoder) Forwards() int64 { return e.forwards.Load() }

// ZeroVectors counts texts that had no known token and embedded to zero.
func (e *Encoder) ZeroVectors() int64 { return e.zeroVectors.Load() }

// Close releases the onnxruntime session, once the forward passes under way
// have finished; later ones fail with ErrClosed. An Encoder nobody closes
// frees its session when it becomes unreachable.
func (e *Encoder) Close() error { return e.sess.close() }

// Checksum identifies the encoder's exact behaviour (see EncoderChecksum).
// Computed once, lazily, because hashing a large model takes a moment.
func (e *Encoder) Checksum() (string, error) {
	e.checksumOnce.Do(func() {
		e.checksum, e.checksumErr = EncoderChecksum(e.dir)
		if e.checksumErr == nil && e.Changed() {
			e.checksum, e.checksumErr = "", fmt.Errorf("encoder %s: %w; a new run opens the new files", e.name, ErrEncoderChanged)
		}
	})
	return e.checksum, e.checksumErr
}

// EncoderChecksum is the sha256 over an encoder folder's model.onnx, its
// external data model.onnx.data (when present), tokenizer.json and (when
// present) encoder.json: everything that decides its outputs. Embedding
// caches and heads are keyed by it.
func EncoderChecksum(dir string) (string, error) {
	h := sha256.New()
	optional := map[string]bool{models.DataFile: true, models.ConfigFile: true}
	for _, f := range []string{models.ModelFile, models.DataFile, models.TokenizerFile, models.ConfigFile} {
		if err := hashFile(h, filepath.Join(dir, f)); err != nil && !(optional[f] && errors.Is(err, os.ErrNotExist)) {
			return "", fmt.Errorf("encoder checksum %s: %w", dir, err)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func hashFile(w io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

// Embed returns one embedding per text, in order.
func (e *Encoder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	vecs, _, err := e.EmbedCount(ctx, texts)
	return vecs, err
}

// EmbedCount is Embed that also reports how many tokens were fed (usage).
// Texts are sorted by length so batches pad little, and the next batch is
// tokenised while the current one runs.
func (e *Encoder) EmbedCount(ctx context.Context, texts []string) ([][]float32, int, error) {
	out := make([][]float32, len(texts))
	if len(texts) == 0 {
		return out, 0, nil
	}
	// Checked here, before sorting, so errors name the caller's index.
	for i, t := range texts {
		if strings.TrimSpace(t) == "" {
			return nil, 0, fmt.Errorf("embed: text %d is empty", i)
		}
		if !utf8.ValidString(t) {
			return nil, 0, fmt.Errorf("embed: text %d is not valid UTF-8", i)
		}
	}
	order := make([]int, len(texts))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return len(texts[order[a]]) < len(texts[order[b]]) })

	type job struct {
		idx   []int
		batch *tokenize.Batch
		err   error
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan job, 1)
	go func() {
		defer close(jobs)
		for start := 0; start < len(order); start += e.batchSize {
			idx := order[start:min(start+e.batchSize, len(order))]
			batchTexts := make([]string, len(idx))
			for i, j := range idx {
				batchTexts[i] = texts[j]
			}
			b, err := e.tok.EncodeBatch(batchTexts)
			select {
			case jobs <- job{idx: idx, batch: b, err: err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	tokens := 0
	for j := range jobs {
		if j.err != nil {
			// The batch was cut from texts sorted by length: name the
			// caller's index, not the batch's.
			if te := (*tokenize.TextError)(nil); errors.As(j.err, &te) {
				te.Index = j.idx[te.Index]
			}
			return nil, 0, fmt.Errorf("embed: %w", j.err)
		}
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		vecs, err := e.EmbedBatch(j.batch)
		if err != nil {
			return nil, 0, err
		}
		for i, k := range j.idx {
			out[k] = vecs[i]
		}
		for _, m := range j.batch.Mask {
			tokens += int(m)
		}
	}
	// The producer stops sending when ctx is cancelled, which ends the
	// loop above early: without this check the caller would get nil
	// vectors and no error (and an embedding cache would store them).
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	return out, tokens, nil
}

// EmbedBatch runs one pre-tokenised batch and pools it.
func (e *Encoder) EmbedBatch(b *tokenize.Batch) ([][]float32, error) {
	var out [][]float32
	err := e.Forward(b, func(raw []float32, shape []int64) {
		out = e.pool(raw, shape, b)
	})
	return out, err
}

// Forward runs the model on a pre-tokenised batch and hands the raw output
// (row-major) and its shape to use. The slice is onnxruntime's memory and is
// valid only during use: pooling reads it in place instead of copying a
// [batch, seq, dim] tensor per batch. Benchmarks pass a no-op to time the
// forward pass alone.
func (e *Encoder) Forward(b *tokenize.Batch, use func(raw []float32, shape []int64)) error {
	shape := ort.NewShape(int64(b.Size), int64(b.SeqLen))
	ins := make([]ort.Value, len(e.inputs))
	defer func() {
		for _, v := range ins {
			if v != nil {
				v.Destroy()
			}
		}
	}()
	for i, name := range e.inputs {
		data := b.IDs
		switch name {
		case inputMask:
			data = b.Mask
		case inputTypeIDs:
			data = b.TypeIDs
		case inputPosIDs:
			data = positionIDs(b)
		}
		t, err := ort.NewTensor(shape, data)
		if err != nil {
			return fmt.Errorf("forward: input %s: %w", name, err)
		}
		ins[i] = t
	}
	// With the output width known, onnxruntime writes into a pooled Go
	// buffer; an output it allocates itself is copied into Go memory by
	// onnxruntime_go, which for glove-100d cost more than the forward pass.
	outs := []ort.Value{nil}
	var buf *[]float32
	if e.dim > 0 {
		outShape := ort.NewShape(int64(b.Size), int64(b.SeqLen), int64(e.dim))
		if e.pooled {
			outShape = ort.NewShape(int64(b.Size), int64(e.dim))
		}
		buf = e.outBuf(int(outShape.FlattenedSize()))
		defer e.outBufs.Put(buf)
		t, err := ort.NewTensor(outShape, *buf)
		if err != nil {
			return fmt.Errorf("forward: output %s: %w", e.output, err)
		}
		outs[0] = t
	}
	err := e.sess.run(ins, outs)
	// The Encoder, whose cleanup frees the session, must stay reachable
	// until the pass is over (it does below, but not by design).
	runtime.KeepAlive(e)
	if err != nil {
		if outs[0] != nil {
			outs[0].Destroy()
		}
		return fmt.Errorf("forward %s: %w", e.name, err)
	}
	defer outs[0].Destroy()
	e.forwards.Add(1)
	t, ok := outs[0].(*ort.Tensor[float32])
	if !ok {
		return fmt.Errorf("forward %s: output %s is not float32", e.name, e.output)
	}
	use(t.GetData(), t.GetShape())
	return nil
}

// outBuf returns a pooled output buffer of exactly n floats.
func (e *Encoder) outBuf(n int) *[]float32 {
	if p, ok := e.outBufs.Get().(*[]float32); ok && cap(*p) >= n {
		*p = (*p)[:n]
		return p
	}
	b := make([]float32, n)
	return &b
}
