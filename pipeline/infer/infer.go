// Package infer estimates a datacenter workload's FCT slowdowns: it splits
// the workload into path scenarios (package decompose), runs flowsim and
// builds m3's feature map on each (packages flowsim, features), corrects
// them with the learned model (package model) and mixes the per-path
// estimates into network-wide distributions (package aggregate).
//
// Paths are estimated in parallel (one flowsim + feature worker per core);
// the model runs in batches on the caller's goroutine. As m3 does, a large
// workload can be estimated from a sample of its paths, drawn with
// probability proportional to their flows.
package infer

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/pipeline/aggregate"
	"github.com/m4sim/m4/pipeline/decompose"
	"github.com/m4sim/m4/pipeline/features"
	"github.com/m4sim/m4/pipeline/model"
	"github.com/m4sim/m4/pipeline/pathfeat"
	"github.com/m4sim/m4/pipeline/workload"
)

// Options tune an estimate.
type Options struct {
	// Paths is how many paths to draw (with replacement, weighted by
	// their flows); 0 estimates every path.
	Paths int
	// Seed drives the path sample.
	Seed uint64
	// Workers run flowsim and features; 0 means one per core.
	Workers int
	// Batch is the model's batch size (default 64).
	Batch int
	// Progress, if set, is called after each path's features are built.
	Progress func(done, total int)
	// Bootstrap is how many bootstrap replicates of a path sample give
	// each estimate's 90% interval (Result.ModelCI, FlowsimCI; 0: none;
	// never when every path is estimated).
	Bootstrap int
	// PerFlow estimates every path and each flow's slowdown (Result.PerFlow);
	// Paths must then be 0.
	PerFlow bool
}

// PathResult is one path's estimate.
type PathResult struct {
	Path  int // index in the decomposition
	Hosts int // parking-lot hosts (links + 1)
	Draws int // times drawn (1 when every path is estimated)
	// Flows[b] counts the path's foreground flows in output bucket b.
	Flows [aggregate.NumBuckets]int
	// Model holds the model's slowdown percentiles per bucket (nil
	// without a model); Flowsim flowsim's own, from the same run.
	Model, Flowsim *[aggregate.NumBuckets][aggregate.NumPercentiles]float64
	// With Options.PerFlow: the workload flows of the path's foreground
	// and flowsim's slowdown of each (features.Slowdowns' definition).
	FlowIDs         []int32
	FlowsimSlowdown []float64
}

// Result is a workload's estimate.
type Result struct {
	Flows      int // workload flows
	PathsTotal int // paths in the workload
	// Counts are the workload's flows per output bucket, all sizes last
	// (true counts, whatever paths were drawn).
	Counts [aggregate.NumBuckets + 1]int
	Paths  []PathResult
	// Model and Flowsim are the network-wide distributions (Model is nil
	// without a model).
	Model, Flowsim *aggregate.Distribution
	// ModelCI and FlowsimCI are their bootstrap intervals over the path
	// sample (nil when every path was estimated, or without
	// Options.Bootstrap).
	ModelCI, FlowsimCI *Interval
	// PerFlow is each flow's estimate, with Options.PerFlow (else nil).
	PerFlow *PerFlow
}

// ConfigOf maps a workload's congestion-control spec to the configuration
// record m3's features encode.
func ConfigOf(cc workload.CCSpec) (features.Config, error) {
	algo, err := features.ParseCC(cc.Algorithm)
	if err != nil {
		return features.Config{}, err
	}
	c := features.DefaultConfig(algo, int(math.Round(cc.BufferKB)), int(cc.WindowBytes), cc.PFC)
	switch algo {
	case features.DCTCP:
		c.DCTCPK = int(math.Round(cc.DCTCPK))
	case features.DCQCN:
		c.DCQCNKmin, c.DCQCNKmax = int(math.Round(cc.DCQCNKmin)), int(math.Round(cc.DCQCNKmax))
	case features.HPCC:
		c.HPCCUTarget, c.HPCCAI = cc.HPCCUTarget, int(math.Round(cc.HPCCAI))
	case features.TIMELY:
		c.TimelyTLow, c.TimelyTHigh = int(math.Round(cc.TimelyTLowNs)), int(math.Round(cc.TimelyTHighNs))
	}
	c.CCName = c.ForkName()
	if err := c.Validate(); err != nil {
		return c, err
	}
	return c, nil
}

// PathConfig checks that a parking lot has the 10/40 Gbps shape the model
// and flowsim's features were made for, and returns flowsim's config.
func PathConfig(sc *decompose.Scenario) (bindings.PathConfig, error) { return pathfeat.Config(sc) }

// built is one path's features and flowsim estimate, from a worker.
type built struct {
	res   PathResult
	input model.Input
	err   error
}

// Run estimates w under cfg. est may be nil (flowsim only).
func Run(w *workload.Workload, cfg features.Config, est *model.Estimator, opt Options) (*Result, error) {
	if opt.PerFlow && opt.Paths != 0 {
		return nil, fmt.Errorf("infer: per-flow estimates need every path (Paths 0), not a sample of %d", opt.Paths)
	}
	d, err := decompose.New(w.Routing, &w.Flows)
	if err != nil {
		return nil, err
	}
	var paths, draws []int
	if opt.Paths > 0 && opt.Paths < d.NumPaths() {
		paths, draws = d.Sample(opt.Paths, rand.New(rand.NewPCG(opt.Seed, 0x1f3)))
	} else {
		for p := 0; p < d.NumPaths(); p++ {
			paths, draws = append(paths, p), append(draws, 1)
		}
	}
	vec := cfg.Vector()
	def := features.V1
	if est != nil {
		def = est.Checkpoint().Features.Name
	}
	params := func(hosts int) ([features.NumParams]float64, error) {
		return features.ParamsFor(def, hosts, true, vec[:])
	}
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	out := make([]built, len(paths))
	jobs := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				out[i] = buildPath(d, paths[i], draws[i], params, opt.PerFlow)
				if opt.Progress != nil {
					mu.Lock()
					done++
					opt.Progress(done, len(paths))
					mu.Unlock()
				}
			}
		}()
	}
	for i := range paths {
		jobs <- i
	}
	close(jobs)
	wg.Wait()

	r := &Result{Flows: w.Flows.Len(), PathsTotal: d.NumPaths(), Counts: BucketCounts(w.Flows.Size)}
	inputs := make([]model.Input, 0, len(out))
	for _, b := range out {
		if b.err != nil {
			return nil, b.err
		}
		r.Paths = append(r.Paths, b.res)
		inputs = append(inputs, b.input)
	}
	if est != nil {
		batch := opt.Batch
		if batch <= 0 {
			batch = 64
		}
		for lo := 0; lo < len(inputs); lo += batch {
			hi := min(lo+batch, len(inputs))
			pred, err := est.Predict(inputs[lo:hi])
			if err != nil {
				return nil, fmt.Errorf("model: %w", err)
			}
			for i, p := range pred {
				if len(p) != aggregate.NumBuckets*aggregate.NumPercentiles {
					return nil, fmt.Errorf("model: %d outputs per path, want %d", len(p), aggregate.NumBuckets*aggregate.NumPercentiles)
				}
				var m [aggregate.NumBuckets][aggregate.NumPercentiles]float64
				for k, v := range p { // valid already: >= 1, non-decreasing (Estimator.Predict)
					m[k/aggregate.NumPercentiles][k%aggregate.NumPercentiles] = float64(v)
				}
				r.Paths[lo+i].Model = &m
			}
		}
	}
	scale := 0.0 // every path: a path stands for its own flows
	if len(draws) > 0 && opt.Paths > 0 && opt.Paths < d.NumPaths() {
		scale = float64(r.Flows) / float64(opt.Paths)
	}
	if r.Flowsim, err = Mix(r.Paths, scale, func(p *PathResult) *[aggregate.NumBuckets][aggregate.NumPercentiles]float64 { return p.Flowsim }); err != nil {
		return nil, err
	}
	if est != nil {
		if r.Model, err = Mix(r.Paths, scale, func(p *PathResult) *[aggregate.NumBuckets][aggregate.NumPercentiles]float64 { return p.Model }); err != nil {
			return nil, err
		}
	}
	if scale > 0 && opt.Bootstrap > 0 {
		r.FlowsimCI = Bootstrap(r.Paths, scale, func(p *PathResult) *[aggregate.NumBuckets][aggregate.NumPercentiles]float64 { return p.Flowsim },
			opt.Bootstrap, 0.9, opt.Seed)
		if est != nil {
			r.ModelCI = Bootstrap(r.Paths, scale, func(p *PathResult) *[aggregate.NumBuckets][aggregate.NumPercentiles]float64 { return p.Model },
				opt.Bootstrap, 0.9, opt.Seed)
		}
	}
	if opt.PerFlow {
		if r.PerFlow, err = perFlow(r.Paths, w.Flows.Size); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// BucketCounts counts flows of the given sizes per output bucket, all sizes
// last.
func BucketCounts(sizes []int64) (c [aggregate.NumBuckets + 1]int) {
	for _, sz := range sizes {
		c[features.OutputBucket(float64(sz))]++
	}
	c[aggregate.NumBuckets] = len(sizes)
	return c
}

// Mix combines one estimator's path percentiles into a network-wide
// distribution. With scale 0 every path was estimated and stands for its own
// foreground flows. Otherwise paths were drawn with probability proportional
// to their flows: a path drawn k times stands for k*scale flows (scale =
// workload flows / draws), split over its buckets as its flows are, which
// makes the weights unbiased estimates of the workload's counts.
func Mix(paths []PathResult, scale float64, pick func(*PathResult) *[aggregate.NumBuckets][aggregate.NumPercentiles]float64) (*aggregate.Distribution, error) {
	est := make([]aggregate.PathEstimate, 0, len(paths))
	for i := range paths {
		p := &paths[i]
		q := pick(p)
		if q == nil {
			continue
		}
		total := 0
		for _, n := range p.Flows {
			total += n
		}
		var e aggregate.PathEstimate
		e.Percentiles = *q
		for b, n := range p.Flows {
			if scale == 0 {
				e.Weight[b] = float64(n)
			} else {
				e.Weight[b] = scale * float64(p.Draws) * float64(n) / float64(total)
			}
		}
		est = append(est, e)
	}
	return aggregate.Combine(est)
}

func buildPath(d *decompose.Decomposition, path, draws int, params func(hosts int) ([features.NumParams]float64, error), perFlow bool) (b built) {
	sc, err := d.Scenario(path)
	if err != nil {
		b.err = err
		return
	}
	pp, err := params(sc.Hosts)
	if err != nil {
		b.err = fmt.Errorf("path %d (%d hosts): %w", path, sc.Hosts, err)
		return
	}
	p, err := pathfeat.Build(sc, pp)
	if err != nil {
		b.err = err
		return
	}
	b.input = p.Input
	q := p.Flowsim
	b.res = PathResult{Path: path, Hosts: sc.Hosts, Draws: draws, Flows: p.Flows, Flowsim: &q}
	if perFlow {
		for _, i := range p.Foreground {
			b.res.FlowIDs = append(b.res.FlowIDs, sc.Flow[i])
		}
		b.res.FlowsimSlowdown = p.FGSlowdown
	}
	return b
}
