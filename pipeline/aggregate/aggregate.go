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
	"slices"
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
	// estimated, its share of the bucket's draws when paths are sampled.
	Weight [NumBuckets]float64
}

// Distribution is a network-wide slowdown distribution per bucket.
type Distribution struct {
	// Weight[b] is the total weight of bucket b; All is their sum.
	Weight [NumBuckets]float64
	All    float64
	// values per bucket, sorted, and their cumulative weights (cum[b][i]:
	// the weight of values[b][:i+1]). All sizes (index NumBuckets) are
	// stored only for per-flow samples; a mixture answers for them by
	// merging its buckets (see allCum), which keeps a mixture of 10^8
	// values at half the memory.
	values [NumBuckets + 1][]float64
	cum    [NumBuckets + 1][]float64
	// samples: every value is one flow (FromSamples); quantiles then
	// interpolate linearly between order statistics, numpy's default.
	samples bool
}

// Combine mixes path estimates into one distribution. Paths with zero weight
// in a bucket contribute nothing to it. Slowdowns must be finite and >= 0.
func Combine(paths []PathEstimate) (*Distribution, error) {
	var b Builder
	for i := range paths {
		p := &paths[i]
		for k := 0; k < NumBuckets; k++ {
			if err := b.Add(k, &p.Percentiles[k], p.Weight[k]); err != nil {
				return nil, fmt.Errorf("aggregate: path %d %w", i, err)
			}
		}
	}
	return b.Distribution(), nil
}

// Quantile returns the q-quantile (0 < q <= 1) of slowdown in bucket b, or of
// all flows when b == NumBuckets: for a mixture of path estimates, the
// smallest value whose cumulative weight reaches q of the total; for
// per-flow samples (FromSamples), numpy's default (linear) percentile, as
// ns-3 results are summarised. It returns NaN for an empty bucket.
func (d *Distribution) Quantile(b int, q float64) float64 {
	if b == NumBuckets && !d.samples {
		return d.allQuantile(q)
	}
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

// allCum returns the weight of the mixture's values <= v over all buckets.
func (d *Distribution) allCum(v float64) float64 {
	c := 0.0
	for b := 0; b < NumBuckets; b++ {
		vals := d.values[b]
		if i := sort.Search(len(vals), func(i int) bool { return vals[i] > v }); i > 0 {
			c += d.cum[b][i-1]
		}
	}
	return c
}

// allQuantile is Quantile over all sizes of a mixture: the smallest value
// of any bucket whose weight over all buckets reaches q of the total, found
// by bisecting the values' bit patterns (which order non-negative floats).
func (d *Distribution) allQuantile(q float64) float64 {
	lo, hi := math.Inf(1), math.Inf(-1)
	total := 0.0
	for b := 0; b < NumBuckets; b++ {
		if n := len(d.values[b]); n > 0 {
			lo, hi = math.Min(lo, d.values[b][0]), math.Max(hi, d.values[b][n-1])
			total += d.cum[b][n-1]
		}
	}
	if total == 0 {
		return math.NaN()
	}
	target := q * total * (1 - 1e-12)
	if d.allCum(lo) >= target {
		return lo
	}
	// invariant: allCum(l) < target <= allCum(h) (or h is the largest value)
	l, h := math.Float64bits(lo), math.Float64bits(hi)
	for h-l > 1 {
		m := l + (h-l)/2
		if d.allCum(math.Float64frombits(m)) >= target {
			h = m
		} else {
			l = m
		}
	}
	return math.Float64frombits(h) // the weight jumps only at values: h is one
}

// CDF returns the bucket's distribution as (value, cumulative fraction)
// points, for plotting: every distinct value, or with maxPoints > 0 at most
// about maxPoints of them, kept where the curve has moved on by 2/maxPoints
// in cumulative fraction or in log value (over the bucket's range), so a
// line through them stays that close to the whole curve.
func (d *Distribution) CDF(b, maxPoints int) (x, y []float64) {
	if b == NumBuckets && !d.samples {
		return d.allCDF(maxPoints)
	}
	vals, cum := d.values[b], d.cum[b]
	if len(vals) == 0 {
		return nil, nil
	}
	t := newThinner(vals[0], vals[len(vals)-1], cum[len(cum)-1], maxPoints)
	for i, v := range vals {
		t.add(v, cum[i])
	}
	return t.finish()
}

// allCDF is CDF over all sizes of a mixture: a merge of its buckets, where
// the weight up to a value is the sum of each bucket's weight up to it.
func (d *Distribution) allCDF(maxPoints int) (x, y []float64) {
	lo, hi := math.Inf(1), math.Inf(-1)
	total := 0.0
	for b := 0; b < NumBuckets; b++ {
		if n := len(d.values[b]); n > 0 {
			lo, hi = math.Min(lo, d.values[b][0]), math.Max(hi, d.values[b][n-1])
			total += d.cum[b][n-1]
		}
	}
	if total == 0 && math.IsInf(lo, 1) {
		return nil, nil
	}
	t := newThinner(lo, hi, total, maxPoints)
	var pos [NumBuckets]int
	var cum [NumBuckets]float64
	for {
		k, v := -1, math.Inf(1)
		for b := 0; b < NumBuckets; b++ {
			if pos[b] < len(d.values[b]) && (k < 0 || d.values[b][pos[b]] < v) {
				k, v = b, d.values[b][pos[b]]
			}
		}
		if k < 0 {
			break
		}
		cum[k] = d.cum[k][pos[k]]
		pos[k]++
		t.add(v, cum[0]+cum[1]+cum[2]+cum[3])
	}
	return t.finish()
}

// thinner keeps the points of a CDF that CDF returns, from the values in
// ascending order with their cumulative weights.
type thinner struct {
	total, stepY, stepX float64
	nextY, nextX        float64
	maxPoints           int
	pend                bool    // a value is waiting to see whether the next equals it
	pv, pc              float64 // its value and cumulative weight
	x, y                []float64
}

func newThinner(lo, hi, total float64, maxPoints int) *thinner {
	t := &thinner{total: total, stepX: math.Inf(1), nextY: math.Inf(-1), nextX: math.Inf(-1), maxPoints: maxPoints}
	if maxPoints > 0 {
		t.stepY = 2 / float64(maxPoints)
		if lo > 0 && hi > lo {
			t.stepX = math.Pow(hi/lo, t.stepY)
		}
	}
	return t
}

func (t *thinner) add(v, cum float64) {
	if t.pend && v != t.pv { // the end of a run of equal values carries its weight
		t.keep(false)
	}
	t.pend, t.pv, t.pc = true, v, cum
}

func (t *thinner) keep(last bool) {
	v, cy := t.pv, t.pc/t.total
	if t.maxPoints <= 0 || last || cy >= t.nextY || v >= t.nextX {
		t.x, t.y = append(t.x, v), append(t.y, cy)
		t.nextY, t.nextX = cy+t.stepY, v*t.stepX
		if v <= 0 {
			t.nextX = math.Inf(1)
		}
	}
}

func (t *thinner) finish() (x, y []float64) {
	if t.pend {
		t.keep(true)
	}
	return t.x, t.y
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
// replicate of a path sample) cost one pass over the values; QuantilesEach
// answers several weightings in that one pass.
type Mixture struct {
	n      int                       // paths
	values [NumBuckets + 1][]float64 // sorted; index NumBuckets: all sizes
	// the parts of each bucket, in path order: a part is a path's bucket
	// (key path*NumBuckets + bucket) and holds NumPercentiles of its values
	parts [NumBuckets + 1][]uint32
	// the part of each value, as its index in parts[b] (dense, so that a
	// bucket's table of part weights is small)
	part [NumBuckets + 1][]uint32
}

// NewMixture prepares paths' percentiles (slowdowns: finite and >= 0;
// their weights are not used). Each bucket's values are sorted stably: equal
// values stay in path order, and over all sizes in (path, bucket) order.
func NewMixture(paths []PathEstimate) *Mixture {
	m := &Mixture{n: len(paths)}
	var size [NumBuckets]int
	for i := range paths {
		for b := range size {
			if paths[i].Weight[b] != 0 {
				size[b] += NumPercentiles
			}
		}
	}
	var whole [NumBuckets][]uint32 // each part's index over all sizes
	for b, n := range size {
		m.values[b] = make([]float64, 0, n)
		m.part[b] = make([]uint32, 0, n)
	}
	for i := range paths {
		p := &paths[i]
		for b := 0; b < NumBuckets; b++ {
			if p.Weight[b] == 0 {
				continue
			}
			k := uint32(i)*NumBuckets + uint32(b)
			own := uint32(len(m.parts[b]))
			whole[b] = append(whole[b], uint32(len(m.parts[NumBuckets])))
			m.parts[b] = append(m.parts[b], k)
			m.parts[NumBuckets] = append(m.parts[NumBuckets], k)
			for _, v := range p.Percentiles[b] {
				m.values[b] = append(m.values[b], v+0) // -0 is 0, which orders by its bits
				m.part[b] = append(m.part[b], own)
			}
		}
	}
	for b := range NumBuckets {
		sortByValue(m.values[b], m.part[b])
	}
	m.mergeAll(whole)
	return m
}

// mergeAll makes the all-sizes values by merging the buckets' sorted
// values, equal values in (path, bucket) order, the order in which a stable
// sort of every bucket's values in path order would leave them (each
// bucket's equal values are in path order already).
func (m *Mixture) mergeAll(whole [NumBuckets][]uint32) {
	n := 0
	for b := range NumBuckets {
		n += len(m.values[b])
	}
	vals, part := make([]float64, n), make([]uint32, n)
	// each bucket's next value and its key (path*NumBuckets + bucket)
	var pos [NumBuckets]int
	var hv [NumBuckets]float64
	var hk [NumBuckets]uint32
	head := func(b int) {
		if pos[b] < len(m.values[b]) {
			hv[b], hk[b] = m.values[b][pos[b]], m.parts[b][m.part[b][pos[b]]]
		} else {
			hv[b], hk[b] = math.Inf(1), math.MaxUint32
		}
	}
	for b := range NumBuckets {
		head(b)
	}
	for i := range vals {
		k := 0
		for b := 1; b < NumBuckets; b++ {
			if hv[b] < hv[k] || (hv[b] == hv[k] && hk[b] < hk[k]) {
				k = b
			}
		}
		vals[i], part[i] = hv[k], whole[k][m.part[k][pos[k]]]
		pos[k]++
		head(k)
	}
	m.values[NumBuckets], m.part[NumBuckets] = vals, part
}

// group is how many weightings QuantilesEach reads in one pass over the
// values: their weights of a part lie side by side, one cache line.
const group = 8

// QuantilesEach writes into out[j][b][k] the qs[k]-quantile of bucket b
// (and of all sizes at b = NumBuckets) of the mixture with path i weighted
// by weights[j][i] (per bucket, >= 0), by Distribution.Quantile's rule; NaN
// for a bucket of no weight. qs must ascend. Each weighting gets bit for bit
// what the tests' one-at-a-time reference (Mixture.Quantiles in
// aggregate_test.go) gives it (the same sums in the same order), at a
// fraction of the cost. The values are read once per group of weightings;
// each weighting's running sums over a chunk of values are added up without
// comparisons (independent sums, so they overlap in the CPU), and only a
// chunk in which a sum reaches its next target is gone over again value by
// value to find where.
func (m *Mixture) QuantilesEach(weights [][][NumBuckets]float64, qs []float64, out [][NumBuckets + 1][]float64) {
	var tab []float64
	for lo := 0; lo < len(weights); lo += group {
		hi := min(lo+group, len(weights))
		for b := range m.values {
			// tab[l*group+j]: part l's weight in weighting lo+j
			tab = slices.Grow(tab[:0], len(m.parts[b])*group)[:len(m.parts[b])*group]
			clear(tab)
			for j, w := range weights[lo:hi] {
				for l, k := range m.parts[b] {
					tab[l*group+j] = w[k/NumBuckets][k%NumBuckets]
				}
			}
			m.quantilesGroup(b, tab, hi-lo, qs, out[lo:hi])
		}
	}
}

// quantilesGroup answers bucket b for g weightings whose weights of part l
// are tab[l*group : l*group+g].
func (m *Mixture) quantilesGroup(b int, tab []float64, g int, qs []float64, out [][NumBuckets + 1][]float64) {
	vals, part := m.values[b], m.part[b]
	var total, target [group]float64
	var next [group]int // each weighting's next quantile
	pending := 0
	for j := range g {
		t := 0.0
		for l := range m.parts[b] {
			t += tab[l*group+j]
		}
		total[j] = t * NumPercentiles
		out[j][b] = out[j][b][:0]
		if total[j] == 0 || len(qs) == 0 {
			for range qs {
				out[j][b] = append(out[j][b], math.NaN())
			}
			next[j] = len(qs)
			continue
		}
		target[j] = qs[0] * total[j] * (1 - 1e-12)
		pending++
	}
	// Distribution.Quantile's rule: the first value i < n-1 whose running
	// sum (its own weight included) reaches the target, else the last value.
	// A sum of weights >= 0 never falls, so a chunk holds the place iff the
	// sum at its end reaches the target.
	const chunk = 32
	var cum [group]float64
	last := len(vals) - 1
	for c0 := 0; c0 < last && pending > 0; c0 += chunk {
		c1 := min(c0+chunk, last)
		start := cum
		// eight sums in registers (a local array would live in memory)
		s0, s1, s2, s3, s4, s5, s6, s7 := cum[0], cum[1], cum[2], cum[3], cum[4], cum[5], cum[6], cum[7]
		for _, l := range part[c0:c1] {
			w := (*[group]float64)(tab[int(l)*group:])
			s0 += w[0]
			s1 += w[1]
			s2 += w[2]
			s3 += w[3]
			s4 += w[4]
			s5 += w[5]
			s6 += w[6]
			s7 += w[7]
		}
		cum = [group]float64{s0, s1, s2, s3, s4, s5, s6, s7}
		for j := range g {
			if next[j] == len(qs) || cum[j] < target[j] {
				continue
			}
			c := start[j]
			for i := c0; i < c1; i++ {
				w := tab[int(part[i])*group+j]
				for next[j] < len(qs) && c+w >= target[j] {
					out[j][b] = append(out[j][b], vals[i])
					if next[j]++; next[j] < len(qs) {
						target[j] = qs[next[j]] * total[j] * (1 - 1e-12)
					} else {
						pending--
					}
				}
				c += w
			}
		}
	}
	for j := range g {
		for ; next[j] < len(qs); next[j]++ {
			out[j][b] = append(out[j][b], vals[last])
		}
	}
}
