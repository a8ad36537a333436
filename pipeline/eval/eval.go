// Package eval measures estimates against packet-level ground truth: it runs
// m4's packet simulator (a faithful re-implementation of the ns-3 fork that
// produced m3's data) on a whole datacenter workload, turns its FCTs into
// slowdown distributions per output size bucket, and compares estimated
// quantiles with the true ones.
package eval

import (
	"fmt"
	"math"

	"github.com/m4sim/m4/pipeline/aggregate"
	"github.com/m4sim/m4/pipeline/features"
	"github.com/m4sim/m4/pipeline/pktsim"
	"github.com/m4sim/m4/pipeline/workload"
)

// Truth is the packet-level outcome of a workload.
type Truth struct {
	Slowdown []float64 // per flow: FCT / the fork's ideal FCT
	Bucket   []int     // per flow: output size bucket
	FCTNs    []int64   // per flow: FCT, ns (-1: unfinished)
	IdealNs  []int64   // per flow: the fork's ideal FCT, ns
	Config   string    // the ns-3 config text the simulator ran
	Dist     *aggregate.Distribution
	Events   uint64
}

// GroundTruth simulates w under cfg on its whole topology with the packet
// simulator. maxEvents bounds the run (0: the simulator's default).
func GroundTruth(w *workload.Workload, cfg features.Config, maxEvents uint64) (*Truth, error) {
	return GroundTruthWith(w, cfg, TruthOptions{MaxEvents: maxEvents})
}

// TruthOptions control a ground-truth run.
type TruthOptions struct {
	MaxEvents uint64 // event budget (0: the simulator's default)
	// Progress, when set, hears now and then how many flows have finished.
	Progress func(done, total int, nowNs int64)
}

// SimCase is a workload as the packet simulator takes it.
type SimCase struct {
	Config *pktsim.Config
	Topo   *pktsim.Topology
	Flows  *pktsim.Flows
}

// SimInput converts w under cfg for the packet simulator: the fork's
// config for cfg on 10 Gbps host links, w's topology, and flow i of w as
// flow i with id i.
func SimInput(w *workload.Workload, cfg features.Config) (*SimCase, error) {
	topo, err := pktsim.FromWorkload(w.Topo)
	if err != nil {
		return nil, err
	}
	fl := &w.Flows
	n := fl.Len()
	if n == 0 {
		return nil, fmt.Errorf("ground truth: the workload has no flows")
	}
	flows := &pktsim.Flows{Name: "workload flows"}
	for i := 0; i < n; i++ {
		flows.Add(uint32(i), fl.Src[i], fl.Dst[i], uint64(fl.Size[i]), fl.StartNs[i])
	}
	last := float64(fl.StartNs[n-1]) / 1e9
	pc, err := pktsim.M3Config(cfg, pktsim.M3Options{LinkGbps: 10, BaseRTTNs: 14400,
		StopS: int(last+1) + 2, QlenMonStartNs: 100_000_000_000})
	if err != nil {
		return nil, err
	}
	return &SimCase{Config: pc, Topo: topo, Flows: flows}, nil
}

// IdealFCTs returns the fork's ideal FCT of each flow of c (ns), without
// simulating.
func (c *SimCase) IdealFCTs() ([]int64, error) {
	return pktsim.IdealFCTs(c.Config, c.Topo, c.Flows)
}

// GroundTruthWith is GroundTruth with options.
func GroundTruthWith(w *workload.Workload, cfg features.Config, o TruthOptions) (*Truth, error) {
	sc, err := SimInput(w, cfg)
	if err != nil {
		return nil, err
	}
	return SimulateWith(sc.Config, sc.Topo, sc.Flows, o)
}

// SimulateWith runs the packet simulator on flows (in workload order) over
// topo under cfg and summarises the outcome as ground truth.
func SimulateWith(cfg *pktsim.Config, topo *pktsim.Topology, flows *pktsim.Flows, o TruthOptions) (*Truth, error) {
	res, err := pktsim.SimulateWith(cfg, topo, flows, pktsim.Options{MaxEvents: o.MaxEvents, Progress: o.Progress})
	if err != nil {
		return nil, fmt.Errorf("ground truth: %w", err)
	}
	n := flows.Len()
	t := &Truth{Slowdown: res.Slowdowns(), Bucket: make([]int, n), FCTNs: res.FCTNs, IdealNs: res.IdealNs, Config: cfg.Format(), Events: res.Stats.Events}
	for i := range t.Bucket {
		t.Bucket[i] = features.OutputBucket(float64(flows.SizeBytes[i]))
	}
	if t.Dist, err = aggregate.FromSamples(t.Bucket, t.Slowdown); err != nil {
		return nil, err
	}
	return t, nil
}

// PerFlowError is the mean over flows of |max(est/ideal, 1) / slowdown - 1|
// with slowdown = max(fct, ideal) / ideal: how far each flow's estimated
// slowdown is from its true one. est, fct and ideal are per flow, in ns.
func PerFlowError(est, fct, ideal []int64) (float64, error) {
	if len(est) != len(fct) || len(ideal) != len(fct) || len(fct) == 0 {
		return 0, fmt.Errorf("per-flow error: %d estimates, %d FCTs, %d ideal FCTs", len(est), len(fct), len(ideal))
	}
	sum := 0.0
	for i := range fct {
		if fct[i] < 0 || ideal[i] <= 0 {
			return 0, fmt.Errorf("per-flow error: flow %d: FCT %d ns, ideal %d ns", i, fct[i], ideal[i])
		}
		id := float64(ideal[i])
		sum += math.Abs(math.Max(float64(est[i])/id, 1)/(math.Max(float64(fct[i]), id)/id) - 1)
	}
	return sum / float64(len(fct)), nil
}

// TruthOf is the slowdown distribution of w's flows given each flow's FCT
// and ideal FCT (ns): max(fct, ideal) / ideal per flow, bucketed by size.
func TruthOf(w *workload.Workload, fctNs, idealNs []int64) (*aggregate.Distribution, error) {
	n := w.Flows.Len()
	if len(fctNs) != n || len(idealNs) != n {
		return nil, fmt.Errorf("truth: %d FCTs and %d ideal FCTs for %d flows", len(fctNs), len(idealNs), n)
	}
	bucket, sl := make([]int, n), make([]float64, n)
	for i := range n {
		if fctNs[i] < 0 || idealNs[i] <= 0 {
			return nil, fmt.Errorf("truth: flow %d: FCT %d ns, ideal %d ns", i, fctNs[i], idealNs[i])
		}
		bucket[i] = features.OutputBucket(float64(w.Flows.Size[i]))
		sl[i] = float64(max(fctNs[i], idealNs[i])) / float64(idealNs[i])
	}
	return aggregate.FromSamples(bucket, sl)
}

// Quantiles compared by default: median, p90, p99.
var Quantiles = []float64{0.5, 0.9, 0.99}

// Row is one bucket and quantile: the true value and each estimator's.
type Row struct {
	Bucket    int // aggregate.NumBuckets for all sizes
	Q         float64
	Truth     float64
	Estimates []float64 // in the order of the estimators given to Compare
}

// RelErr is |est/truth - 1| of estimator i.
func (r Row) RelErr(i int) float64 { return math.Abs(r.Estimates[i]/r.Truth - 1) }

// Compare lines up estimators against the truth for every non-empty bucket.
func Compare(truth *aggregate.Distribution, est []*aggregate.Distribution, qs []float64) []Row {
	var rows []Row
	for b := 0; b <= aggregate.NumBuckets; b++ {
		if b < aggregate.NumBuckets && truth.Weight[b] == 0 {
			continue
		}
		for _, q := range qs {
			r := Row{Bucket: b, Q: q, Truth: truth.Quantile(b, q)}
			for _, e := range est {
				r.Estimates = append(r.Estimates, e.Quantile(b, q))
			}
			rows = append(rows, r)
		}
	}
	return rows
}
