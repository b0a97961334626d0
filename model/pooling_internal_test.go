package model

import (
	"math"
	"slices"
	"testing"

	"retune/tokenize"
)

// Each pooling of a hand-written [seq=4, dim=2] output, right- and
// left-padded, and of a row with no real token (zero in every mode).
func TestPoolingModes(t *testing.T) {
	sqrt3 := float32(math.Sqrt(3))
	rows := []float32{
		1, -2, // token 0
		3, 0, // token 1
		-1, 5, // token 2
		9, 9, // token 3 (padding in the first masks)
	}
	for _, c := range []struct {
		name              string
		mask              []int64
		mean, max         []float32
		last              []float32
		sqrtLen, weighted []float32
	}{
		// sqrt len: the sum over √n; weighted: Σ k·row_k / Σ k over the real tokens.
		{"right-padded", []int64{1, 1, 1, 0}, []float32{1, 1}, []float32{3, 5}, []float32{-1, 5},
			[]float32{3 / sqrt3, 3 / sqrt3}, []float32{(1 + 6 - 3) / 6., (-2 + 0 + 15) / 6.}},
		{"left-padded", []int64{0, 1, 1, 1}, []float32{11. / 3, 14. / 3}, []float32{9, 9}, []float32{9, 9},
			[]float32{11 / sqrt3, 14 / sqrt3}, []float32{(3 - 2 + 27) / 6., (0 + 10 + 27) / 6.}},
		{"one token", []int64{0, 1, 0, 0}, []float32{3, 0}, []float32{3, 0}, []float32{3, 0}, []float32{3, 0}, []float32{3, 0}},
		{"no real token", []int64{0, 0, 0, 0}, []float32{0, 0}, []float32{0, 0}, []float32{0, 0}, []float32{0, 0}, []float32{0, 0}},
	} {
		got := make([]float32, 2)
		meanPool(got, rows, c.mask, 2)
		if !closeTo(got, c.mean) {
			t.Errorf("%s: mean %v, want %v", c.name, got, c.mean)
		}
		maxPool(got, rows, c.mask, 2)
		if !slices.Equal(got, c.max) {
			t.Errorf("%s: max %v, want %v", c.name, got, c.max)
		}
		lastTokenPool(got, rows, c.mask, 2)
		if !slices.Equal(got, c.last) {
			t.Errorf("%s: last token %v, want %v", c.name, got, c.last)
		}
		// CLS: the first real token, which left padding moves.
		first := map[string][]float32{"right-padded": {1, -2}, "left-padded": {3, 0}, "one token": {3, 0}, "no real token": {0, 0}}[c.name]
		firstTokenPool(got, rows, c.mask, 2)
		if !slices.Equal(got, first) {
			t.Errorf("%s: first token %v, want %v", c.name, got, first)
		}
		weightedPool(got, rows, c.mask, 2, sqrtLenWeights)
		if !closeTo(got, c.sqrtLen) {
			t.Errorf("%s: mean sqrt len %v, want %v", c.name, got, c.sqrtLen)
		}
		weightedPool(got, rows, c.mask, 2, positionWeights)
		if !closeTo(got, c.weighted) {
			t.Errorf("%s: weighted mean %v, want %v", c.name, got, c.weighted)
		}
	}
}

func closeTo(a, b []float32) bool {
	for i := range a {
		if d := a[i] - b[i]; d > 1e-6 || d < -1e-6 {
			return false
		}
	}
	return len(a) == len(b)
}

// Positions count each row's real tokens from 0, right- or left-padded.
func TestPositionIDs(t *testing.T) {
	b := &tokenize.Batch{Size: 3, SeqLen: 4, Mask: []int64{
		1, 1, 1, 0,
		0, 1, 1, 1,
		0, 0, 0, 0,
	}}
	want := []int64{0, 1, 2, 2, 0, 0, 1, 2, 0, 0, 0, 0}
	if got := positionIDs(b); !slices.Equal(got, want) {
		t.Fatalf("positions %v, want %v", got, want)
	}
}
