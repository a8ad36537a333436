package main

import (
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/m4sim/m4/ckpts"
	"github.com/m4sim/m4/pipeline/aggregate"
	"github.com/m4sim/m4/pipeline/atomicfile"
	"github.com/m4sim/m4/pipeline/cc"
	"github.com/m4sim/m4/pipeline/eval"
	"github.com/m4sim/m4/pipeline/features"
	"github.com/m4sim/m4/pipeline/infer"
	"github.com/m4sim/m4/pipeline/model"
	"github.com/m4sim/m4/pipeline/ns3"
	"github.com/m4sim/m4/pipeline/truth"
	"github.com/m4sim/m4/pipeline/workload"
)

func runCommand() *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "estimate a datacenter workload's FCT slowdown distribution (workload -> paths -> flowsim -> model -> network-wide)",
		UsageText: "m4 run [--spec FILE | --ns3 CONFIG] [--ckpt CKPT] [--paths N | --per-flow] [--truth] [--out DIR]\n   m4 run --example-spec",
		Description: `Generates the workload of a spec (m4 workload's YAML/JSON; without --spec the embedded
default, which --example-spec prints: a 256-host fabric cluster, WebServer sizes, 50% load,
DCTCP), or reads a run of the ns-3 fork (--ns3: its config file, with the topology and flow
files it names), splits it into path-level scenarios, draws --paths of them weighted by
their flows (as m3 does; 0 = all), runs flowsim and builds the feature map of each,
corrects them with the model, and mixes the per-path estimates into network-wide FCT
slowdown percentiles per flow-size bucket, with a bootstrap interval over the path sample.

It first names the workload: hosts, flows, sizes, CC, the target load and the load the
busiest link really gets, with a warning when a link is offered more than its capacity.

With --per-flow every path is estimated and each flow gets an FCT from flowsim and from m4
(docs/outputs.md says how). With --truth it also runs m4's packet-level simulator on the
whole workload (the ground truth m4 learns from) and prints each estimator's error.

Prints a table of p50/p90/p99 per bucket and writes into DIR, replacing it as one unit
(a new or empty folder, or one m4 run wrote): estimate.json and estimate.csv (percentiles
1..100 per bucket and estimator), slowdown_cdf.png and .svg, and with --per-flow flows.csv
(one row per flow: ideal, flowsim, m4 and with --truth the packet-level FCT, in ns).
Progress goes to stderr: a bar on a terminal, else a line every few seconds.

--estimator dynamics estimates with m4's flow-level dynamics model (the shipped one, or
--ckpt from m4 train --estimator dynamics; docs/dynamics.md) instead: its event loop runs over every flow of the
workload on the routes the packet simulator would take, each flow's slowdown is its
estimated FCT over its ideal FCT, and the percentiles per size bucket go under
estimates.m4 in estimate.json (--paths does not apply). With --per-flow it also writes flows.csv
(m4_fct_ns the model's FCT of each flow) and flowsim's rows and column, from every path.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "spec", Usage: "workload spec `FILE` (default: the embedded scenario)"},
			&cli.StringFlag{Name: "ns3", Usage: "an ns-3 fork run's config `FILE`: its TOPOLOGY_FILE and FLOW_FILE (beside it) are the workload, its CC, buffer, window and PFC the configuration"},
			&cli.BoolFlag{Name: "example-spec", Usage: "print the embedded default spec and exit"},
			&cli.StringFlag{Name: "ckpt", Usage: "model checkpoint `CKPT` (default: the shipped one for the workload's congestion control)"},
			&cli.IntFlag{Name: "paths", Value: 2000, Usage: "paths to draw, stratified by output size bucket (docs/accuracy.md; 0: every path)"},
			&cli.BoolFlag{Name: "per-flow", Usage: "estimate every path and write each flow's FCTs to DIR/flows.csv"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "seed of the path sample"},
			&cli.IntFlag{Name: "bootstrap", Value: 200, Usage: "bootstrap replicates of the path sample for each estimate's 90% interval (slowdown_lo, slowdown_hi in estimate.json and .csv; 0: none)"},
			&cli.BoolFlag{Name: "truth", Usage: "also simulate the whole workload packet by packet and report errors"},
			&cli.Uint64Flag{Name: "max-events", Usage: "event budget of the --truth run (0: the simulator's default)"},
			&cli.StringFlag{Name: "out", Value: "m4-out", Usage: "output `DIR`"},
			&cli.IntFlag{Name: "threads", Value: runtime.NumCPU(), Usage: "worker threads"},
			&cli.BoolFlag{Name: "no-progress", Usage: "no progress on stderr"},
			maxFlowsFlag(),
			estimatorFlag("estimator: path (flowsim per path corrected by the path model) or dynamics (the flow-level dynamics model's event loop over the whole workload: the shipped model, or --ckpt from m4 train --estimator dynamics)"),
		},
		Action: func(c *cli.Context) error {
			if c.Bool("example-spec") {
				_, err := c.App.Writer.Write(infer.DefaultSpecYAML())
				return err
			}
			est, err := checkEstimator(c)
			if err != nil {
				return err
			}
			if est == estimatorDynamics {
				in, err := loadRunInput(c, c.String("spec"), c.String("ns3"))
				if err != nil {
					return err
				}
				return runDynamics(c, in)
			}
			paths := c.Int("paths")
			if c.Bool("per-flow") {
				if c.IsSet("paths") && paths != 0 {
					return fmt.Errorf("--per-flow estimates every path; leave out --paths %d", paths)
				}
				paths = 0
			}
			pm := startPathModel(c) // while the input is read
			defer pm.release()
			in, err := loadRunInput(c, c.String("spec"), c.String("ns3"))
			if err != nil {
				return err
			}
			return runWorkload(c, in, paths, pm)
		},
	}
}

// runInput is a workload to estimate, whatever it came from (a spec; the
// fork's files): everything that writes outputs reads it from here.
type runInput struct {
	Name string // the spec or config file
	W    *workload.Workload
	CC   features.Config
	Desc *infer.Description
	// IDs are the input's flow ids (nil: 0, 1, ... in workload order).
	IDs []uint32
	// Meta is added to estimate.json's "run" object (e.g. the spec).
	Meta map[string]any
	// Sim is the workload as the packet simulator takes it (ideal FCTs).
	Sim func() (*truth.Case, error)
	// Truth makes the ground truth.
	Truth func(o truth.Options) (*truth.Result, error)
	// Untrained lists the input's settings that m4's training data never
	// varied (ns3.Untrained), reported with the trained ranges.
	Untrained []features.OutOfRange
}

// loadRunInput reads --spec or --ns3 (the embedded default spec when
// neither is given).
func loadRunInput(c *cli.Context, specPath, ns3Path string) (*runInput, error) {
	if ns3Path == "" {
		return specInput(c, specPath)
	}
	if specPath != "" {
		return nil, fmt.Errorf("give --spec or --ns3, not both")
	}
	r, err := ns3.Load(ns3Path)
	if err != nil {
		return nil, err
	}
	cfg, err := r.ModelConfig()
	if err != nil {
		return nil, err
	}
	un, err := ns3.Untrained(r.Config, cfg, r.HostGbps, r.FabricGbps)
	if err != nil {
		return nil, err
	}
	w := r.Workload
	sc := &truth.Case{Config: r.Config, Topo: r.Topo, Flows: r.Flows}
	return &runInput{Name: ns3Path, W: w, CC: cfg, Desc: infer.Describe(ns3Path, w, cfg), IDs: r.Flows.ID, Untrained: un,
		Meta: map[string]any{"ns3_config": ns3Path},
		// the fork's own config, topology and flows
		Sim:   func() (*truth.Case, error) { return sc, nil },
		Truth: func(o truth.Options) (*truth.Result, error) { return sc.Simulate(o) },
	}, nil
}

// specInput generates the workload of a spec file ("" the embedded one),
// within --max-flows.
func specInput(c *cli.Context, path string) (*runInput, error) {
	spec, err := loadSpec(path)
	if err != nil {
		return nil, err
	}
	cfg, err := infer.ConfigOf(spec.CC)
	if err != nil {
		return nil, fmt.Errorf("%s: cc: %w", spec.File, err)
	}
	start := time.Now()
	w, err := generateWorkload(c, spec)
	if err != nil {
		return nil, err
	}
	slog.Info("workload", "flows", w.Flows.Len(), "hosts", len(w.Topo.Hosts()), "seconds", time.Since(start).Seconds())
	return &runInput{Name: spec.File, W: w, CC: cfg, Desc: infer.Describe(spec.File, w, cfg), Meta: map[string]any{"spec": spec},
		Sim:   func() (*truth.Case, error) { return truth.Input(w, cfg) },
		Truth: func(o truth.Options) (*truth.Result, error) { return truth.Simulate(w, cfg, o) },
	}, nil
}

// pathModel is m4 run's checkpoint and path estimator: --ckpt's made in a
// goroutine of their own (startPathModel) while the input is read; the
// shipped one, which depends on the workload's algorithm, when taken.
type pathModel struct {
	done   chan struct{}
	path   string // --ckpt ("": the shipped checkpoint for the workload)
	early  bool   // make the estimator beside the checkpoint (the CPU's)
	ck     *model.Checkpoint
	name   string
	ckErr  error
	est    *model.Estimator // nil until made; made early on the CPU only
	estErr error
	taken  bool
}

// startPathModel decodes --ckpt and, on the CPU, makes its path estimator
// when the checkpoint reads m4's features (with --gpu the device is chosen
// later, on the command's goroutine).
func startPathModel(c *cli.Context) *pathModel {
	pm := &pathModel{done: make(chan struct{}), path: c.String("ckpt"), early: !wantDevice(c, "gpu")}
	if pm.path == "" {
		close(pm.done) // decoded by take, for the workload's algorithm
		return pm
	}
	go func() {
		defer close(pm.done)
		pm.load(c, "")
	}()
	return pm
}

// load decodes the checkpoint for algorithm alg and, early, its estimator.
func (pm *pathModel) load(c *cli.Context, alg cc.CC) {
	pm.ck, pm.name, pm.ckErr = decodeCheckpointFor(pm.path, alg)
	if pm.ckErr == nil && pm.early && featuresFit(pm.ck, pm.name) == nil {
		pm.est, pm.estErr = newPathEstimator(c, pm.ck)
	}
}

// take waits for the checkpoint (the shipped one for workloads of
// algorithm alg when no --ckpt was given); the caller owns what it returns.
func (pm *pathModel) take(c *cli.Context, alg cc.CC) (*model.Checkpoint, string, error) {
	<-pm.done
	if pm.path == "" && pm.ck == nil && pm.ckErr == nil {
		pm.load(c, alg)
	}
	pm.taken = true
	return pm.ck, pm.name, pm.ckErr
}

// estimator returns the path estimator (made now if it was not made early).
func (pm *pathModel) estimator(c *cli.Context) (*model.Estimator, error) {
	if pm.est == nil && pm.estErr == nil {
		return newPathEstimator(c, pm.ck) // --gpu: the GPU when usable
	}
	return pm.est, pm.estErr
}

// release closes the estimator if nobody took it.
func (pm *pathModel) release() {
	<-pm.done
	if !pm.taken && pm.est != nil {
		pm.est.Close()
	}
}

// runWorkload estimates in (every path when paths is 0) with pm's model and
// writes the output set.
func runWorkload(c *cli.Context, in *runInput, paths int, pm *pathModel) error {
	out, err := atomicfile.NewDir(c.String("out"), infer.OutputFiles...)
	if err != nil {
		return err
	}
	defer out.Abort()
	ck, ckName, err := pm.take(c, in.CC.CC)
	if pm.est != nil {
		defer pm.est.Close()
	}
	if err != nil {
		return err
	}
	if c.String("ckpt") != "" {
		warnUnverified(ck, ckName)
	}
	if err := featuresFit(ck, ckName); err != nil {
		return err
	}
	if err := rangesKnown(c, ck, ckName); err != nil {
		return err
	}
	oor := append(infer.OutOfRange(ck, in.W, in.CC), in.Untrained...)
	if err := reportRanges(c, oor, ckName, in.Name); err != nil {
		return err
	}
	est, err := pm.estimator(c)
	if err != nil {
		return err
	}
	if est != pm.est {
		defer est.Close()
	}

	wr := c.App.Writer
	in.Desc.WriteSummary(wr)
	perFlow := c.Bool("per-flow")
	prog := newProgress(c, "paths", "paths")
	plots := func(ests []infer.Named) error {
		t := time.Now()
		err := infer.Plot(in.Desc.Title(), ests, out.Path(infer.FilePlotPNG), out.Path(infer.FilePlotSVG))
		slog.Info("plots", "seconds", time.Since(t).Seconds())
		return err
	}
	opt := infer.Options{Paths: paths, Seed: c.Uint64("seed"),
		Workers: c.Int("threads"), Bootstrap: c.Int("bootstrap"), Progress: prog.update, PerFlow: perFlow, Lean: true}
	plotted := !c.Bool("truth") // without a ground truth to add, the plots are drawn during the bootstrap
	if plotted {
		opt.Alongside = func(model, flowsim *aggregate.Distribution) error {
			return plots([]infer.Named{{Name: infer.M4, Dist: model}, {Name: infer.Flowsim, Dist: flowsim}})
		}
	}
	t0 := time.Now()
	res, err := infer.Run(in.W, in.CC, est, opt)
	prog.finish()
	if err != nil {
		return err
	}
	elapsed := time.Since(t0) // with the plots, when drawn alongside
	if n, worst := infer.Departures(res.Paths, infer.DepartureFactor); n > 0 {
		fmt.Fprintf(c.App.ErrWriter, "m4 run: warning: on %d of %d paths the model departs from flowsim by more than %gx (up to %.3gx): it extrapolates there, or the checkpoint does not fit this workload\n",
			n, len(res.Paths), float64(infer.DepartureFactor), worst)
	}
	ests := []infer.Named{{Name: infer.M4, Dist: res.Model, CI: res.ModelCI}, {Name: infer.Flowsim, Dist: res.Flowsim, CI: res.FlowsimCI}}
	meta := map[string]any{"input": in.Name, "workload": in.Desc, "checkpoint": ckName, "config": in.CC,
		"out_of_range": oor, "paths_total": res.PathsTotal,
		"paths_estimated": len(res.Paths), "paths_drawn": paths, "seed": c.Uint64("seed"), "per_flow": perFlow,
		"estimate_seconds": elapsed.Seconds()}
	for k, v := range in.Meta {
		meta[k] = v
	}
	var held *ckpts.HeldOutErrors
	if c.String("ckpt") == "" { // the table speaks for the shipped checkpoints only
		if held, err = ckpts.HeldOut(in.CC.CC); err != nil {
			return err
		}
		if held != nil {
			meta["heldout_error"] = held
			if b := held.ForLoad(in.Desc.BusiestByCount.LoadByCount); b != nil {
				meta["heldout_band"] = b
			}
		}
	}
	sampled := "every path"
	if paths > 0 && paths < res.PathsTotal {
		sampled = fmt.Sprintf("a sample of %d draws stratified by size bucket and spread over contention, seed %d", paths, c.Uint64("seed"))
	}
	fmt.Fprintf(wr, "paths: %d of %d estimated (%s) in %.2f s; checkpoint %s\n", len(res.Paths), res.PathsTotal, sampled, elapsed.Seconds(), ckName)

	var table *infer.FlowTable
	if perFlow {
		sc, err := in.Sim()
		if err != nil {
			return err
		}
		ideal, err := sc.IdealFCTs()
		if err != nil {
			return err
		}
		table = &infer.FlowTable{ID: in.IDs, Flows: &in.W.Flows, IdealNs: ideal, PerFlow: res.PerFlow}
	}
	if c.Bool("truth") {
		t1 := time.Now()
		prog := newProgress(c, "truth (packet-level simulation)", "flows")
		tr, err := in.Truth(truth.Options{MaxEvents: c.Uint64("max-events"),
			Progress: func(done, total int, _ int64) { prog.update(done, total) }})
		if err == nil {
			prog.update(len(tr.FCTNs), len(tr.FCTNs))
		}
		prog.finish()
		if err != nil {
			return err
		}
		meta["truth_seconds"] = time.Since(t1).Seconds()
		meta["truth_events"] = tr.Events
		ests = append([]infer.Named{{Name: infer.Truth, Dist: tr.Dist}}, ests...)
		fmt.Fprintf(wr, "truth: %d flows simulated packet by packet in %.1f s\n", len(tr.FCTNs), time.Since(t1).Seconds())
		if table != nil {
			table.TruthNs = tr.FCTNs
			errs := map[string]float64{}
			for _, e := range []struct {
				name string
				sl   []float64
			}{{infer.M4, res.PerFlow.Model}, {infer.Flowsim, res.PerFlow.Flowsim}} {
				if errs[e.name], err = eval.PerFlowError(infer.FCTsOf(e.sl, table.IdealNs), tr.FCTNs, table.IdealNs); err != nil {
					return err
				}
			}
			meta["per_flow_error"] = errs
			fmt.Fprintf(wr, "per-flow error (mean |estimated/true slowdown - 1| over flows): m4 %.1f%%, flowsim %.1f%%\n",
				100*errs[infer.M4], 100*errs[infer.Flowsim])
		}
	}

	plot := func() error { return plots(ests) }
	if plotted {
		plot = nil
	}
	files, err := writeOutputSet(out, meta, ests, res.Counts, plot, table)
	if err != nil {
		return err
	}
	fmt.Fprintln(wr, "\nFCT slowdown percentiles per flow size:")
	infer.WriteTable(wr, ests, res.Counts)
	infer.WriteIntervals(wr, ests, res.Counts)
	held.WriteTable(wr, in.Desc.BusiestByCount.LoadByCount)
	fmt.Fprintf(wr, "\nwrote %s: %s\n", out.Final(), strings.Join(files, ", "))
	return nil
}

// writeOutputSet writes a run's output set into out and commits it as one
// unit: estimate.json and estimate.csv, the plots (by plot; nil when they
// are already there) and, with a per-flow table, flows.csv. It returns the
// files' names.
func writeOutputSet(out *atomicfile.Dir, meta map[string]any, ests []infer.Named, counts [aggregate.NumBuckets + 1]int,
	plot func() error, table *infer.FlowTable) ([]string, error) {
	files := []string{infer.FileEstimateJSON, infer.FileEstimateCSV, infer.FilePlotPNG, infer.FilePlotSVG}
	if err := infer.WriteJSON(out.Path(infer.FileEstimateJSON), meta, ests, counts); err != nil {
		return nil, err
	}
	if err := infer.WriteCSV(out.Path(infer.FileEstimateCSV), ests, counts); err != nil {
		return nil, err
	}
	if plot != nil {
		if err := plot(); err != nil {
			return nil, err
		}
	}
	if table != nil {
		if err := infer.WriteFlowsCSV(out.Path(infer.FileFlowsCSV), table); err != nil {
			return nil, err
		}
		files = append(files, infer.FileFlowsCSV)
	}
	return files, out.Commit()
}

// loadSpec reads a workload spec, or the embedded default for "".
func loadSpec(path string) (*workload.Spec, error) {
	if path == "" {
		return infer.DefaultSpec()
	}
	return workload.LoadSpec(path)
}
