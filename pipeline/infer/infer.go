// Package infer estimates a datacenter workload's FCT slowdowns: it splits
// the workload into path scenarios (package decompose), runs flowsim and
// builds m3's feature map on each (packages flowsim, features), corrects
// them with the learned model (package model) and mixes the per-path
// estimates into network-wide distributions (package aggregate).
//
// Paths are estimated in parallel, one worker per core, each building its
// paths and running the model on them in batches (see Run). As m3 does, a
// large workload can be estimated from a sample of its paths; here the
// sample is stratified by output bucket (see Stratify).
package infer

import (
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/m4sim/m4/pipeline/aggregate"
	"github.com/m4sim/m4/pipeline/decompose"
	"github.com/m4sim/m4/pipeline/features"
	"github.com/m4sim/m4/pipeline/model"
	"github.com/m4sim/m4/pipeline/workload"
)

// Options tune an estimate.
type Options struct {
	// Paths is how many paths to draw (with replacement, stratified by
	// output bucket: Stratify); 0 estimates every path.
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
	// Alongside, if set, is called once the network-wide distributions
	// are made (Result.Model, nil without a model, and Result.Flowsim), in
	// a goroutine of its own while Run goes on to the bootstrap intervals
	// and per-flow estimates: work that needs only the distributions, such
	// as plotting them, then costs no extra time on a machine with a core
	// to spare. Run returns after it, with its error if Run had none.
	Alongside func(model, flowsim *aggregate.Distribution) error
	// Lean leaves PathResult.Model and Flowsim nil unless Bootstrap or
	// PerFlow needs them: only the network-wide distributions keep the
	// percentiles, so a workload's every path costs about 100 bytes each
	// beyond them (a 10^6-flow workload has ~10^6 paths).
	Lean bool
}

// PathResult is one path's estimate.
type PathResult struct {
	Path  int // index in the decomposition
	Hosts int // parking-lot hosts (links + 1)
	// Draws[b] is how many of bucket b's draws took the path (a sample
	// only); Weight[b] the workload flows of bucket b that the path's
	// bucket-b estimate stands for: its own foreground flows when every
	// path is estimated, its importance weight in a sample (Stratify).
	Draws  [aggregate.NumBuckets]int
	Weight [aggregate.NumBuckets]float64
	// Flows[b] counts the path's foreground flows in output bucket b.
	Flows [aggregate.NumBuckets]int
	// Model holds the model's slowdown percentiles per bucket (nil
	// without a model); Flowsim flowsim's own, from the same run.
	Model, Flowsim *[aggregate.NumBuckets][aggregate.NumPercentiles]float64
	// With Options.PerFlow: the workload flows of the path's foreground,
	// flowsim's slowdown of each (features.Slowdowns' definition), and
	// whether each met no other flow of the lot in flowsim
	// (pathfeat.Path.FGIsolated).
	FlowIDs         []int32
	FlowsimSlowdown []float64
	Isolated        []bool
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
// record m3's features encode (cc.Spec.Record).
func ConfigOf(spec workload.CCSpec) (features.Config, error) {
	r, err := spec.Record()
	return features.Config{CCName: r.ForkName(), Record: r}, err
}

// Run estimates w under cfg. est may be nil (flowsim only).
//
// Paths go to the workers in chunks of one model batch (Options.Batch
// consecutive paths of the list, so a path's batch never depends on the
// scheduling): a worker builds each path of its chunk (parking lot,
// flowsim, feature map) into buffers it reuses, then runs the model on the
// chunk, on a CPU model of its own (one thread: one level of parallelism)
// or, on a GPU, on the one shared device. Chunks are then mixed into the
// network-wide distributions in path order, so the result does not depend
// on the number of workers.
func Run(w *workload.Workload, cfg features.Config, est *model.Estimator, opt Options) (*Result, error) {
	if opt.PerFlow && opt.Paths != 0 {
		return nil, fmt.Errorf("infer: per-flow estimates need every path (Paths 0), not a sample of %d", opt.Paths)
	}
	d, err := decompose.New(w.Routing, &w.Flows)
	if err != nil {
		return nil, err
	}
	counts := BucketCounts(w.Flows.Size)
	sampled := opt.Paths > 0 && opt.Paths < d.NumPaths()
	var paths []int
	var draws [][aggregate.NumBuckets]int
	if sampled {
		paths, draws = Stratify(d, opt.Paths, rand.New(rand.NewPCG(opt.Seed, 0x1f3)))
	} else {
		paths = make([]int, d.NumPaths())
		for p := range paths {
			paths[p] = p
		}
	}
	keep := !opt.Lean || opt.PerFlow || (sampled && opt.Bootstrap > 0)

	run, err := newRunner(d, cfg, est, opt, paths)
	if err != nil {
		return nil, err
	}
	var need [aggregate.NumBuckets]int // values each mixture will hold
	if sampled {
		sampleWeights(d, run.res, draws, counts)
		for i := range run.res {
			for b, wt := range run.res[i].Weight {
				if wt > 0 {
					need[b] += aggregate.NumPercentiles
				}
			}
		}
	}
	r := &Result{Flows: w.Flows.Len(), PathsTotal: d.NumPaths(), Counts: counts, Paths: run.res}
	var mixFS, mixM aggregate.Builder
	if !sampled { // every path: at most 100 values per flow of each bucket
		for b, n := range r.Counts[:aggregate.NumBuckets] {
			need[b] = n * aggregate.NumPercentiles
		}
	}
	for b, n := range need {
		mixFS.Grow(b, n)
		if est != nil {
			mixM.Grow(b, n)
		}
	}
	// commit mixes a finished chunk, in path order
	commit := func(c *chunk) error {
		for i := c.lo; i < c.hi; i++ {
			p := &r.Paths[i]
			j := i - c.lo
			if !sampled {
				for b, n := range p.Flows {
					p.Weight[b] = float64(n)
				}
			}
			wt := p.Weight
			for b := range wt {
				if err := mixFS.Add(b, &c.flowsim[j][b], wt[b]); err != nil {
					return fmt.Errorf("aggregate: path %d %w", p.Path, err)
				}
				if est != nil {
					if err := mixM.Add(b, &c.model[j][b], wt[b]); err != nil {
						return fmt.Errorf("aggregate: path %d %w", p.Path, err)
					}
				}
			}
			if keep {
				p.Flowsim = &c.flowsim[j]
				if est != nil {
					p.Model = &c.model[j]
				}
			}
		}
		return nil
	}
	if err := run.run(commit, keep); err != nil {
		return nil, err
	}
	// the two mixtures are sorted side by side
	var wg sync.WaitGroup
	if est != nil {
		wg.Go(func() { r.Model = mixM.Distribution() })
	}
	r.Flowsim = mixFS.Distribution()
	wg.Wait()
	var along chan error
	if opt.Alongside != nil {
		along = make(chan error, 1)
		go func() { along <- opt.Alongside(r.Model, r.Flowsim) }()
	}
	if sampled && opt.Bootstrap > 0 {
		picks := []Pick{func(p *PathResult) *[aggregate.NumBuckets][aggregate.NumPercentiles]float64 { return p.Flowsim }}
		if est != nil {
			picks = append(picks, func(p *PathResult) *[aggregate.NumBuckets][aggregate.NumPercentiles]float64 { return p.Model })
		}
		ivs := Bootstraps(r.Paths, picks, opt.Bootstrap, 0.9, opt.Seed)
		r.FlowsimCI = ivs[0]
		if est != nil {
			r.ModelCI = ivs[1]
		}
	}
	if opt.PerFlow {
		r.PerFlow, err = perFlow(r.Paths, w.Flows.Size, cfg.CC)
	}
	if along != nil {
		if aerr := <-along; err == nil {
			err = aerr
		}
	}
	if err != nil {
		return nil, err
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
