// Package truth makes packet-level ground truth for a whole workload: it
// builds m4's packet simulator's network, flows and fork config from a
// pipeline/workload workload and a configuration record (no ns-3 files in
// between), runs pipeline/pktsim (a faithful re-implementation of the ns-3
// fork that produced m3's data) and returns each flow's FCT, ideal FCT and
// slowdown, with their distribution per output size bucket.
//
// Training-data generation (pipeline/netdata) and evaluation
// (pipeline/eval, m4 run --truth) both take their ground truth from here.
package truth

import (
	"fmt"
	"math"

	"github.com/m4sim/m4/pipeline/aggregate"
	"github.com/m4sim/m4/pipeline/features"
	"github.com/m4sim/m4/pipeline/pktsim"
	"github.com/m4sim/m4/pipeline/workload"
)

// Result is the packet-level outcome of a workload.
type Result struct {
	Slowdown []float64 // per flow: FCT / the fork's ideal FCT
	Bucket   []int     // per flow: output size bucket
	FCTNs    []int64   // per flow: FCT, ns (-1: unfinished)
	IdealNs  []int64   // per flow: the fork's ideal FCT, ns
	Config   string    // the fork config the simulator ran, as config-file text
	Dist     *aggregate.Distribution
	Events   uint64
	// Dynamics is the run's dynamics trace, link table and routes; nil
	// unless Options.Dynamics.
	Dynamics *pktsim.Dynamics
}

// Options control a ground-truth run.
type Options struct {
	MaxEvents uint64 // event budget (0: the simulator's default)
	// Progress, when set, hears now and then how many flows have finished.
	Progress func(done, total int, nowNs int64)
	// Dynamics records what a flow-level dynamics model learns from
	// (pktsim.Options.Dynamics) into Result.Dynamics.
	Dynamics bool
}

// Case is a workload as the packet simulator takes it.
type Case struct {
	Config *pktsim.Config
	Topo   *pktsim.NS3Topology
	Flows  *pktsim.NS3Flows
}

// BaseRTTNs and QlenMonStartNs are the parts of the fork config of a
// scenario that neither its configuration record nor its workload gives
// (Input takes the link rates from the workload): m3's generator's base RTT,
// and a queue monitor start past any run (off, as in the reference
// ns3-paths).
const (
	BaseRTTNs      = 14400
	QlenMonStartNs = 100_000_000_000
)

// Input converts w under cfg for the packet simulator: the fork config m3's
// generator writes for cfg at w's host link rate (pktsim.M3Config: ECN
// thresholds and CC constants scaled to it as run_m3.py scales them, the
// ECN maps at w's host and fabric rates), w's
// topology (pktsim.FromWorkload) and flow i of w as flow i with id i. The
// stop time is 2 s past the second after the last start, as the fork's
// generator sets it.
func Input(w *workload.Workload, cfg features.Config) (*Case, error) {
	topo, err := pktsim.FromWorkload(w.Topo)
	if err != nil {
		return nil, err
	}
	fl := &w.Flows
	n := fl.Len()
	if n == 0 {
		return nil, fmt.Errorf("ground truth: the workload has no flows")
	}
	flows := &pktsim.NS3Flows{Name: "workload flows"}
	for i := 0; i < n; i++ {
		flows.Add(uint32(i), fl.Src[i], fl.Dst[i], uint64(fl.Size[i]), fl.StartNs[i])
	}
	host, fabric, err := w.Topo.LinkRates()
	if err != nil {
		return nil, fmt.Errorf("ground truth: %w", err)
	}
	if host != math.Trunc(host) || fabric != math.Trunc(fabric) {
		return nil, fmt.Errorf("ground truth: links at %g and %g Gbps: the packet simulator's m3 config takes whole Gbps", host, fabric)
	}
	last := float64(fl.StartNs[n-1]) / 1e9
	pc, err := pktsim.M3Config(cfg, pktsim.M3Options{LinkGbps: int(host), FabricGbps: int(fabric), BaseRTTNs: BaseRTTNs,
		StopS: int(last+1) + 2, QlenMonStartNs: QlenMonStartNs})
	if err != nil {
		return nil, err
	}
	return &Case{Config: pc, Topo: topo, Flows: flows}, nil
}

// IdealFCTs returns the ideal FCT of each flow of c (ns), without
// simulating: the fork's, with its rate cap raised to the host link rate
// on hosts faster than 10 Gbps (pktsim.IdealCap), as Simulate reports it.
func (c *Case) IdealFCTs() ([]int64, error) {
	return pktsim.IdealFCTs(c.Config, c.Topo, c.Flows, pktsim.IdealCap(c.Topo))
}

// Simulate runs the packet simulator on w under cfg (Input) and returns
// its outcome.
func Simulate(w *workload.Workload, cfg features.Config, o Options) (*Result, error) {
	c, err := Input(w, cfg)
	if err != nil {
		return nil, err
	}
	return c.Simulate(o)
}

// Simulate runs the packet simulator on c's flows (in their order) and
// summarises the outcome.
func (c *Case) Simulate(o Options) (*Result, error) {
	res, err := pktsim.SimulateWith(c.Config, c.Topo, c.Flows, pktsim.Options{MaxEvents: o.MaxEvents, Progress: o.Progress,
		Dynamics: o.Dynamics, IdealRateCap: pktsim.IdealCap(c.Topo)})
	if err != nil {
		return nil, fmt.Errorf("ground truth: %w", err)
	}
	n := c.Flows.Len()
	t := &Result{Slowdown: res.Slowdowns(), Bucket: make([]int, n), FCTNs: res.FCTNs, IdealNs: res.IdealNs,
		Config: c.Config.Format(), Events: res.Stats.Events, Dynamics: res.Dynamics}
	for i := range t.Bucket {
		t.Bucket[i] = features.OutputBucket(float64(c.Flows.SizeBytes[i]))
	}
	if t.Dist, err = aggregate.FromSamples(t.Bucket, t.Slowdown); err != nil {
		return nil, err
	}
	return t, nil
}
