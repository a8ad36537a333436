package infer

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/m4sim/m4/pipeline/aggregate"
)

// samplePaths makes n one-flow paths of bucket 1 whose estimates are the
// constant slowdown 1 + i/n, drawn draws[i] times.
func samplePaths(draws []int) []PathResult {
	var out []PathResult
	for i, d := range draws {
		q := new([aggregate.NumBuckets][aggregate.NumPercentiles]float64)
		for b := range q {
			for k := range q[b] {
				q[b][k] = 1 + float64(i)/float64(len(draws))
			}
		}
		p := PathResult{Path: i, Hosts: 3, Model: q, Flowsim: q}
		p.Flows[1], p.Draws[1], p.Weight[1] = 1, d, 10*float64(d)
		out = append(out, p)
	}
	return out
}

// Bootstrap is Bootstraps for one estimator (pick) alone.
func Bootstrap(paths []PathResult, pick Pick, b int, level float64, seed uint64) *Interval {
	return Bootstraps(paths, []Pick{pick}, b, level, seed)[0]
}

// TestBootstrap: the interval brackets the estimate, is deterministic for
// the seed, narrows as the sample grows (about as 1/sqrt(draws): 3x narrower for 9x the paths), and
// vanishes when every draw is the same path.
func TestBootstrap(t *testing.T) {
	pick := func(p *PathResult) *[aggregate.NumBuckets][aggregate.NumPercentiles]float64 { return p.Model }
	width := func(n int) float64 {
		draws := make([]int, n)
		for i := range draws {
			draws[i] = 1
		}
		paths := samplePaths(draws)
		iv := Bootstrap(paths, pick, 100, 0.9, 7)
		d, err := Mix(paths, pick)
		if err != nil {
			t.Fatal(err)
		}
		for k := range iv.Lo[1] {
			est := d.Quantile(1, float64(k+1)/100)
			if !(iv.Lo[1][k] <= est && est <= iv.Hi[1][k]) {
				t.Fatalf("n %d: p%d %v outside [%v, %v]", n, k+1, est, iv.Lo[1][k], iv.Hi[1][k])
			}
		}
		if again := Bootstrap(paths, pick, 100, 0.9, 7); again.Lo[1] != iv.Lo[1] || again.Hi[1] != iv.Hi[1] {
			t.Fatal("the same seed gave another interval")
		}
		return iv.Hi[1][49] - iv.Lo[1][49] // the median's
	}
	w100, w900 := width(100), width(900)
	// the median of n uniform values has standard error ~ 1/(2 sqrt(n)) of
	// their range: 90% half-width ~ 1.645 x that
	if w100 < 0.1 || w100 > 0.25 || w900 > w100/2 || w900 < w100/4.5 {
		t.Errorf("median interval widths %v (100 paths), %v (900 paths)", w100, w900)
	}
	one := Bootstrap(samplePaths([]int{50}), pick, 50, 0.9, 1)
	if one.Lo[1][98] != one.Hi[1][98] || one.Lo[aggregate.NumBuckets][0] != 1 {
		t.Errorf("one path drawn 50 times: interval [%v, %v]", one.Lo[1][98], one.Hi[1][98])
	}
}

// Mix combines one estimator's path percentiles into a network-wide
// distribution, each path's bucket b weighted by Weight[b].
func Mix(paths []PathResult, pick func(*PathResult) *[aggregate.NumBuckets][aggregate.NumPercentiles]float64) (*aggregate.Distribution, error) {
	var m aggregate.Builder
	for i := range paths {
		p := &paths[i]
		q := pick(p)
		if q == nil {
			continue
		}
		for b, wt := range p.Weight {
			if err := m.Add(b, &q[b], wt); err != nil {
				return nil, fmt.Errorf("aggregate: path %d %w", i, err)
			}
		}
	}
	return m.Distribution(), nil
}

// TestBootstrapsMatchesBootstrap: estimators bootstrapped together get
// what each gets alone, also one that lacks estimates of some paths (its
// replicates are drawn on their own).
func TestBootstrapsMatchesBootstrap(t *testing.T) {
	draws := make([]int, 60)
	for i := range draws {
		draws[i] = 1 + i%3
	}
	paths := samplePaths(draws)
	for i := range paths {
		q := new([aggregate.NumBuckets][aggregate.NumPercentiles]float64)
		for b := range q {
			for k := range q[b] {
				q[b][k] = 1 + float64((i*7+k)%13)/5
			}
		}
		paths[i].Flowsim = q
		paths[i].Flows[2], paths[i].Weight[2] = 2, 3*float64(paths[i].Draws[1])
	}
	model := func(p *PathResult) *[aggregate.NumBuckets][aggregate.NumPercentiles]float64 { return p.Model }
	flowsim := func(p *PathResult) *[aggregate.NumBuckets][aggregate.NumPercentiles]float64 { return p.Flowsim }
	some := func(p *PathResult) *[aggregate.NumBuckets][aggregate.NumPercentiles]float64 {
		if p.Path%4 == 0 {
			return nil
		}
		return p.Flowsim
	}
	picks := []Pick{flowsim, some, model}
	got := Bootstraps(paths, picks, 37, 0.9, 11)
	for k, pick := range picks {
		want := Bootstrap(paths, pick, 37, 0.9, 11)
		if got[k] == nil || want == nil {
			t.Fatalf("estimator %d: no interval", k)
		}
		for b := range want.Lo {
			for j := range want.Lo[b] {
				if g, w := got[k].Lo[b][j], want.Lo[b][j]; g != w && !(math.IsNaN(g) && math.IsNaN(w)) {
					t.Fatalf("estimator %d bucket %d p%d: lo %v, alone %v", k, b, j+1, g, w)
				}
				if g, w := got[k].Hi[b][j], want.Hi[b][j]; g != w && !(math.IsNaN(g) && math.IsNaN(w)) {
					t.Fatalf("estimator %d bucket %d p%d: hi %v, alone %v", k, b, j+1, g, w)
				}
			}
		}
	}
	if got[0].Lo == got[2].Lo && got[0].Hi == got[2].Hi {
		t.Error("different estimates gave the same interval")
	}
}

// BenchmarkBootstraps times m4 run's default interval: 200 replicates of a
// 2000-draw sample (1,500 paths, flows in 2-3 buckets each), two
// estimators.
func BenchmarkBootstraps(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	paths := make([]PathResult, 1500)
	for i := range paths {
		p := &paths[i]
		p.Path = i
		p.Model, p.Flowsim = new(percentiles), new(percentiles)
		for k := range aggregate.NumBuckets {
			if r.IntN(3) == 0 {
				continue
			}
			p.Flows[k] = 1 + r.IntN(4)
			v, u := 1.0, 1.0
			for j := range aggregate.NumPercentiles {
				v += r.ExpFloat64() / 30
				if j > 40 {
					u += r.ExpFloat64() / 20
				}
				p.Model[k][j], p.Flowsim[k][j] = v, u
			}
		}
	}
	for range 2000 { // draws: a bucket's picks a path with flows in it
		for {
			i, k := r.IntN(len(paths)), r.IntN(aggregate.NumBuckets)
			if paths[i].Flows[k] > 0 {
				paths[i].Draws[k]++
				break
			}
		}
	}
	for i := range paths {
		for k, n := range paths[i].Flows {
			paths[i].Weight[k] = float64(n * (1 + paths[i].Draws[k]))
		}
	}
	picks := []Pick{
		func(p *PathResult) *percentiles { return p.Flowsim },
		func(p *PathResult) *percentiles { return p.Model },
	}
	for b.Loop() {
		Bootstraps(paths, picks, 200, 0.9, 1)
	}
}

// nth picks what a sort would put at k, for every k, with ties and
// without, and leaves the k+1 smallest in front.
func TestNth(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for trial := range 200 {
		n := 1 + r.IntN(60)
		v := make([]float64, n)
		for i := range v {
			v[i] = float64(r.IntN(1 + trial%20))
		}
		sorted := slices.Clone(v)
		slices.Sort(sorted)
		for k := range n {
			w := slices.Clone(v)
			if got := nth(w, k); got != sorted[k] {
				t.Fatalf("trial %d: %v: nth %d = %v, want %v", trial, v, k, got, sorted[k])
			}
			front := slices.Clone(w[:k+1])
			slices.Sort(front)
			if !slices.Equal(front, sorted[:k+1]) {
				t.Fatalf("trial %d: %v: after nth %d the front is %v", trial, v, k, w[:k+1])
			}
		}
	}
}
