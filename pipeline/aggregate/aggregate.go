// Package aggregate combines per-path FCT slowdown estimates into
// network-wide slowdown distributions.
//
// Each path estimate is, per output size bucket, a distribution given by its
// percentiles 1..100 (what the model predicts for the path's foreground
// flows), weighted by how many foreground flows of that bucket the path has.
// The network-wide distribution of a bucket is the mixture of its paths'
// distributions with those weights: every percentile value of a path stands
// for weight/100 of that path's flows. Quantiles of the mixture are read off
// the sorted, weighted values.
package aggregate

import (
	"fmt"
	"math"
	"sort"
)

// NumBuckets is the number of output size buckets.
const NumBuckets = 4

// NumPercentiles is the number of percentiles per bucket (1..100).
const NumPercentiles = 100

// PathEstimate is the slowdown estimate of one path's foreground flows.
type PathEstimate struct {
	// Percentiles[b][k] is the (k+1)-th percentile of slowdown in bucket b.
	Percentiles [NumBuckets][NumPercentiles]float64
	// Weight[b] is how many of the network's flows of bucket b the path
	// stands for: its foreground flows of that bucket when every path is
	// estimated, scaled by draws/flows when paths are sampled.
	Weight [NumBuckets]float64
}

// Distribution is a network-wide slowdown distribution per bucket.
type Distribution struct {
	// Weight[b] is the total weight of bucket b; All is their sum.
	Weight [NumBuckets]float64
	All    float64
	// values per bucket (and for all sizes at index NumBuckets), sorted,
	// and their cumulative weights (cum[b][i]: the weight of values[b][:i+1])
	values [NumBuckets + 1][]float64
	cum    [NumBuckets + 1][]float64
	// samples: every value is one flow (FromSamples); quantiles then
	// interpolate linearly between order statistics, numpy's default.
	samples bool
}

// Combine mixes path estimates into one distribution. Paths with zero weight
// in a bucket contribute nothing to it. Slowdowns must be finite and >= 0.
func Combine(paths []PathEstimate) (*Distribution, error) {
	d := &Distribution{}
	type vw struct{ v, w float64 }
	var all [NumBuckets + 1][]vw
	for i, p := range paths {
		for b := 0; b < NumBuckets; b++ {
			n := p.Weight[b]
			if math.IsNaN(n) || math.IsInf(n, 0) || n < 0 {
				return nil, fmt.Errorf("aggregate: path %d bucket %d: weight %v", i, b, n)
			}
			if n == 0 {
				continue
			}
			d.Weight[b] += n
			w := n / NumPercentiles
			for k, v := range p.Percentiles[b] {
				if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
					return nil, fmt.Errorf("aggregate: path %d bucket %d percentile %d is %v", i, b, k+1, v)
				}
				all[b] = append(all[b], vw{v, w})
				all[NumBuckets] = append(all[NumBuckets], vw{v, w})
			}
		}
	}
	for b := range all {
		sort.Slice(all[b], func(i, j int) bool { return all[b][i].v < all[b][j].v })
		d.values[b] = make([]float64, len(all[b]))
		d.cum[b] = make([]float64, len(all[b]))
		c := 0.0
		for i, x := range all[b] {
			c += x.w
			d.values[b][i], d.cum[b][i] = x.v, c
		}
	}
	for _, n := range d.Weight {
		d.All += n
	}
	return d, nil
}

// Quantile returns the q-quantile (0 < q <= 1) of slowdown in bucket b, or of
// all flows when b == NumBuckets: for a mixture of path estimates, the
// smallest value whose cumulative weight reaches q of the total; for
// per-flow samples (FromSamples), numpy's default (linear) percentile, as
// ns-3 results are summarised. It returns NaN for an empty bucket.
func (d *Distribution) Quantile(b int, q float64) float64 {
	vals, cum := d.values[b], d.cum[b]
	if len(vals) == 0 {
		return math.NaN()
	}
	if d.samples {
		k := q * float64(len(vals)-1)
		i := int(k)
		if i+1 >= len(vals) {
			return vals[len(vals)-1]
		}
		return vals[i] + (vals[i+1]-vals[i])*(k-float64(i))
	}
	target := q * cum[len(cum)-1] * (1 - 1e-12)
	i := sort.SearchFloat64s(cum, target)
	return vals[min(i, len(vals)-1)]
}

// CDF returns the bucket's distribution as (value, cumulative fraction)
// points, for plotting: every distinct value, or with maxPoints > 0 at most
// about maxPoints of them, kept where the curve has moved on by 2/maxPoints
// in cumulative fraction or in log value (over the bucket's range), so a
// line through them stays that close to the whole curve.
func (d *Distribution) CDF(b, maxPoints int) (x, y []float64) {
	vals, cum := d.values[b], d.cum[b]
	if len(vals) == 0 {
		return nil, nil
	}
	total := cum[len(cum)-1]
	stepY, stepX := 0.0, math.Inf(1) // stepX: a factor in value
	if maxPoints > 0 {
		stepY = 2 / float64(maxPoints)
		if lo, hi := vals[0], vals[len(vals)-1]; lo > 0 && hi > lo {
			stepX = math.Pow(hi/lo, stepY)
		}
	}
	nextY, nextX := math.Inf(-1), math.Inf(-1)
	for i, v := range vals {
		if i+1 < len(vals) && vals[i+1] == v {
			continue // the end of a run of equal values carries its weight
		}
		cy := cum[i] / total
		if maxPoints <= 0 || i == len(vals)-1 || cy >= nextY || v >= nextX {
			x, y = append(x, v), append(y, cy)
			nextY, nextX = cy+stepY, v*stepX
			if v <= 0 {
				nextX = math.Inf(1)
			}
		}
	}
	return x, y
}

// FromSamples builds a distribution from per-flow slowdowns (each flow of
// weight 1) and their output buckets, e.g. a packet-level ground truth.
func FromSamples(bucket []int, slowdown []float64) (*Distribution, error) {
	if len(bucket) != len(slowdown) {
		return nil, fmt.Errorf("aggregate: %d buckets for %d slowdowns", len(bucket), len(slowdown))
	}
	d := &Distribution{samples: true}
	var all [NumBuckets + 1][]float64
	for i, v := range slowdown {
		b := bucket[i]
		if b < 0 || b >= NumBuckets {
			return nil, fmt.Errorf("aggregate: flow %d: bucket %d", i, b)
		}
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return nil, fmt.Errorf("aggregate: flow %d: slowdown %v", i, v)
		}
		all[b] = append(all[b], v)
		all[NumBuckets] = append(all[NumBuckets], v)
		d.Weight[b]++
		d.All++
	}
	for b := range all {
		sort.Float64s(all[b])
		d.values[b] = all[b]
		d.cum[b] = make([]float64, len(all[b]))
		for i := range d.cum[b] {
			d.cum[b][i] = float64(i + 1)
		}
	}
	return d, nil
}

// BucketName labels output bucket b (or all sizes for b == NumBuckets).
func BucketName(b int) string {
	switch b {
	case 0:
		return "<1KB"
	case 1:
		return "1KB-10KB"
	case 2:
		return "10KB-50KB"
	case 3:
		return ">=50KB"
	}
	return "all"
}

// Mixture holds path estimates with each bucket's values sorted once, so
// that the mixture's quantiles under other path weights (a bootstrap
// replicate of a path sample) cost one pass over the values.
type Mixture struct {
	n      int                       // paths
	values [NumBuckets + 1][]float64 // sorted; index NumBuckets: all sizes
	path   [NumBuckets + 1][]int32   // the path behind each value
	bucket [NumBuckets + 1][]int8    // its bucket (differs only in the all-sizes list)
}

// NewMixture prepares paths' percentiles (their weights are not used).
func NewMixture(paths []PathEstimate) *Mixture {
	m := &Mixture{n: len(paths)}
	type entry struct {
		v float64
		p int32
		b int8
	}
	var all [NumBuckets + 1][]entry
	for i, p := range paths {
		for b := 0; b < NumBuckets; b++ {
			if p.Weight[b] == 0 {
				continue
			}
			for _, v := range p.Percentiles[b] {
				e := entry{v, int32(i), int8(b)}
				all[b] = append(all[b], e)
				all[NumBuckets] = append(all[NumBuckets], e)
			}
		}
	}
	for b := range all {
		sort.Slice(all[b], func(i, j int) bool { return all[b][i].v < all[b][j].v })
		for _, e := range all[b] {
			m.values[b] = append(m.values[b], e.v)
			m.path[b] = append(m.path[b], e.p)
			m.bucket[b] = append(m.bucket[b], e.b)
		}
	}
	return m
}

// Quantiles writes into out[b][k] the qs[k]-quantile of bucket b (and of
// all sizes at b = NumBuckets) of the mixture with path i weighted by
// weight[i] (per bucket), by Distribution.Quantile's rule; NaN for a bucket
// of no weight. qs must ascend.
func (m *Mixture) Quantiles(weight [][NumBuckets]float64, qs []float64, out *[NumBuckets + 1][]float64) {
	for b := range m.values {
		o := out[b][:0]
		total := 0.0
		for i, p := range m.path[b] {
			total += weight[p][m.bucket[b][i]]
		}
		if total == 0 {
			for range qs {
				o = append(o, math.NaN())
			}
			out[b] = o
			continue
		}
		cum, i := 0.0, 0
		vals := m.values[b]
		for _, q := range qs {
			target := q * total * (1 - 1e-12)
			for i < len(vals)-1 && cum+weight[m.path[b][i]][m.bucket[b][i]] < target {
				cum += weight[m.path[b][i]][m.bucket[b][i]]
				i++
			}
			o = append(o, vals[i])
		}
		out[b] = o
	}
}
