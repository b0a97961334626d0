package negatives

import (
	"math"
	"slices"

	"retune/internal/vecmath"
)

// The CausalNeg shortcut diagnostics. If generated negatives are
// systematically nearer to (or farther from) the query than mined ones, the
// model can learn "generated-looking ⇒ negative" instead of relevance; the
// objective's entropy term exists to make the two similarity distributions
// overlap. These numbers show how far apart they are before training, with
// the base encoder.

// Histogram range and bin count for query-similarity distributions.
const (
	DiagBins = 20
	DiagLo   = -1.0
	DiagHi   = 1.0
)

// SimDistribution summarises the cosine of each negative with its query.
// Std is the population standard deviation; quantiles interpolate linearly
// between order statistics. Hist has DiagBins bins over [DiagLo, DiagHi]
// (the last bin includes DiagHi; values outside are clamped).
type SimDistribution struct {
	N    int     `json:"n"`
	Mean float64 `json:"mean"`
	Std  float64 `json:"std"`
	P10  float64 `json:"p10"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	Hist []int   `json:"hist"`
}

// Diagnostics compares mined and generated negatives, pooling all pairs.
// Each mean is over all pairs of its kind, so queries with more negatives
// weigh more; MeanCosQueryMined and MeanCosQueryGenerated equal the two
// distributions' means. Generated–generated pairs are two different
// negatives of one query; generated–mined pairs are within one query.
// Overlap is the histogram intersection Σ min(p_i, q_i) of the normalised
// histograms: 1 when the distributions fall in the same bins, 0 when they
// share none (or either is empty).
type Diagnostics struct {
	Queries int     `json:"queries"` // queries with at least one negative
	Bins    int     `json:"bins"`
	Lo      float64 `json:"lo"`
	Hi      float64 `json:"hi"`

	MeanCosQueryMined         float64 `json:"mean_cos_query_mined"`
	MeanCosQueryGenerated     float64 `json:"mean_cos_query_generated"`
	MeanCosGeneratedMined     float64 `json:"mean_cos_generated_mined"`
	GeneratedMinedPairs       int     `json:"generated_mined_pairs"`
	MeanCosGeneratedGenerated float64 `json:"mean_cos_generated_generated"`
	GeneratedGeneratedPairs   int     `json:"generated_generated_pairs"`

	Mined     SimDistribution `json:"mined"`
	Generated SimDistribution `json:"generated"`
	Overlap   float64         `json:"overlap"`
}

// QueryVectors holds one query's embeddings: the query, its mined negatives
// and its generated negatives.
type QueryVectors struct {
	Query     []float32
	Mined     [][]float32
	Generated [][]float32
}

// Diagnose computes the diagnostics over queries.
func Diagnose(queries []QueryVectors) Diagnostics {
	d := Diagnostics{Bins: DiagBins, Lo: DiagLo, Hi: DiagHi}
	var mined, gen []float64
	var gm, gg float64
	for _, q := range queries {
		if len(q.Mined)+len(q.Generated) > 0 {
			d.Queries++
		}
		for _, m := range q.Mined {
			mined = append(mined, vecmath.Cosine(q.Query, m))
		}
		for i, g := range q.Generated {
			gen = append(gen, vecmath.Cosine(q.Query, g))
			for _, m := range q.Mined {
				gm += vecmath.Cosine(g, m)
				d.GeneratedMinedPairs++
			}
			for _, h := range q.Generated[i+1:] {
				gg += vecmath.Cosine(g, h)
				d.GeneratedGeneratedPairs++
			}
		}
	}
	d.Mined, d.Generated = diagDistribution(mined), diagDistribution(gen)
	d.MeanCosQueryMined, d.MeanCosQueryGenerated = d.Mined.Mean, d.Generated.Mean
	if d.GeneratedMinedPairs > 0 {
		d.MeanCosGeneratedMined = gm / float64(d.GeneratedMinedPairs)
	}
	if d.GeneratedGeneratedPairs > 0 {
		d.MeanCosGeneratedGenerated = gg / float64(d.GeneratedGeneratedPairs)
	}
	d.Overlap = diagOverlap(d.Mined, d.Generated)
	return d
}

func diagDistribution(xs []float64) SimDistribution {
	s := SimDistribution{N: len(xs), Hist: make([]int, DiagBins)}
	if len(xs) == 0 {
		return s
	}
	for _, x := range xs {
		s.Mean += x
		s.Hist[diagBin(x)]++
	}
	s.Mean /= float64(len(xs))
	for _, x := range xs {
		s.Std += (x - s.Mean) * (x - s.Mean)
	}
	s.Std = math.Sqrt(s.Std / float64(len(xs)))
	sorted := slices.Clone(xs)
	slices.Sort(sorted)
	s.P10, s.P50, s.P90 = diagQuantile(sorted, 0.1), diagQuantile(sorted, 0.5), diagQuantile(sorted, 0.9)
	return s
}

// diagBin maps x to its histogram bin, clamping to the range. The 1e-9
// nudge puts a value on a bin edge in the upper bin even when its decimal
// form is not exact in binary: (-0.9+1)·10 is 0.9999999999999998.
func diagBin(x float64) int {
	b := int(math.Floor((x-DiagLo)*DiagBins/(DiagHi-DiagLo) + 1e-9))
	return min(max(b, 0), DiagBins-1)
}

// diagQuantile interpolates linearly between order statistics of sorted
// (the "type 7" definition numpy and R use by default).
func diagQuantile(sorted []float64, p float64) float64 {
	h := p * float64(len(sorted)-1)
	lo := int(math.Floor(h))
	if lo+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	return sorted[lo] + (h-float64(lo))*(sorted[lo+1]-sorted[lo])
}

func diagOverlap(a, b SimDistribution) float64 {
	if a.N == 0 || b.N == 0 {
		return 0
	}
	var s float64
	for i := range a.Hist {
		s += min(float64(a.Hist[i])/float64(a.N), float64(b.Hist[i])/float64(b.N))
	}
	return s
}
