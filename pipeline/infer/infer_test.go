package infer

import (
	"math"
	"testing"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/ckpts"
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
	if !bindings.Native {
		t.Skip(bindings.ErrNoNative)
	}
	s, err := workload.ParseSpec("small.yaml", []byte(smallSpec))
	if err != nil {
		t.Fatal(err)
	}
	w, err := workload.Generate(s)
	if err != nil {
		t.Fatal(err)
	}
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

// A large weighted sample of paths reproduces the all-path distribution.
func TestRunSampleApproximatesAllPaths(t *testing.T) {
	w, cfg := smallWorkload(t)
	all, err := Run(w, cfg, nil, Options{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	sample, err := Run(w, cfg, nil, Options{Workers: 2, Paths: all.PathsTotal - 1, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	if len(sample.Paths) >= all.PathsTotal {
		t.Fatalf("sample estimated %d paths of %d", len(sample.Paths), all.PathsTotal)
	}
	if math.Abs(sample.Flowsim.All-float64(w.Flows.Len())) > 1e-6*float64(w.Flows.Len()) {
		t.Errorf("sampled weights sum to %v, want the workload's %d flows", sample.Flowsim.All, w.Flows.Len())
	}
	for _, q := range []float64{0.5, 0.9} {
		a, s := all.Flowsim.Quantile(aggregate.NumBuckets, q), sample.Flowsim.Quantile(aggregate.NumBuckets, q)
		if math.Abs(s/a-1) > 0.05 {
			t.Errorf("q%.2f: sample %.4f, all paths %.4f", q, s, a)
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
