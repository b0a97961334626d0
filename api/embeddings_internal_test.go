package api

import (
	"math"
	"testing"
)

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
		if i, j := firstNonFinite(tt.vecs); i != tt.i || j != tt.j {
			t.Errorf("firstNonFinite(%v) = %d, %d, want %d, %d", tt.vecs, i, j, tt.i, tt.j)
		}
	}
}
