package infer

import (
	"math"
	"slices"
	"testing"

	"github.com/m4sim/m4/ckpts"
	"github.com/m4sim/m4/pipeline/aggregate"
	"github.com/m4sim/m4/pipeline/cc"
	"github.com/m4sim/m4/pipeline/model"
)

// By hand: percentiles p_k = k, so the curve at quantile q is 100 q.
func TestModelSlowdownsByHand(t *testing.T) {
	var m [aggregate.NumBuckets][aggregate.NumPercentiles]float64
	for b := range m {
		for k := range m[b] {
			m[b][k] = float64(k + 1)
		}
	}
	m[3][0] = 0.5 // a slowdown below 1 is raised to 1
	cases := []struct {
		flowsim []float64
		bucket  []int
		want    []float64
	}{
		// ranks 0, 1.5, 1.5, 3 of 4 -> quantiles 1/8, 1/2, 1/2, 7/8
		{[]float64{1, 2, 2, 3}, []int{0, 0, 0, 0}, []float64{12.5, 50, 50, 87.5}},
		// input order is kept; each bucket is ranked alone
		{[]float64{3, 1, 5, 2}, []int{1, 1, 2, 1}, []float64{5.0 / 6 * 100, 1.0 / 6 * 100, 50, 50}},
		// a lone flow takes the median; the first percentile below 0.01
		{[]float64{7}, []int{2}, []float64{50}},
		{slices.Repeat([]float64{1}, 1), []int{3}, []float64{50}},
	}
	m[2][49], m[2][50] = 51, 50 // crossing percentiles are sorted: no change at the median
	m[2][98] = 200              // ... and a high one moves to p100
	for i, c := range cases {
		got := ModelSlowdowns(c.flowsim, c.bucket, &m)
		for j := range got {
			if math.Abs(got[j]-c.want[j]) > 1e-9 {
				t.Errorf("case %d flow %d: %v, want %v", i, j, got[j], c.want[j])
			}
		}
	}
	// 200 flows: the lowest is at quantile 1/400, below p1: p1, raised to 1
	fl := make([]float64, 200)
	bk := make([]int, 200)
	for i := range fl {
		fl[i], bk[i] = float64(i), 3
	}
	if got := ModelSlowdowns(fl, bk, &m); got[0] != 1 || math.Abs(got[199]-99.75) > 1e-9 {
		t.Errorf("200 flows: lowest %v (want 1), highest %v (want 99.75)", got[0], got[199])
	}
	for i := range bk {
		bk[i] = 2
	}
	if got := ModelSlowdowns(fl, bk, &m); math.Abs(got[199]-(0.75*200+0.25*100)) > 1e-9 || math.Abs(got[99]-49.75) > 1e-9 {
		t.Errorf("crossing percentiles: highest %v (want 175), rank 99 %v (want 49.75)", got[199], got[99])
	}
}

// Many flows in one bucket: their slowdowns follow the model's percentiles.
func TestModelSlowdownsFollowTheModel(t *testing.T) {
	var m [aggregate.NumBuckets][aggregate.NumPercentiles]float64
	for k := range m[1] {
		m[1][k] = math.Exp(float64(k) / 30)
	}
	const n = 4000
	fl, bk := make([]float64, n), make([]int, n)
	for i := range fl {
		fl[i], bk[i] = float64((i*7919)%n), 1 // a permutation
	}
	got := ModelSlowdowns(fl, bk, &m)
	d, err := aggregate.FromSamples(bk, got)
	if err != nil {
		t.Fatal(err)
	}
	for k := 1; k <= aggregate.NumPercentiles; k++ {
		if q := d.Quantile(1, float64(k)/100); math.Abs(q/m[1][k-1]-1) > 0.01 {
			t.Errorf("p%d of the per-flow slowdowns %v, the model's %v", k, q, m[1][k-1])
		}
	}
	for i := range fl {
		for j := range fl[:i] {
			if (fl[i] < fl[j]) != (got[i] < got[j]) && got[i] != got[j] {
				t.Fatalf("flows %d and %d: flowsim order %v, %v; m4 %v, %v", i, j, fl[i], fl[j], got[i], got[j])
			}
		}
		if i > 200 {
			break
		}
	}
}

// Per-flow estimates cover every flow once, keep flowsim's order within a
// path and bucket, and lie within the model's range for it.
func TestRunPerFlow(t *testing.T) {
	w, cfg := smallWorkload(t)
	ck, err := model.Decode(ckpts.DefaultName, ckpts.Default)
	if err != nil {
		t.Fatal(err)
	}
	est, err := model.NewEstimator(ck, 64, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer est.Close()
	if _, err := Run(w, cfg, est, Options{PerFlow: true, Paths: 10}); err == nil {
		t.Error("per-flow estimates from a sample of paths")
	}
	r, err := Run(w, cfg, est, Options{PerFlow: true, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	n := w.Flows.Len()
	pf := r.PerFlow
	rule := PerFlowRuleFor(cfg.CC)
	isolated := 0
	if len(pf.Flowsim) != n || len(pf.Model) != n {
		t.Fatalf("%d flowsim and %d m4 estimates for %d flows", len(pf.Flowsim), len(pf.Model), n)
	}
	if r.Counts != BucketCounts(w.Flows.Size) || r.Counts[aggregate.NumBuckets] != n {
		t.Errorf("counts %v", r.Counts)
	}
	seen := make([]int, n)
	for _, p := range r.Paths {
		for i, f := range p.FlowIDs {
			seen[f]++
			b := featuresBucket(w.Flows.Size[f])
			if pf.Flowsim[f] != p.FlowsimSlowdown[i] || pf.Flowsim[f] < 1 {
				t.Fatalf("flow %d: flowsim %v, its path's %v", f, pf.Flowsim[f], p.FlowsimSlowdown[i])
			}
			// the blend of a value within the path's p1..p100 and flowsim's
			lo, hi := math.Max(1, slices.Min(p.Model[b][:])), math.Max(1, slices.Max(p.Model[b][:]))
			inB := 0
			for _, g := range p.FlowIDs {
				if featuresBucket(w.Flows.Size[g]) == b {
					inB++
				}
			}
			if p.Isolated[i] && rule.IsolatedAtIdeal {
				// met no other flow: slowdown 1, flowsim's there
				isolated++
				if pf.Model[f] != 1 || math.Abs(pf.Flowsim[f]-1) > 1e-9 {
					t.Fatalf("flow %d ran alone in flowsim: m4 %v, flowsim %v", f, pf.Model[f], pf.Flowsim[f])
				}
			} else if v := pf.Model[f]; v < rule.Blend(lo, pf.Flowsim[f], inB == 1)*(1-1e-12) || v > rule.Blend(hi, pf.Flowsim[f], inB == 1)*(1+1e-12) {
				t.Fatalf("flow %d (path %d, bucket %d, %d flows, flowsim %v): m4 %v outside the blends of its path's p1..p100 %v..%v with flowsim", f, p.Path, b, len(p.FlowIDs), pf.Flowsim[f], v, lo, hi)
			}
			for j, g := range p.FlowIDs[:i] {
				// (flowsim's slowdowns of 1 differ by rounding: ties)
				if featuresBucket(w.Flows.Size[g]) == b && pf.Flowsim[g] < pf.Flowsim[f]-1e-9 && pf.Model[g] > pf.Model[f] {
					t.Fatalf("path %d: flows %d and %d out of flowsim's order (%d)", p.Path, g, f, j)
				}
			}
		}
	}
	for f, k := range seen {
		if k != 1 {
			t.Fatalf("flow %d in %d paths' foreground", f, k)
		}
	}
	if rule.IsolatedAtIdeal && isolated == 0 {
		t.Errorf("%s: no flow ran alone: the isolated-flow rule went untested", cfg.CC)
	}
}

func featuresBucket(size int64) int {
	var c = BucketCounts([]int64{size})
	for b := range aggregate.NumBuckets {
		if c[b] == 1 {
			return b
		}
	}
	return -1
}

func TestPerFlowRule(t *testing.T) {
	for _, c := range []struct {
		r              PerFlowRule
		model, flowsim float64
		lone, isolated bool
		want           float64
	}{
		{PerFlowRule{0.8, 0.3, false}, 1024, 1, true, false, 256}, // 2^(10 x 0.8)
		{PerFlowRule{0.8, 0.3, false}, 1, 1024, true, false, 4},   // 2^(10 x 0.2)
		{PerFlowRule{0.8, 0.3, false}, 1024, 1, false, false, 8},  // 2^(10 x 0.3)
		{PerFlowRule{0.8, 0.3, false}, 1, 1024, false, false, 128},
		{PerFlowRule{0.9, 0.1, false}, 1024, 1, false, false, 2}, // 2^(10 x 0.1)
		{PerFlowRule{0.9, 0.1, false}, 1024, 1, true, false, 512},
		{PerFlowRule{0.8, 0.3, false}, 1, 1, true, false, 1}, {PerFlowRule{0.8, 0.3, false}, 3, 3, false, false, 3},
		// an isolated flow: flowsim's value where the algorithm runs it at its ideal
		{PerFlowRule{0.8, 0.1, true}, 1.3, 1, true, true, 1},
		{PerFlowRule{0.8, 0.1, true}, 1.3, 1, false, true, 1},
		{PerFlowRule{0.8, 0.1, true}, 1024, 1, true, false, 256},
		{PerFlowRule{0.8, 0.3, false}, 1024, 1, true, true, 256},
	} {
		if got := c.r.Flow(c.model, c.flowsim, c.lone, c.isolated); math.Abs(got/c.want-1) > 1e-12 {
			t.Errorf("%+v.Flow(%v, %v, %v, %v) = %v, want %v", c.r, c.model, c.flowsim, c.lone, c.isolated, got, c.want)
		}
	}
	// each algorithm's own rule, the shared flows' weight the smaller, and
	// the joint choice for anything else
	want := map[cc.CC]PerFlowRule{cc.DCTCP: {0.8, 0.1, true}, cc.DCQCN: {0.8, 0.1, true}, cc.HPCC: {0.8, 0.5, false},
		cc.TIMELY: {0.9, 0.3, false}, "": {0.8, 0.3, false}}
	for c, w := range want {
		if got := PerFlowRuleFor(c); got != w {
			t.Errorf("PerFlowRuleFor(%q) = %+v, want %+v", c, got, w)
		}
	}
}
