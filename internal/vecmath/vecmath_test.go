package vecmath

import (
	"math"
	"testing"
)

func TestCosine(t *testing.T) {
	for _, tc := range []struct {
		a, b []float32
		want float64
	}{
		{[]float32{1, 0}, []float32{2, 0}, 1},
		{[]float32{1, 0}, []float32{0, 3}, 0},
		{[]float32{1, 1}, []float32{-1, -1}, -1},
		{[]float32{3, 4}, []float32{4, 3}, 24.0 / 25}, // (12+12)/(5·5), by hand
		{[]float32{0, 0}, []float32{1, 0}, 0},
	} {
		if got := Cosine(tc.a, tc.b); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("Cosine(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestFirstNonFinite(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(-1))
	tests := []struct {
		vecs [][]float32
		i, j int
	}{
		{nil, -1, -1},
		{[][]float32{{1, 2}, {3, 4}}, -1, -1},
		{[][]float32{{1, 2}, {3, nan}}, 1, 1},
		{[][]float32{{inf, 2}, {3, nan}}, 0, 0},
	}
	for _, tt := range tests {
		if i, j := FirstNonFinite(tt.vecs); i != tt.i || j != tt.j {
			t.Errorf("FirstNonFinite(%v) = %d, %d, want %d, %d", tt.vecs, i, j, tt.i, tt.j)
		}
	}
}
