package aggregate

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// The radix sort orders like a stable comparison sort, ties included, on
// slowdown-like values (many with equal high bits) and on wide ranges.
func TestSortByValueMatchesStableSort(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i, c := range []struct {
		n   int
		gen func() float64
	}{
		{10, func() float64 { return 1 + r.Float64() }},
		{1000, func() float64 { return 1 + 3*r.Float64() }},
		{5000, func() float64 { return float64(r.IntN(7)) }}, // ties and zeros
		{20000, func() float64 { return math.Exp(20 * r.NormFloat64()) }},
		{3000, func() float64 { return float64(float32(1 + r.ExpFloat64())) }}, // low bits all 0
		{300, func() float64 { return 2.5 }},                                   // all equal
	} {
		vals, w := make([]float64, c.n), make([]float64, c.n)
		type vw struct{ v, w float64 }
		want := make([]vw, c.n)
		for j := range vals {
			vals[j], w[j] = c.gen(), float64(j)
			want[j] = vw{vals[j], w[j]}
		}
		slices.SortStableFunc(want, func(a, b vw) int { return cmp.Compare(a.v, b.v) })
		sortByValue(vals, w)
		for j := range want {
			if vals[j] != want[j].v || w[j] != want[j].w {
				t.Fatalf("case %d: position %d holds (%v, %v), want (%v, %v)", i, j, vals[j], w[j], want[j].v, want[j].w)
			}
		}
	}
}

// Over all sizes, a mixture answers by merging its buckets: its quantiles
// and CDF equal those of one sorted list of every bucket's values.
func TestAllSizesMatchMergedList(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	var b Builder
	type vw struct{ v, w float64 }
	var all []vw
	for range 400 {
		k := r.IntN(NumBuckets)
		var p [NumPercentiles]float64
		v := 1 + r.ExpFloat64()
		for j := range p {
			v += r.Float64() * float64(r.IntN(2)) // runs of equal values
			p[j] = math.Round(v*100) / 100        // and ties across paths
		}
		wt := float64(1 + r.IntN(5))
		if err := b.Add(k, &p, wt); err != nil {
			t.Fatal(err)
		}
		for _, x := range p {
			all = append(all, vw{x, wt / NumPercentiles})
		}
	}
	d := b.Distribution()
	slices.SortStableFunc(all, func(a, b vw) int { return cmp.Compare(a.v, b.v) })
	cum := make([]float64, len(all))
	c := 0.0
	for i, x := range all {
		c += x.w
		cum[i] = c
	}
	if math.Abs(d.All-c) > 1e-9*c {
		t.Fatalf("total weight %v, want %v", d.All, c)
	}
	for k := 1; k <= 100; k++ {
		q := float64(k) / 100
		target := q * c * (1 - 1e-12)
		i, _ := slices.BinarySearch(cum, target)
		want := all[min(i, len(all)-1)].v
		if got := d.Quantile(NumBuckets, q); got != want {
			t.Errorf("p%d over all sizes: %v, want %v", k, got, want)
		}
	}
	x, y := d.CDF(NumBuckets, 0)
	var wx, wy []float64
	for i, e := range all {
		if i+1 < len(all) && all[i+1].v == e.v {
			continue
		}
		wx, wy = append(wx, e.v), append(wy, cum[i]/c)
	}
	if len(x) != len(wx) {
		t.Fatalf("CDF over all sizes has %d points, want %d", len(x), len(wx))
	}
	for i := range x {
		if x[i] != wx[i] || math.Abs(y[i]-wy[i]) > 1e-12 {
			t.Fatalf("CDF point %d: (%v, %v), want (%v, %v)", i, x[i], y[i], wx[i], wy[i])
		}
	}
}

func TestBuilderRejectsBadInput(t *testing.T) {
	var b Builder
	p := constant(1)
	for i, err := range []error{
		b.Add(NumBuckets, &p, 1),
		b.Add(0, &p, math.Inf(1)),
		b.Add(0, &p, -1),
	} {
		if err == nil {
			t.Errorf("case %d accepted", i)
		}
	}
	p[5] = -2
	if err := b.Add(1, &p, 1); err == nil {
		t.Error("negative slowdown accepted")
	}
}

// BenchmarkBuilder times mixing 10^4 paths' estimates (10^6 values).
func BenchmarkBuilder(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	ps := make([][NumPercentiles]float64, 10_000)
	for i := range ps {
		v := 1.0
		for k := range ps[i] {
			v += r.ExpFloat64() / 10
			ps[i][k] = v
		}
	}
	for b.Loop() {
		var m Builder
		for i := range ps {
			if err := m.Add(i%NumBuckets, &ps[i], 1); err != nil {
				b.Fatal(err)
			}
		}
		m.Distribution()
	}
}
