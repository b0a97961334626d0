// Package linalg routes gonum's large matrix products to ONNX Runtime.
//
// Training a head is a handful of GEMMs per step (head forward and backward
// over ~1k document rows, the in-batch similarity block and its two gradient
// products). gonum's pure-Go Dgemm runs them at 1–3 GFLOP/s here and its
// transposed-A kernel (dW = dZᵀ·X) is slower still; ONNX Runtime, which
// the service already loads, has MLAS, a tuned SGEMM that does the same
// products 10–40x faster on this machine. ORT implements gonum's
// blas.Float64 by embedding gonum's implementation and overriding only
// Dgemm, so every mat.Dense.Mul and blas64.Gemm in the process uses it once
// installed with blas64.Use (gonum's documented way to swap BLAS, as
// gonum.org/v1/netlib does for OpenBLAS).
//
// Precision: large products are computed in float32 (inputs rounded,
// float32 accumulation in MLAS), i.e. relative error ~1e-6 instead of
// ~1e-15. That is the precision deep-learning frameworks train in; the
// objective's gradient checks run on plain gonum, where float64 matters.
// Products below MinMACs multiply-adds stay on gonum, where a session call's
// fixed cost (~20 µs) would exceed the work.
package linalg

import (
	"fmt"
	"sync/atomic"

	onnx "github.com/advancedclimatesystems/gonnx/onnx"
	ort "github.com/yalue/onnxruntime_go"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/blas/gonum"

	"retune/internal/freelist"
	"retune/internal/ortenv"
	"retune/model/onnxgraph"
)

// MinMACs is the smallest m·n·k product sent to ONNX Runtime.
const MinMACs = 1 << 18

// ORT is a blas.Float64 whose Dgemm runs large products on ONNX Runtime's
// MLAS in float32; everything else is gonum's. It is safe for concurrent use.
type ORT struct {
	gonum.Implementation
	sessions [2][2]*ort.DynamicAdvancedSession // [transA][transB]
	scratch  freelist.List[buffers]
	calls    atomic.Int64 // products run on ORT
}

type buffers struct{ a, b, c []float32 }

// maxFree bounds the idle scratch sets: one per concurrent product (about
// the core count) is all that is ever reused.
const maxFree = 8

// NewORT builds the four Gemm sessions (one per transpose combination).
// ONNX Runtime must be initialised (ortenv.Init). threads is the
// intra-op thread count; the sessions do not spin-wait between products, so
// idle training threads do not steal the cores a concurrent search needs.
func NewORT(threads int) (*ORT, error) {
	if !ortenv.Ready() {
		return nil, fmt.Errorf("linalg: onnx runtime is not initialised")
	}
	o := &ORT{scratch: freelist.List[buffers]{New: func() *buffers { return &buffers{} }, Max: maxFree}}
	for ta := 0; ta < 2; ta++ {
		for tb := 0; tb < 2; tb++ {
			s, err := newGemmSession(ta, tb, threads)
			if err != nil {
				o.Close()
				return nil, err
			}
			o.sessions[ta][tb] = s
		}
	}
	return o, nil
}

// newGemmSession builds a one-node graph C = op(A)·op(B) with dynamic
// shapes and opens it from memory (no temporary files).
func newGemmSession(ta, tb, threads int) (*ort.DynamicAdvancedSession, error) {
	g := onnxgraph.New("retune_gemm")
	f := onnx.TensorProto_FLOAT
	a := g.Input("A", f, onnxgraph.Sym("a_rows"), onnxgraph.Sym("a_cols"))
	b := g.Input("B", f, onnxgraph.Sym("b_rows"), onnxgraph.Sym("b_cols"))
	g.NamedOp("Gemm", "C", []string{a, b}, onnxgraph.AttrInt("transA", int64(ta)), onnxgraph.AttrInt("transB", int64(tb)))
	g.Output("C", f, onnxgraph.Sym("m"), onnxgraph.Sym("n"))
	m, err := g.Build()
	if err != nil {
		return nil, fmt.Errorf("linalg: %w", err)
	}
	data, err := onnxgraph.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("linalg: %w", err)
	}
	opts, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("linalg: session options: %w", err)
	}
	defer opts.Destroy()
	if err := opts.SetIntraOpNumThreads(threads); err != nil {
		return nil, fmt.Errorf("linalg: threads: %w", err)
	}
	if err := opts.AddSessionConfigEntry("session.intra_op.allow_spinning", "0"); err != nil {
		return nil, fmt.Errorf("linalg: spinning: %w", err)
	}
	s, err := ort.NewDynamicAdvancedSessionWithONNXData(data, []string{"A", "B"}, []string{"C"}, opts)
	if err != nil {
		return nil, fmt.Errorf("linalg: gemm session: %w", err)
	}
	return s, nil
}

// Calls is the number of products ONNX Runtime has computed.
func (o *ORT) Calls() int64 { return o.calls.Load() }

// Close releases the sessions. Install gonum again (blas64.Use) first if o
// is the process's BLAS.
func (o *ORT) Close() {
	for _, row := range o.sessions {
		for _, s := range row {
			if s != nil {
				s.Destroy()
			}
		}
	}
}

// Dgemm computes C = alpha·op(A)·op(B) + beta·C (the BLAS contract: column
// counts via lda/ldb/ldc, C not read when beta = 0).
func (o *ORT) Dgemm(tA, tB blas.Transpose, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	// gonum handles the small products, the degenerate ones, the argument
	// panics with their standard messages, and a failed session call (out
	// of memory inside ORT), which must not corrupt training.
	if m*n*k < MinMACs || alpha == 0 || !valid(tA, tB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc) ||
		!gemm(o, tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) {
		o.Implementation.Dgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	}
}

// Sgemm is Dgemm for float32 (installed for blas32 by Install). Contiguous
// operands go to ONNX Runtime without a copy.
func (o *ORT) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m*n*k < MinMACs || alpha == 0 || !valid(tA, tB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc) ||
		!gemm(o, tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) {
		o.Implementation.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	}
}

// gemm runs a valid product on ONNX Runtime in float32 and reports whether
// the session call succeeded (C is untouched when it did not).
func gemm[T float32 | float64](o *ORT, tA, tB blas.Transpose, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) bool {
	ta, tb := transposed(tA), transposed(tB)
	ar, ac, br, bc := opShape(ta, tb, m, n, k)
	buf := o.scratch.Get()
	defer o.scratch.Put(buf)
	a32 := operand(&buf.a, a, ar, ac, lda)
	b32 := operand(&buf.b, b, br, bc, ldb)
	// MLAS writes straight into a contiguous float32 C when nothing is left
	// to scale or add.
	out, direct := any(c).([]float32)
	direct = direct && ldc == n && alpha == 1 && beta == 0
	if direct {
		out = out[:m*n]
	} else {
		buf.c = grow(buf.c, m*n)
		out = buf.c
	}
	if err := o.run(ta, tb, a32, b32, out, ar, ac, br, bc, m, n); err != nil {
		return false
	}
	o.calls.Add(1)
	if direct {
		return true
	}
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		for j, v := range out[i*n : (i+1)*n] {
			if beta == 0 {
				row[j] = alpha * T(v)
			} else {
				row[j] = alpha*T(v) + beta*row[j]
			}
		}
	}
	return true
}

// operand returns the r×c matrix src (row stride ld) as contiguous float32:
// src itself when it already is, else a copy in *buf (reused when large
// enough).
func operand[T float32 | float64](buf *[]float32, src []T, r, c, ld int) []float32 {
	if s, ok := any(src).([]float32); ok && ld == c {
		return s[:r*c]
	}
	*buf = grow(*buf, r*c)
	dst := *buf
	for i := 0; i < r; i++ {
		out := dst[i*c : (i+1)*c]
		for j, v := range src[i*ld : i*ld+c] {
			out[j] = float32(v)
		}
	}
	return dst
}

func (o *ORT) run(ta, tb bool, a, b, c []float32, ar, ac, br, bc, m, n int) error {
	at, err := ort.NewTensor(ort.NewShape(int64(ar), int64(ac)), a)
	if err != nil {
		return err
	}
	defer at.Destroy()
	bt, err := ort.NewTensor(ort.NewShape(int64(br), int64(bc)), b)
	if err != nil {
		return err
	}
	defer bt.Destroy()
	ct, err := ort.NewTensor(ort.NewShape(int64(m), int64(n)), c)
	if err != nil {
		return err
	}
	defer ct.Destroy()
	return o.sessions[b2i(ta)][b2i(tb)].Run([]ort.Value{at, bt}, []ort.Value{ct})
}

// opShape returns the stored shapes of A and B for op(A) m×k, op(B) k×n.
func opShape(ta, tb bool, m, n, k int) (ar, ac, br, bc int) {
	ar, ac, br, bc = m, k, k, n
	if ta {
		ar, ac = k, m
	}
	if tb {
		br, bc = n, k
	}
	return
}

func transposed(t blas.Transpose) bool { return t == blas.Trans || t == blas.ConjTrans }

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// valid reports whether the arguments satisfy Dgemm's contract; invalid
// calls go to gonum, which panics with the standard message.
func valid(tA, tB blas.Transpose, m, n, k int, lenA, lda, lenB, ldb, lenC, ldc int) bool {
	okT := func(t blas.Transpose) bool { return t == blas.NoTrans || transposed(t) }
	if !okT(tA) || !okT(tB) || m <= 0 || n <= 0 || k <= 0 {
		return false
	}
	ar, ac, br, bc := opShape(transposed(tA), transposed(tB), m, n, k)
	return lda >= ac && ldb >= bc && ldc >= n &&
		lenA >= lda*(ar-1)+ac && lenB >= ldb*(br-1)+bc && lenC >= ldc*(m-1)+n
}

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// ReleaseScratch drops the idle float32 buffers kept between products: a
// training run's largest (its score blocks) would otherwise stay with a
// server after the run.
func (o *ORT) ReleaseScratch() { o.scratch.Drain() }

// Install makes ORT the process's BLAS (blas64.Use) and returns a function
// that puts gonum back and releases the sessions.
func Install(threads int) (restore func(), err error) {
	o, err := NewORT(threads)
	if err != nil {
		return nil, err
	}
	blas64.Use(o)
	blas32.Use(o)
	return func() {
		blas64.Use(gonum.Implementation{})
		blas32.Use(gonum.Implementation{})
		o.Close()
	}, nil
}
