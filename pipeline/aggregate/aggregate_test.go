package aggregate

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func constant(v float64) (p [NumPercentiles]float64) {
	for i := range p {
		p[i] = v
	}
	return p
}

func linear(lo, hi float64) (p [NumPercentiles]float64) {
	for i := range p {
		p[i] = lo + (hi-lo)*float64(i)/float64(NumPercentiles-1)
	}
	return p
}

// Per-flow samples are summarised as numpy.percentile does by default:
// linear interpolation between order statistics, index q (n-1).
func TestFromSamplesMatchesNumpyLinear(t *testing.T) {
	slow := []float64{5, 1, 3, 2, 4}
	d, err := FromSamples([]int{0, 0, 0, 0, 0}, slow)
	if err != nil {
		t.Fatal(err)
	}
	// numpy.percentile([5, 1, 3, 2, 4], [20, 50, 60, 61, 99, 100])
	for _, c := range []struct{ q, want float64 }{{0.2, 1.8}, {0.5, 3}, {0.6, 3.4}, {0.61, 3.44}, {0.99, 4.96}, {1, 5}} {
		if got := d.Quantile(0, c.q); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("q%.2f = %v, want %v", c.q, got, c.want)
		}
	}
	if _, err := FromSamples([]int{4}, []float64{1}); err == nil {
		t.Error("bucket 4 accepted")
	}
}

// Two paths with constant slowdowns 1 and 3, weighted 3:1: the mixture's
// median is 1 and its p80 is 3.
func TestCombineWeightsByFlows(t *testing.T) {
	var a, b PathEstimate
	a.Percentiles[1], a.Weight[1] = constant(1), 30
	b.Percentiles[1], b.Weight[1] = constant(3), 10
	d, err := Combine([]PathEstimate{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if d.Weight[1] != 40 || d.All != 40 {
		t.Fatalf("weights %v all %v", d.Weight, d.All)
	}
	for _, c := range []struct{ q, want float64 }{{0.5, 1}, {0.75, 1}, {0.76, 3}, {0.99, 3}} {
		if got := d.Quantile(1, c.q); got != c.want {
			t.Errorf("q%.2f = %v, want %v", c.q, got, c.want)
		}
	}
	if !math.IsNaN(d.Quantile(0, 0.5)) {
		t.Error("empty bucket should give NaN")
	}
	if got := d.Quantile(NumBuckets, 0.5); got != 1 {
		t.Errorf("all-size median %v, want 1", got)
	}
}

// One path alone: the mixture reproduces its percentiles.
func TestCombineSinglePathIsIdentity(t *testing.T) {
	var a PathEstimate
	a.Percentiles[3], a.Weight[3] = linear(1, 10), 7
	d, err := Combine([]PathEstimate{a})
	if err != nil {
		t.Fatal(err)
	}
	for k := 1; k <= 100; k++ {
		got, want := d.Quantile(3, float64(k)/100), a.Percentiles[3][k-1]
		if math.Abs(got-want) > 1e-12 {
			t.Fatalf("p%d = %v, want %v", k, got, want)
		}
	}
	x, y := d.CDF(3, 0)
	if len(x) != 100 || math.Abs(y[99]-1) > 1e-12 || x[0] != 1 {
		t.Fatalf("CDF ends at %v with %d points", y[len(y)-1], len(x))
	}
}

func TestCombineRejectsBadValues(t *testing.T) {
	var a PathEstimate
	a.Percentiles[0], a.Weight[0] = constant(math.NaN()), 1
	if _, err := Combine([]PathEstimate{a}); err == nil {
		t.Error("NaN slowdown accepted")
	}
}

// A thinned CDF keeps at most about maxPoints points, starts and ends where
// the whole curve does, and a line through it stays within 2/maxPoints (in
// cumulative fraction) of the whole curve at every kept value.
func TestCDFThinned(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var paths []PathEstimate
	for range 3000 {
		var p PathEstimate
		lo := 1 + r.ExpFloat64()
		for k := range p.Percentiles[2] {
			p.Percentiles[2][k] = lo * math.Exp(3*float64(k)/100*r.Float64())
		}
		p.Weight[2] = float64(1 + r.IntN(20))
		paths = append(paths, p)
	}
	d, err := Combine(paths)
	if err != nil {
		t.Fatal(err)
	}
	fx, fy := d.CDF(2, 0)
	for _, max := range []int{50, 400} {
		x, y := d.CDF(2, max)
		if len(x) > max+2 || len(x) < max/4 {
			t.Errorf("max %d: %d points", max, len(x))
		}
		if x[0] != fx[0] || x[len(x)-1] != fx[len(fx)-1] || y[len(y)-1] != 1 {
			t.Errorf("max %d: curve from %v to %v (%v), want %v to %v", max, x[0], x[len(x)-1], y[len(y)-1], fx[0], fx[len(fx)-1])
		}
		// between two kept points the whole curve rises by at most the gap
		j := 0
		for i := 1; i < len(x); i++ {
			for fx[j] < x[i] {
				j++
			}
			if fy[j] != y[i] {
				t.Fatalf("max %d: kept point %d (%v, %v) is not on the curve (%v)", max, i, x[i], y[i], fy[j])
			}
			if j > 0 && fx[j-1] > x[i-1] && fy[j-1]-y[i-1] >= 2/float64(max) {
				t.Errorf("max %d: the curve rises by %v between kept points %d and %d", max, fy[j-1]-y[i-1], i-1, i)
			}
		}
	}
}

// Quantile by binary search equals the smallest value whose cumulative
// weight reaches q, found by a scan.
func TestQuantileMatchesScan(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	var paths []PathEstimate
	for range 50 {
		var p PathEstimate
		for b := range p.Percentiles {
			v := 1.0
			for k := range p.Percentiles[b] {
				v += r.Float64()
				p.Percentiles[b][k] = v
			}
			p.Weight[b] = float64(r.IntN(5))
		}
		paths = append(paths, p)
	}
	d, err := Combine(paths)
	if err != nil {
		t.Fatal(err)
	}
	for b := 0; b <= NumBuckets; b++ {
		x, y := d.CDF(b, 0)
		for _, q := range []float64{0.001, 0.01, 0.25, 0.5, 0.9, 0.99, 1} {
			want := x[len(x)-1]
			for i := range y {
				if y[i] >= q*(1-1e-12) {
					want = x[i]
					break
				}
			}
			if got := d.Quantile(b, q); got != want {
				t.Errorf("bucket %d q %v: %v, want %v", b, q, got, want)
			}
		}
	}
}

// Quantiles, the reference QuantilesEach is checked against, writes into
// out[b][k] the qs[k]-quantile of bucket b (and of all sizes at
// b = NumBuckets) of the mixture with path i weighted by weight[i] (per
// bucket, >= 0), by Distribution.Quantile's rule; NaN for a bucket of no
// weight. qs must ascend. One weighting, one plain pass over the values.
func (m *Mixture) Quantiles(weight [][NumBuckets]float64, qs []float64, out *[NumBuckets + 1][]float64) {
	for b := range m.values {
		o := out[b][:0]
		wt := make([]float64, len(m.parts[b])) // each part's weight
		total := 0.0
		for l, k := range m.parts[b] {
			wt[l] = weight[k/NumBuckets][k%NumBuckets]
			total += wt[l]
		}
		total *= NumPercentiles
		if total == 0 {
			for range qs {
				o = append(o, math.NaN())
			}
			out[b] = o
			continue
		}
		cum, i := 0.0, 0
		vals, part := m.values[b], m.part[b]
		for _, q := range qs {
			target := q * total * (1 - 1e-12)
			for i < len(vals)-1 {
				w := wt[part[i]]
				if cum+w >= target {
					break
				}
				cum += w
				i++
			}
			o = append(o, vals[i])
		}
		out[b] = o
	}
}

// TestMixtureMatchesCombine: re-weighting a Mixture with the paths' own
// weights gives Combine's quantiles exactly, and other weights give the
// quantiles of Combine on those weights.
func TestMixtureMatchesCombine(t *testing.T) {
	var paths []PathEstimate
	for i := 0; i < 7; i++ {
		var p PathEstimate
		for b := 0; b < NumBuckets; b++ {
			if (i+b)%3 == 0 {
				continue // some paths have no flows in some buckets
			}
			p.Percentiles[b] = linear(1+float64(i)*0.3, 2+float64(i*b)*0.7)
			p.Weight[b] = float64(1 + (i*5+b)%4)
		}
		paths = append(paths, p)
	}
	m := NewMixture(paths)
	qs := make([]float64, NumPercentiles)
	for k := range qs {
		qs[k] = float64(k+1) / NumPercentiles
	}
	for trial, scale := range [][]float64{{1, 1, 1, 1, 1, 1, 1}, {0, 2, 0, 1, 3, 0, 1}} {
		w := make([][NumBuckets]float64, len(paths))
		ps := make([]PathEstimate, len(paths))
		for i, p := range paths {
			ps[i] = p
			for b := range w[i] {
				w[i][b] = p.Weight[b] * scale[i]
				ps[i].Weight[b] = w[i][b]
			}
		}
		d, err := Combine(ps)
		if err != nil {
			t.Fatal(err)
		}
		var out [NumBuckets + 1][]float64
		m.Quantiles(w, qs, &out)
		for b := 0; b <= NumBuckets; b++ {
			for k, q := range qs {
				want := d.Quantile(b, q)
				if got := out[b][k]; got != want && !(math.IsNaN(got) && math.IsNaN(want)) {
					t.Fatalf("trial %d bucket %d q%.2f: mixture %v, Combine %v", trial, b, q, got, want)
				}
			}
		}
	}
}

// mixturePaths makes n paths like a 2000-draw sample's: each has flows in
// some buckets, and rising percentiles from 1 up (about a third exactly 1).
func mixturePaths(n int, r *rand.Rand) []PathEstimate {
	paths := make([]PathEstimate, n)
	for i := range paths {
		for b := range NumBuckets {
			if r.IntN(3) == 0 {
				continue
			}
			v := 1.0
			for k := range paths[i].Percentiles[b] {
				if k > 30 {
					v += r.ExpFloat64() / 20
				}
				paths[i].Percentiles[b][k] = v
			}
			paths[i].Weight[b] = float64(1 + r.IntN(5))
		}
	}
	return paths
}

// replicateWeights makes bootstrap-like weights: each path's weights times
// a small count (often 0).
func replicateWeights(paths []PathEstimate, reps int, r *rand.Rand) [][][NumBuckets]float64 {
	ws := make([][][NumBuckets]float64, reps)
	for j := range ws {
		ws[j] = make([][NumBuckets]float64, len(paths))
		for i := range paths {
			c := float64(r.IntN(3))
			for b := range NumBuckets {
				ws[j][i][b] = c * paths[i].Weight[b] / 3
			}
		}
	}
	return ws
}

// TestQuantilesEachMatchesQuantiles: answering many weightings at once
// gives each what Quantiles gives it alone, bit for bit: ties (a third of
// the values are 1), weights of 0, a bucket of no weight in some
// weightings, a last group of fewer than eight, fewer quantiles than 100.
func TestQuantilesEachMatchesQuantiles(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	paths := mixturePaths(300, r)
	m := NewMixture(paths)
	ws := replicateWeights(paths, 21, r)
	for i := range ws[3] {
		ws[3][i][2] = 0 // no weight in bucket 2
	}
	for _, qs := range [][]float64{{0.001, 0.3, 0.3, 0.5, 0.99, 1}, linearQs()} {
		out := make([][NumBuckets + 1][]float64, len(ws))
		m.QuantilesEach(ws, qs, out)
		for j := range ws {
			var want [NumBuckets + 1][]float64
			m.Quantiles(ws[j], qs, &want)
			for b := range want {
				for k := range qs {
					if g, w := out[j][b][k], want[b][k]; g != w && !(math.IsNaN(g) && math.IsNaN(w)) {
						t.Fatalf("weighting %d bucket %d q %v: %v, Quantiles %v", j, b, qs[k], g, w)
					}
				}
			}
		}
		if !math.IsNaN(out[3][2][0]) {
			t.Errorf("bucket of no weight: %v", out[3][2][0])
		}
	}
}

func linearQs() []float64 {
	qs := make([]float64, NumPercentiles)
	for k := range qs {
		qs[k] = float64(k+1) / NumPercentiles
	}
	return qs
}

// BenchmarkMixtureQuantiles times 200 re-weightings of a 1,500-path
// mixture (~200k values a bucket over all sizes), one at a time
// (Quantiles) and together (QuantilesEach); the metric is per value and
// weighting.
func BenchmarkMixtureQuantiles(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	paths := mixturePaths(1500, r)
	m := NewMixture(paths)
	ws := replicateWeights(paths, 200, r)
	qs := linearQs()
	values := 0
	for k := range m.values {
		values += len(m.values[k])
	}
	out := make([][NumBuckets + 1][]float64, len(ws))
	b.Run("Quantiles", func(b *testing.B) {
		for b.Loop() {
			for j := range ws {
				m.Quantiles(ws[j], qs, &out[j])
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*values*len(ws)), "ns/value")
	})
	b.Run("QuantilesEach", func(b *testing.B) {
		for b.Loop() {
			m.QuantilesEach(ws, qs, out)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*values*len(ws)), "ns/value")
	})
}

// NewMixture's values over all sizes, merged from its buckets', are those of
// a stable sort of every path's buckets in order, ties (across buckets
// too) included.
func TestMixtureAllSizesOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	paths := make([]PathEstimate, 200)
	for i := range paths {
		for b := range NumBuckets {
			if r.IntN(4) == 0 {
				continue
			}
			v := float64(r.IntN(3))
			for k := range paths[i].Percentiles[b] {
				v += float64(r.IntN(2)) // few distinct values: ties everywhere
				paths[i].Percentiles[b][k] = v
			}
			paths[i].Weight[b] = 1
		}
	}
	m := NewMixture(paths)
	type entry struct {
		v   float64
		key uint32
	}
	var want []entry
	for i, p := range paths {
		for b := range NumBuckets {
			if p.Weight[b] != 0 {
				for _, v := range p.Percentiles[b] {
					want = append(want, entry{v, uint32(i*NumBuckets + b)})
				}
			}
		}
	}
	slices.SortStableFunc(want, func(a, b entry) int { return cmp.Compare(a.v, b.v) })
	vals, part := m.values[NumBuckets], m.part[NumBuckets]
	if len(vals) != len(want) {
		t.Fatalf("%d values over all sizes, want %d", len(vals), len(want))
	}
	for i, e := range want {
		if vals[i] != e.v || m.parts[NumBuckets][part[i]] != e.key {
			t.Fatalf("position %d: %v of key %d, want %v of key %d", i, vals[i], m.parts[NumBuckets][part[i]], e.v, e.key)
		}
	}
}
