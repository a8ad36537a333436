package infer

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/m4sim/m4/ckpts"
	"github.com/m4sim/m4/internal/workloadtest"
	"github.com/m4sim/m4/pipeline/aggregate"
	"github.com/m4sim/m4/pipeline/features"
	"github.com/m4sim/m4/pipeline/model"
	"github.com/m4sim/m4/pipeline/workload"
)

const smallSpec = `
topology: {kind: fattree, k: 4}
sizes: {dist: webserver}
arrivals: {process: poisson}
traffic: {matrix: uniform}
max_load: 0.4
flows: 3000
seed: 3
cc: {algorithm: dctcp, window_bytes: 18000, pfc: true}
`

func smallWorkload(t *testing.T) (*workload.Workload, features.Config) {
	t.Helper()
	return specWorkload(t, smallSpec)
}

// specWorkload generates the workload of spec text and its configuration.
func specWorkload(t *testing.T, spec string) (*workload.Workload, features.Config) {
	t.Helper()
	w, s := workloadtest.Generate(t, spec)
	cfg, err := ConfigOf(s.CC)
	if err != nil {
		t.Fatal(err)
	}
	return w, cfg
}

// Estimating every path, each workload flow is the foreground of exactly one
// path, so the network-wide weights are the workload's flow counts per bucket.
func TestRunAllPathsWeighsEveryFlowOnce(t *testing.T) {
	w, cfg := smallWorkload(t)
	r, err := Run(w, cfg, nil, Options{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	var want [aggregate.NumBuckets]float64
	for _, sz := range w.Flows.Size {
		want[features.OutputBucket(float64(sz))]++
	}
	if r.Flowsim.Weight != want {
		t.Fatalf("weights per bucket %v, want the workload's flow counts %v", r.Flowsim.Weight, want)
	}
	if len(r.Paths) != r.PathsTotal {
		t.Fatalf("estimated %d of %d paths", len(r.Paths), r.PathsTotal)
	}
	for _, p := range r.Paths {
		if p.Hosts != 3 && p.Hosts != 5 && p.Hosts != 7 {
			t.Fatalf("path %d has %d hosts; a k=4 fat-tree has 2-, 4- and 6-hop paths", p.Path, p.Hosts)
		}
		for b, n := range p.Flows {
			if n > 0 && p.Flowsim[b][0] < 1 {
				t.Fatalf("path %d bucket %d: flowsim slowdown %v < 1", p.Path, b, p.Flowsim[b][0])
			}
		}
	}
	if r.Model != nil {
		t.Fatal("a model distribution without a model")
	}
}

// A stratified sample of paths reproduces the all-path distribution: each
// bucket's weights sum to its true count, its draws are those Allocate
// gives it, and over seeds the per-bucket medians and p90s stay close to
// every path's.
func TestRunSampleApproximatesAllPaths(t *testing.T) {
	w, cfg := smallWorkload(t)
	all, err := Run(w, cfg, nil, Options{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	var counts [aggregate.NumBuckets]int
	copy(counts[:], all.Counts[:aggregate.NumBuckets])
	n := all.PathsTotal / 2
	want := Allocate(n, counts)
	var dev []float64
	for seed := range uint64(6) {
		s, err := Run(w, cfg, nil, Options{Workers: 2, Paths: n, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		var got [aggregate.NumBuckets]int
		for _, p := range s.Paths {
			for b, k := range p.Draws {
				got[b] += k
				if k > 0 && p.Flows[b] == 0 {
					t.Fatalf("seed %d: path %d drawn for bucket %d holds none of its flows", seed, p.Path, b)
				}
			}
		}
		if got != want {
			t.Errorf("seed %d: draws per bucket %v, want %v", seed, got, want)
		}
		for b := range aggregate.NumBuckets {
			if math.Abs(s.Flowsim.Weight[b]-float64(counts[b])) > 1e-9*float64(counts[b]) {
				t.Errorf("seed %d: bucket %d weighs %v, want its %d flows", seed, b, s.Flowsim.Weight[b], counts[b])
			}
			for _, q := range []float64{0.5, 0.9} {
				dev = append(dev, math.Abs(s.Flowsim.Quantile(b, q)/all.Flowsim.Quantile(b, q)-1))
			}
		}
	}
	mean := 0.0
	for _, d := range dev {
		mean += d / float64(len(dev))
	}
	// 4.4% measured (proportional draws: 3.2%; this workload has ~4 flows
	// a path, where stratifying buys least).
	if mean > 0.06 {
		t.Errorf("per-bucket p50/p90 of half-size samples are %.1f%% from every path's on average", 100*mean)
	}
	t.Logf("mean deviation %.2f%%", 100*mean)
}

func TestAllocate(t *testing.T) {
	for _, c := range []struct {
		n      int
		counts [aggregate.NumBuckets]int
		want   [aggregate.NumBuckets]int
	}{
		{2000, [4]int{3533, 4413, 938, 1116}, [4]int{603, 691, 344, 362}},
		{8, [4]int{100, 100, 100, 100}, [4]int{2, 2, 2, 2}},
		{10, [4]int{0, 90, 0, 10}, [4]int{0, 7, 0, 3}},
		{3, [4]int{1, 1, 1, 1000}, [4]int{1, 0, 0, 2}},
		{0, [4]int{1, 2, 3, 4}, [4]int{}},
		{5, [4]int{}, [4]int{}},
	} {
		got := Allocate(c.n, c.counts)
		sum := 0
		for _, k := range got {
			sum += k
		}
		if got != c.want || (c.counts != [4]int{} && sum != c.n) {
			t.Errorf("Allocate(%d, %v) = %v, want %v", c.n, c.counts, got, c.want)
		}
	}
}

func TestConfigOf(t *testing.T) {
	c, err := ConfigOf(workload.CCSpec{Algorithm: "hpcc", BufferKB: 300, WindowBytes: 18000, HPCCUTarget: 0.9, HPCCAI: 500})
	if err != nil {
		t.Fatal(err)
	}
	v := c.Vector()
	if v[6] != 1 || v[11] != 90 || v[12] != 50 || v[1] != 30 || v[2] != 18 {
		t.Fatalf("vector %v", v)
	}
	if _, err := ConfigOf(workload.CCSpec{Algorithm: "reno"}); err == nil {
		t.Error("unknown algorithm accepted")
	}
}

func TestDefaultSpecParses(t *testing.T) {
	s, err := DefaultSpec()
	if err != nil {
		t.Fatal(err)
	}
	if s.Topology.Kind != "fabric" || s.Flows != 20000 {
		t.Fatalf("default spec %+v", s)
	}
}

// The estimate does not depend on how many workers build the paths, nor on
// Lean (which only drops the per-path percentiles), nor on the model
// running on one shared estimator or on per-worker replicas: chunks are
// fixed batches of consecutive paths, mixed in path order.
func TestRunIndependentOfWorkers(t *testing.T) {
	w, cfg := smallWorkload(t)
	ck, err := model.Decode(ckpts.DefaultName, ckpts.Default)
	if err != nil {
		t.Fatal(err)
	}
	est, err := model.NewEstimator(ck, 16, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer est.Close()
	base, err := Run(w, cfg, est, Options{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range []Options{{Workers: 3}, {Workers: 2, Lean: true}, {Workers: 4, Batch: 16}} {
		r, err := Run(w, cfg, est, o)
		if err != nil {
			t.Fatal(err)
		}
		for b := 0; b <= aggregate.NumBuckets; b++ {
			for k := 1; k <= 100; k++ {
				q := float64(k) / 100
				if g, want := r.Model.Quantile(b, q), base.Model.Quantile(b, q); g != want && !(math.IsNaN(g) && math.IsNaN(want)) {
					t.Fatalf("case %d: m4 bucket %d p%d = %v, with one worker %v", i, b, k, g, want)
				}
				if g, want := r.Flowsim.Quantile(b, q), base.Flowsim.Quantile(b, q); g != want && !(math.IsNaN(g) && math.IsNaN(want)) {
					t.Fatalf("case %d: flowsim bucket %d p%d = %v, with one worker %v", i, b, k, g, want)
				}
			}
		}
		for j, p := range r.Paths {
			bp := base.Paths[j]
			if p.Path != bp.Path || p.Flows != bp.Flows || p.Hosts != bp.Hosts {
				t.Fatalf("case %d: path %d: %+v, with one worker %+v", i, j, p, bp)
			}
			if o.Lean {
				if p.Model != nil || p.Flowsim != nil {
					t.Fatalf("case %d: Lean kept path %d's percentiles", i, j)
				}
				continue
			}
			if *p.Model != *bp.Model || *p.Flowsim != *bp.Flowsim {
				t.Fatalf("case %d: path %d's estimates differ from one worker's", i, j)
			}
		}
	}
}

// Alongside gets the result's own distributions, runs while the bootstrap
// does, and its error is Run's.
func TestRunAlongside(t *testing.T) {
	w, cfg := smallWorkload(t)
	var model, flowsim *aggregate.Distribution
	r, err := Run(w, cfg, nil, Options{Workers: 2, Paths: 300, Bootstrap: 20,
		Alongside: func(m, f *aggregate.Distribution) error {
			model, flowsim = m, f
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	if model != nil || flowsim == nil || flowsim != r.Flowsim || r.FlowsimCI == nil {
		t.Errorf("Alongside got model %p, flowsim %p; the result has %p, %p (interval %v)", model, flowsim, r.Model, r.Flowsim, r.FlowsimCI != nil)
	}
	bad := errors.New("no room for the plots")
	if _, err := Run(w, cfg, nil, Options{Workers: 2, Paths: 300, Bootstrap: 20,
		Alongside: func(_, _ *aggregate.Distribution) error { return bad }}); !errors.Is(err, bad) {
		t.Errorf("Run with a failing Alongside: %v", err)
	}
}

// systematic: one draw in each run of N/k consecutive flows, and every flow
// drawn k/N times on average over seeds (as independent draws would).
func TestSystematic(t *testing.T) {
	for _, c := range []struct{ n, k int }{{100, 10}, {97, 13}, {5, 12}, {1, 3}} {
		fl := make([]int32, c.n)
		for i := range fl {
			fl[i] = int32(i)
		}
		seen := make([]int, c.n)
		const seeds = 4000
		for s := range uint64(seeds) {
			got := systematic(fl, c.k, rand.New(rand.NewPCG(s, 1)))
			if len(got) != c.k {
				t.Fatalf("n %d k %d: %d draws", c.n, c.k, len(got))
			}
			step := float64(c.n) / float64(c.k)
			for i, f := range got {
				seen[f]++
				if lo := float64(i) * step; float64(f) < math.Floor(lo) || float64(f) >= math.Ceil(lo+step) {
					t.Fatalf("n %d k %d: draw %d took flow %d, outside [%v, %v)", c.n, c.k, i, f, lo, lo+step)
				}
			}
		}
		want := float64(seeds*c.k) / float64(c.n)
		for f, m := range seen {
			if math.Abs(float64(m)-want) > 5*math.Sqrt(want)+1 {
				t.Errorf("n %d k %d: flow %d drawn %d times in %d samples, want ~%.0f", c.n, c.k, f, m, seeds, want)
			}
		}
	}
}

// A workload with PFC off is estimated as with PFC on by a checkpoint whose
// network paths all had PFC on (model.Checkpoint.OnNetwork), and as given by
// one whose record does not say: the two differ, so the substitution is
// what makes the first pair equal.
func TestRunReadsPFCOffAsTrained(t *testing.T) {
	w, on := smallWorkload(t)
	off := on
	off.PFC = false
	ck, err := model.Decode(ckpts.DefaultName, ckpts.Default)
	if err != nil {
		t.Fatal(err)
	}
	if ck.Training == nil || ck.Training.Ranges == nil || len(ck.Training.Ranges.NetworkPFC) != 1 || !ck.Training.Ranges.NetworkPFC[0] {
		t.Fatalf("the shipped default's network paths had PFC %v, want [true]", ck.Training.Ranges.NetworkPFC)
	}
	p99 := func(ck *model.Checkpoint, cfg features.Config) float64 {
		t.Helper()
		est, err := model.NewEstimator(ck, 16, 1)
		if err != nil {
			t.Fatal(err)
		}
		defer est.Close()
		r, err := Run(w, cfg, est, Options{Paths: 200, Seed: 1, Workers: 2})
		if err != nil {
			t.Fatal(err)
		}
		return r.Model.Quantile(aggregate.NumBuckets, 0.99)
	}
	if a, b := p99(ck, off), p99(ck, on); a != b {
		t.Errorf("PFC off: p99 %v, PFC on %v: want the same estimate", a, b)
	}
	ck.Training.Ranges.NetworkPFC = nil // a record from before network_pfc
	if a, b := p99(ck, off), p99(ck, on); a == b {
		t.Errorf("without network_pfc in the record: PFC off and on both give p99 %v", a)
	}
}
