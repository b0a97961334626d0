package linalg_test

import (
	"math"
	"math/rand"
	"runtime"
	"sync"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
	"gonum.org/v1/gonum/mat"

	"retune/internal/testenv"
	"retune/linalg"
)

func newTestORT(t *testing.T) *linalg.ORT {
	t.Helper()
	testenv.InitORT(t)
	o, err := linalg.NewORT(runtime.NumCPU())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(o.Close)
	return o
}

func randSlice(r *rand.Rand, n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = r.NormFloat64()
	}
	return s
}

// TestDgemmMatchesGonum checks every transpose combination, padded strides,
// alpha/beta, beta = 0 ignoring a NaN-filled C, and the small-product
// fallback against gonum's float64 Dgemm.
func TestDgemmMatchesGonum(t *testing.T) {
	o := newTestORT(t)
	cases := []struct {
		name        string
		m, n, k     int
		pad         int
		alpha, beta float64
	}{
		{"large beta0", 300, 120, 100, 0, 1, 0},
		{"large padded alpha beta", 257, 100, 130, 3, -0.5, 2},
		{"small falls back", 8, 9, 10, 1, 1, 1},
	}
	r := rand.New(rand.NewSource(1))
	for _, tc := range cases {
		for _, tA := range []blas.Transpose{blas.NoTrans, blas.Trans} {
			for _, tB := range []blas.Transpose{blas.NoTrans, blas.Trans} {
				ar, ac := tc.m, tc.k
				if tA == blas.Trans {
					ar, ac = tc.k, tc.m
				}
				br, bc := tc.k, tc.n
				if tB == blas.Trans {
					br, bc = tc.n, tc.k
				}
				lda, ldb, ldc := ac+tc.pad, bc+tc.pad, tc.n+tc.pad
				a, b := randSlice(r, ar*lda), randSlice(r, br*ldb)
				want := randSlice(r, tc.m*ldc)
				got := append([]float64(nil), want...)
				if tc.beta == 0 {
					for i := range got {
						got[i] = math.NaN()
					}
				}
				gonum.Implementation{}.Dgemm(tA, tB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, want, ldc)
				before := o.Calls()
				o.Dgemm(tA, tB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, got, ldc)
				if onORT := o.Calls() > before; onORT != (tc.m*tc.n*tc.k >= linalg.MinMACs) {
					t.Fatalf("%s: ran on ORT = %v with m·n·k = %d", tc.name, onORT, tc.m*tc.n*tc.k)
				}
				for i := 0; i < tc.m; i++ {
					for j := 0; j < tc.n; j++ {
						w, g := want[i*ldc+j], got[i*ldc+j]
						// float32 inputs and accumulation: error grows with √k.
						if math.Abs(w-g) > 1e-4*(1+math.Abs(w)) || math.IsNaN(g) {
							t.Fatalf("%s tA=%c tB=%c: C[%d][%d] = %v, gonum %v", tc.name, tA, tB, i, j, g, w)
						}
					}
				}
				// Padding columns of C are never written.
				if tc.pad > 0 && tc.beta != 0 {
					for i := 0; i < tc.m; i++ {
						for j := tc.n; j < ldc; j++ {
							if got[i*ldc+j] != want[i*ldc+j] {
								t.Fatalf("%s: padding C[%d][%d] changed", tc.name, i, j)
							}
						}
					}
				}
			}
		}
	}
}

func TestDgemmInvalidArgumentsPanicLikeGonum(t *testing.T) {
	o := newTestORT(t)
	defer func() {
		if recover() == nil {
			t.Fatal("short A slice did not panic")
		}
	}()
	o.Dgemm(blas.NoTrans, blas.NoTrans, 100, 100, 100, 1, make([]float64, 10), 100, make([]float64, 10000), 100, 0, make([]float64, 10000), 100)
}

// TestSgemmMatchesGonum covers the float32 path: contiguous operands (no
// copy, result written in place) and padded ones with alpha and beta.
func TestSgemmMatchesGonum(t *testing.T) {
	o := newTestORT(t)
	r := rand.New(rand.NewSource(2))
	rand32 := func(n int) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = float32(r.NormFloat64())
		}
		return s
	}
	for _, tc := range []struct {
		name        string
		pad         int
		alpha, beta float32
	}{{"contiguous", 0, 1, 0}, {"padded alpha beta", 2, 0.5, -1}} {
		for _, tA := range []blas.Transpose{blas.NoTrans, blas.Trans} {
			for _, tB := range []blas.Transpose{blas.NoTrans, blas.Trans} {
				m, n, k := 200, 110, 120
				ar, ac, br, bc := linalg.OpShape(tA == blas.Trans, tB == blas.Trans, m, n, k)
				lda, ldb, ldc := ac+tc.pad, bc+tc.pad, n+tc.pad
				a, b, want := rand32(ar*lda), rand32(br*ldb), rand32(m*ldc)
				got := append([]float32(nil), want...)
				gonum.Implementation{}.Sgemm(tA, tB, m, n, k, tc.alpha, a, lda, b, ldb, tc.beta, want, ldc)
				before := o.Calls()
				o.Sgemm(tA, tB, m, n, k, tc.alpha, a, lda, b, ldb, tc.beta, got, ldc)
				if o.Calls() == before {
					t.Fatalf("%s: product did not run on ORT", tc.name)
				}
				for i := 0; i < m; i++ {
					for j := 0; j < ldc; j++ {
						w, g := float64(want[i*ldc+j]), float64(got[i*ldc+j])
						if math.Abs(w-g) > 1e-3*(1+math.Abs(w)) {
							t.Fatalf("%s tA=%c tB=%c: C[%d][%d] = %v, gonum %v", tc.name, tA, tB, i, j, g, w)
						}
					}
				}
			}
		}
	}
}

// TestInstallRoutesGonumMatrices checks the integration the trainer relies
// on: after linalg.Install, mat.Dense.Mul (which calls blas64) gives the float64
// product to within float32 precision; restore brings back exact gonum.
func TestInstallRoutesGonumMatrices(t *testing.T) {
	testenv.InitORT(t)
	r := rand.New(rand.NewSource(3))
	x := mat.NewDense(500, 100, randSlice(r, 500*100))
	w := mat.NewDense(100, 100, randSlice(r, 100*100))
	var want mat.Dense
	want.Mul(x, w.T())

	restore, err := linalg.Install(runtime.NumCPU())
	if err != nil {
		t.Fatal(err)
	}
	var got mat.Dense
	got.Mul(x, w.T())
	restore()
	if !mat.EqualApprox(&got, &want, 1e-3) {
		t.Fatal("product through the installed ORT BLAS differs from gonum's")
	}
	if mat.Equal(&got, &want) {
		t.Fatal("product is bit-identical to float64 gonum: it did not run on ORT")
	}
	var again mat.Dense
	again.Mul(x, w.T())
	if !mat.Equal(&again, &want) {
		t.Fatal("after restore the product is not gonum's float64 result")
	}
}

// TestDgemmConcurrent runs products from several goroutines at once: each
// call must get its own scratch buffers.
func TestDgemmConcurrent(t *testing.T) {
	o := newTestORT(t)
	const m, n, k = 120, 100, 90
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := 0; g < 8; g++ {
		wg.Go(func() {
			r := rand.New(rand.NewSource(int64(g)))
			for range 5 {
				a, b := randSlice(r, m*k), randSlice(r, k*n)
				want, got := make([]float64, m*n), make([]float64, m*n)
				gonum.Implementation{}.Dgemm(blas.NoTrans, blas.NoTrans, m, n, k, 1, a, k, b, n, 0, want, n)
				o.Dgemm(blas.NoTrans, blas.NoTrans, m, n, k, 1, a, k, b, n, 0, got, n)
				for i := range want {
					if math.Abs(want[i]-got[i]) > 1e-4*(1+math.Abs(want[i])) {
						errs <- "concurrent product differs from gonum"
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}
