package aggregate

import (
	"fmt"
	"math"
	"slices"
)

// Builder collects path estimates one bucket at a time and makes their
// mixture (what Combine makes of a slice of PathEstimate), holding 16 bytes
// per percentile value and no per-path records, so that a workload's every
// path can stream into it. The zero value is ready to use.
type Builder struct {
	weight [NumBuckets]float64
	vals   [NumBuckets][]float64
	wts    [NumBuckets][]float64 // the weight of each value
}

// Add adds one path's slowdown percentiles 1..100 of bucket b, standing for
// weight flows (nothing when weight is 0). Slowdowns must be finite and
// >= 0, weights finite and >= 0.
func (m *Builder) Add(b int, pct *[NumPercentiles]float64, weight float64) error {
	if b < 0 || b >= NumBuckets {
		return fmt.Errorf("bucket %d outside 0..%d", b, NumBuckets-1)
	}
	if math.IsNaN(weight) || math.IsInf(weight, 0) || weight < 0 {
		return fmt.Errorf("bucket %d: weight %v", b, weight)
	}
	if weight == 0 {
		return nil
	}
	for k, v := range pct {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return fmt.Errorf("bucket %d percentile %d is %v", b, k+1, v)
		}
	}
	m.weight[b] += weight
	w := weight / NumPercentiles
	for _, v := range pct {
		m.vals[b] = append(m.vals[b], v+0) // +0 turns -0 into 0, which orders by its bits
		m.wts[b] = append(m.wts[b], w)
	}
	return nil
}

// Grow makes room for n more values of bucket b (n/100 paths' worth), so
// that a caller who knows how many will come saves the slices' doubling.
func (m *Builder) Grow(b, n int) {
	m.vals[b] = slices.Grow(m.vals[b], n)
	m.wts[b] = slices.Grow(m.wts[b], n)
}

// Distribution sorts what was added into the mixture's distribution. It
// takes over the builder's memory: the builder is empty afterwards.
// Values are sorted stably, so equal values add their weights up in the
// order they were added.
func (m *Builder) Distribution() *Distribution {
	d := &Distribution{Weight: m.weight}
	for b := 0; b < NumBuckets; b++ {
		vals, wts := m.vals[b], m.wts[b]
		sortByValue(vals, wts)
		c := 0.0
		for i, w := range wts { // the weights become the cumulative weights
			c += w
			wts[i] = c
		}
		d.values[b], d.cum[b] = vals, wts
		d.All += m.weight[b]
	}
	*m = Builder{}
	return d
}

// sortByValue sorts vals (finite, >= 0, no -0) ascending and carries w
// along, stably: a least-significant-digit radix sort on the values' bit
// patterns (which order non-negative floats as numbers), 11 bits a pass,
// only over the digits in which the values differ (the high bits of
// slowdowns between 1 and 10^4 mostly agree, and the low bits of float32
// estimates widened to float64 are 0).
func sortByValue[T any](vals []float64, w []T) {
	n := len(vals)
	if n < 2 {
		return
	}
	if n < 256 {
		insertionSort(vals, w)
		return
	}
	const bits, buckets = 11, 1 << 11
	// the digits in which some value differs from the first: only their
	// passes move anything
	k0 := math.Float64bits(vals[0])
	diff := uint64(0)
	for _, v := range vals {
		diff |= math.Float64bits(v) ^ k0
	}
	var pass [6]uint // shifts of the passes to make
	np := 0
	for p := range uint(6) {
		if diff>>(bits*p)&(buckets-1) != 0 {
			pass[np] = bits * p
			np++
		}
	}
	if np == 0 {
		return // all equal
	}
	var count [6][buckets]int
	for _, v := range vals {
		k := math.Float64bits(v)
		for j, sh := range pass[:np] {
			count[j][k>>sh&(buckets-1)]++
		}
	}
	tv, tw := make([]float64, n), make([]T, n)
	src, srcW, dst, dstW := vals, w, tv, tw
	for j, sh := range pass[:np] {
		c := &count[j]
		sum := 0
		for i, k := range c {
			c[i] = sum
			sum += k
		}
		for i, v := range src {
			d := math.Float64bits(v) >> sh & (buckets - 1)
			dst[c[d]], dstW[c[d]] = v, srcW[i]
			c[d]++
		}
		src, srcW, dst, dstW = dst, dstW, src, srcW
	}
	if &src[0] != &vals[0] {
		copy(vals, src)
		copy(w, srcW)
	}
}

func insertionSort[T any](vals []float64, w []T) {
	for i := 1; i < len(vals); i++ {
		v, x := vals[i], w[i]
		j := i
		for ; j > 0 && vals[j-1] > v; j-- {
			vals[j], w[j] = vals[j-1], w[j-1]
		}
		vals[j], w[j] = v, x
	}
}
