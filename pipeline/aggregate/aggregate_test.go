package aggregate

import (
	"math"
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

func TestBucketOf(t *testing.T) {
	for _, c := range []struct {
		size float64
		want int
	}{{1, 0}, {999, 0}, {1000, 1}, {9999, 1}, {10000, 2}, {49999, 2}, {50000, 3}, {1e9, 3}} {
		if got := BucketOf(c.size); got != c.want {
			t.Errorf("BucketOf(%v) = %d, want %d", c.size, got, c.want)
		}
	}
}

// Two paths with constant slowdowns 1 and 3, weighted 3:1: the mixture's
// median is 1 and its p80 is 3.
func TestCombineWeightsByFlows(t *testing.T) {
	var a, b PathEstimate
	a.Percentiles[1], a.Flows[1] = constant(1), 30
	b.Percentiles[1], b.Flows[1] = constant(3), 10
	d, err := Combine([]PathEstimate{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if d.Flows[1] != 40 || d.All != 40 {
		t.Fatalf("flows %v all %d", d.Flows, d.All)
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
	a.Percentiles[3], a.Flows[3] = linear(1, 10), 7
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
	x, y := d.CDF(3)
	if len(x) != 100 || math.Abs(y[99]-1) > 1e-12 || x[0] != 1 {
		t.Fatalf("CDF ends at %v with %d points", y[len(y)-1], len(x))
	}
}

func TestCombineRejectsBadValues(t *testing.T) {
	var a PathEstimate
	a.Percentiles[0], a.Flows[0] = constant(math.NaN()), 1
	if _, err := Combine([]PathEstimate{a}); err == nil {
		t.Error("NaN slowdown accepted")
	}
}
