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

// OutputEdges are the upper byte edges of m3's output size buckets:
// (0, 1000), [1000, 10000), [10000, 50000), [50000, inf).
var OutputEdges = []float64{1000, 10000, 50000}

// BucketOf returns the output bucket of a flow of size bytes (numpy.digitize
// semantics: a size equal to an edge falls in the upper bucket).
func BucketOf(size float64) int {
	b := 0
	for b < len(OutputEdges) && size >= OutputEdges[b] {
		b++
	}
	return b
}

// NumBuckets is the number of output size buckets.
const NumBuckets = 4

// NumPercentiles is the number of percentiles per bucket (1..100).
const NumPercentiles = 100

// PathEstimate is the slowdown estimate of one path's foreground flows.
type PathEstimate struct {
	// Percentiles[b][k] is the (k+1)-th percentile of slowdown in bucket b.
	Percentiles [NumBuckets][NumPercentiles]float64
	// Flows[b] is the number of foreground flows of bucket b on the path.
	Flows [NumBuckets]int
}

// Distribution is a network-wide slowdown distribution per bucket.
type Distribution struct {
	// Flows[b] is the number of flows in bucket b; All is their total.
	Flows [NumBuckets]int
	All   int
	// values/weights per bucket (and for all sizes at index NumBuckets), sorted by value.
	values  [NumBuckets + 1][]float64
	weights [NumBuckets + 1][]float64
}

// Combine mixes path estimates into one distribution. Paths with no flows in
// a bucket contribute nothing to it. Slowdowns must be finite and >= 0.
func Combine(paths []PathEstimate) (*Distribution, error) {
	d := &Distribution{}
	type vw struct{ v, w float64 }
	var all [NumBuckets + 1][]vw
	for i, p := range paths {
		for b := 0; b < NumBuckets; b++ {
			n := p.Flows[b]
			if n < 0 {
				return nil, fmt.Errorf("aggregate: path %d bucket %d: %d flows", i, b, n)
			}
			if n == 0 {
				continue
			}
			d.Flows[b] += n
			w := float64(n) / NumPercentiles
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
		d.weights[b] = make([]float64, len(all[b]))
		for i, x := range all[b] {
			d.values[b][i], d.weights[b][i] = x.v, x.w
		}
	}
	for _, n := range d.Flows {
		d.All += n
	}
	return d, nil
}

// Quantile returns the q-quantile (0 < q <= 1) of slowdown in bucket b, or of
// all flows when b == NumBuckets: the smallest value whose cumulative weight
// reaches q of the total. It returns NaN for an empty bucket.
func (d *Distribution) Quantile(b int, q float64) float64 {
	vals, ws := d.values[b], d.weights[b]
	if len(vals) == 0 {
		return math.NaN()
	}
	total := 0.0
	for _, w := range ws {
		total += w
	}
	target := q * total
	cum := 0.0
	for i, w := range ws {
		cum += w
		if cum >= target*(1-1e-12) {
			return vals[i]
		}
	}
	return vals[len(vals)-1]
}

// CDF returns the bucket's distribution as (value, cumulative fraction)
// points, for plotting.
func (d *Distribution) CDF(b int) (x, y []float64) {
	vals, ws := d.values[b], d.weights[b]
	total := 0.0
	for _, w := range ws {
		total += w
	}
	cum := 0.0
	for i, v := range vals {
		cum += ws[i]
		x = append(x, v)
		y = append(y, cum/total)
	}
	return x, y
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
