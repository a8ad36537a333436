package main

import (
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/ckpts"
	"github.com/m4sim/m4/pipeline/aggregate"
	"github.com/m4sim/m4/pipeline/atomicfile"
	"github.com/m4sim/m4/pipeline/dynamics"
	"github.com/m4sim/m4/pipeline/eval"
	"github.com/m4sim/m4/pipeline/features"
	"github.com/m4sim/m4/pipeline/infer"
	"github.com/m4sim/m4/pipeline/truth"
)

// The estimators m4 train and m4 run know.
const (
	estimatorPath     = "path"     // m3's path model over flowsim's features (the default)
	estimatorDynamics = "dynamics" // m4's flow-level dynamics model (pipeline/dynamics)
)

func estimatorFlag(usage string) cli.Flag {
	return &cli.StringFlag{Name: "estimator", Value: estimatorPath, Usage: usage}
}

// checkEstimator returns the --estimator given.
func checkEstimator(c *cli.Context) (string, error) {
	switch e := c.String("estimator"); e {
	case estimatorPath, estimatorDynamics:
		return e, nil
	default:
		return "", fmt.Errorf("--estimator %q: want %s or %s", e, estimatorPath, estimatorDynamics)
	}
}

// dynamicsTrainFlags are the flags only --estimator dynamics reads.
func dynamicsTrainFlags() []cli.Flag {
	d := dynamics.Defaults()
	return []cli.Flag{
		&cli.IntFlag{Name: "state", Value: d.Config.Hidden, Usage: "dynamics: flow and link state width"},
		&cli.IntFlag{Name: "gnn-width", Value: d.Config.GNNWidth, Usage: "dynamics: width of the inner graph layers"},
		&cli.IntFlag{Name: "gnn-layers", Value: d.Config.GNNLayers, Usage: "dynamics: graph layers"},
		&cli.IntFlag{Name: "head-hidden", Value: d.Config.MLPHidden, Usage: "dynamics: hidden width of the output heads"},
		&cli.IntFlag{Name: "window", Value: d.Window, Usage: "dynamics: events per backpropagation window (truncated BPTT)"},
		&cli.IntFlag{Name: "replicas", Value: d.Replicas, Usage: "dynamics: data-parallel model copies, each on a trace of its own, one step on the mean of their windows' gradients (on n cores: --replicas n --threads 1)"},
		&cli.Float64Flag{Name: "every-weight", Value: float64(d.Config.WEvery), Usage: "dynamics: weight of the slowdown loss of every active flow after every event (the estimates the event loop schedules departures from; 0: only at departures, as the paper)"},
	}
}

// trainDynamics is m4 train --estimator dynamics: every dynamics.npz under
// the --data folders, a held-out share of them (--val-frac, --split-seed)
// for the event loop's FCT error, AdamW over windows of events.
func trainDynamics(c *cli.Context) error {
	out := c.String("out")
	if out == "" {
		return fmt.Errorf("train --estimator dynamics: --out CKPT is required")
	}
	if st, err := os.Stat(filepath.Dir(out)); err != nil || !st.IsDir() {
		return fmt.Errorf("train: --out %s: its folder does not exist", out)
	}
	if c.Bool("eval-only") || len(c.StringSlice("train-only")) > 0 {
		return fmt.Errorf("train --estimator dynamics: --eval-only and --train-only are the path estimator's")
	}
	o := dynamics.Defaults()
	set := func(name string, apply func()) {
		if c.IsSet(name) {
			apply()
		}
	}
	set("epochs", func() { o.Epochs = c.Int("epochs") })
	set("lr", func() { o.LR = c.Float64("lr") })
	set("weight-decay", func() { o.WeightDecay = c.Float64("weight-decay") })
	set("seed", func() { o.Seed = c.Uint64("seed") })
	set("state", func() { o.Config.Hidden = c.Int("state") })
	set("gnn-width", func() { o.Config.GNNWidth = c.Int("gnn-width") })
	set("gnn-layers", func() { o.Config.GNNLayers = c.Int("gnn-layers") })
	set("head-hidden", func() { o.Config.MLPHidden = c.Int("head-hidden") })
	set("window", func() { o.Window = c.Int("window") })
	set("replicas", func() { o.Replicas = c.Int("replicas") })
	// --flowsim-prior (shared with the path estimator): each flow's flowsim
	// slowdown is a feature and the estimate a learned correction of it
	o.Config.Prior = 0
	if c.Bool("flowsim-prior") {
		o.Config.Prior = 1
	}
	var initRanges *dynamics.Ranges // a fine-tune answers for its start's data too
	if c.IsSet("init") {            // fine-tune: the checkpoint's model and parameters
		for _, f := range []string{"state", "gnn-width", "gnn-layers", "head-hidden", "flowsim-prior"} {
			if c.IsSet(f) {
				return fmt.Errorf("train --estimator dynamics: --%s: a fine-tuning run keeps --init's model", f)
			}
		}
		name := c.String("init")
		if name == "default" {
			name = ""
		}
		name, ck, err := dynamicsCheckpoint(name)
		if err != nil {
			return fmt.Errorf("train --estimator dynamics: --init: %w", err)
		}
		o.Config, o.Init, o.InitName = ck.Config, ck.Params, name
		initRanges = ck.Training.Ranges
	}
	set("every-weight", func() { o.Config.WEvery = float32(c.Float64("every-weight")) }) // a loss weight: a fine-tune may change it
	paths, err := dynamics.TracePaths(c.StringSlice("data"))
	if err != nil {
		return err
	}
	traces, seen, err := dynamics.LoadTraces(paths, o.Config, c.Int("threads"))
	if err != nil {
		return err
	}
	// hold out round(val-frac x n) traces, at least one when there are two
	n := len(traces)
	nval := int(math.Round(c.Float64("val-frac") * float64(n)))
	if nval == 0 && n >= 2 && c.Float64("val-frac") > 0 {
		nval = 1
	}
	nval = min(nval, n-1)
	held := map[int]bool{}
	for _, i := range rand.New(rand.NewPCG(c.Uint64("split-seed"), 0)).Perm(n)[:nval] {
		held[i] = true
	}
	var tr, val []*bindings.DynTrace
	var names []string
	o.Ranges = &dynamics.Ranges{}
	o.Ranges.Merge(initRanges)
	for i, t := range traces {
		if held[i] {
			val = append(val, t)
		} else {
			tr, names = append(tr, t), append(names, paths[i])
			o.Ranges.Merge(seen[i])
		}
	}
	o.Threads, o.Out, o.Resume, o.Log, o.Context = c.Int("threads"), out, c.Bool("resume"), slog.Default(), c.Context
	o.Progress = c.App.ErrWriter
	o.Command, o.Data = "m4 "+strings.Join(os.Args[1:], " "), names
	fmt.Fprintf(c.App.Writer, "train --estimator dynamics: %d traces (%d train, %d held out), %d events\n",
		n, len(tr), len(val), countEvents(traces))
	ck, err := dynamics.Train(o, tr, val)
	if err != nil {
		return err
	}
	last := ck.Training.History[len(ck.Training.History)-1]
	heldOut := "" // named only when traces were held out (as each epoch's line)
	if len(val) > 0 {
		heldOut = fmt.Sprintf(", held-out FCT error %.4f", last.ValFCTError)
	}
	fmt.Fprintf(c.App.Writer, "train: %d epochs, %d steps; last loss %.4f (slowdown %.4f)%s -> %s, card %s\n",
		ck.Training.Epoch, ck.Training.Step, last.Loss, last.Slowdown, heldOut, out, dynamics.CardPath(out))
	return nil
}

func countEvents(ts []*bindings.DynTrace) int {
	n := 0
	for _, t := range ts {
		n += len(t.EvTimeNs)
	}
	return n
}

// runDynamics is m4 run --estimator dynamics: the model's event loop over
// the whole workload (every flow, its route as the packet simulator sends
// it), each flow's slowdown = estimated FCT / ideal FCT, mixed into
// percentiles per output size bucket under estimates.m4 as the path
// estimator's are.
func runDynamics(c *cli.Context, in *runInput) error {
	if c.IsSet("paths") {
		return fmt.Errorf("run --estimator dynamics estimates every flow of the workload: --paths is the path estimator's")
	}
	perFlow := c.Bool("per-flow")
	out, err := atomicfile.NewDir(c.String("out"), infer.OutputFiles...)
	if err != nil {
		return err
	}
	defer out.Abort()
	ckName, ck, err := loadDynamics(c)
	if err != nil {
		return err
	}
	sc, err := in.Sim()
	if err != nil {
		return err
	}
	if err := reportRanges(c, append(ck.OutOfRange(sc, in.CC), in.Untrained...), ckName, in.Name); err != nil {
		return err
	}
	wr := c.App.Writer
	in.Desc.WriteSummary(wr)
	// flowsim on every path: the model's prior, and flows.csv's flowsim column
	var fsRes *infer.Result
	var fsSeconds float64
	t0 := time.Now()
	if perFlow || ck.Config.Prior != 0 {
		if fsRes, err = infer.Run(in.W, in.CC, nil, infer.Options{Workers: c.Int("threads"), PerFlow: true, Lean: true}); err != nil {
			return fmt.Errorf("%s: flowsim: %w", in.Name, err)
		}
		fsSeconds = time.Since(t0).Seconds()
	}
	var flowsim []float64
	if fsRes != nil {
		flowsim = fsRes.PerFlow.Flowsim
	}
	w, fct, err := dynamicsFCTs(ck, sc, in.CC, flowsim, c.Int("threads"))
	if err != nil {
		return fmt.Errorf("%s: %w", in.Name, err)
	}
	elapsed := time.Since(t0)
	n := len(fct)
	fctNs, bucket, sl := make([]int64, n), make([]int, n), make([]float64, n)
	for i, f := range fct {
		fctNs[i] = int64(math.Round(f))
		sl[i] = math.Max(f/float64(w.FlowIdealNs[i]), 1)
		bucket[i] = features.OutputBucket(float64(w.FlowSize[i]))
	}
	dist, err := aggregate.FromSamples(bucket, sl)
	if err != nil {
		return err
	}
	ests := []infer.Named{{Name: infer.M4, Dist: dist}}
	meta := map[string]any{"input": in.Name, "workload": in.Desc, "checkpoint": ckName, "config": in.CC,
		"estimator": estimatorDynamics, "flows_estimated": n, "estimate_seconds": elapsed.Seconds()}
	if fsRes != nil {
		meta["flowsim_seconds"] = fsSeconds
	}
	for k, v := range in.Meta {
		meta[k] = v
	}
	how := "the event loop"
	if ck.Config.Prior != 0 {
		how += " from flowsim's prior"
	}
	fmt.Fprintf(wr, "dynamics: %d flows estimated by %s in %.2f s; checkpoint %s\n", n, how, elapsed.Seconds(), ckName)
	var table *infer.FlowTable
	if perFlow {
		// flowsim's per-flow column and rows: every path, no model
		ests = append(ests, infer.Named{Name: infer.Flowsim, Dist: fsRes.Flowsim})
		table = &infer.FlowTable{ID: in.IDs, Flows: &in.W.Flows, IdealNs: w.FlowIdealNs,
			PerFlow: &infer.PerFlow{Flowsim: fsRes.PerFlow.Flowsim, Model: sl}}
	}
	if c.Bool("truth") {
		t1 := time.Now()
		tr, err := in.Truth(truth.Options{MaxEvents: c.Uint64("max-events")})
		if err != nil {
			return err
		}
		meta["truth_seconds"] = time.Since(t1).Seconds()
		meta["truth_events"] = tr.Events
		ests = append([]infer.Named{{Name: infer.Truth, Dist: tr.Dist}}, ests...)
		e, err := eval.PerFlowError(fctNs, tr.FCTNs, tr.IdealNs)
		if err != nil {
			return err
		}
		errs := map[string]float64{infer.M4: e}
		line := fmt.Sprintf("%.1f%%", 100*e)
		if table != nil {
			table.TruthNs = tr.FCTNs
			fs := infer.FCTsOf(table.PerFlow.Flowsim, table.IdealNs)
			if errs[infer.Flowsim], err = eval.PerFlowError(fs, tr.FCTNs, tr.IdealNs); err != nil {
				return err
			}
			line = fmt.Sprintf("m4 %.1f%%, flowsim %.1f%%", 100*e, 100*errs[infer.Flowsim])
		}
		meta["per_flow_error"] = errs
		fmt.Fprintf(wr, "truth: %d flows simulated packet by packet in %.1f s; per-flow error (mean |estimated/true slowdown - 1|): %s\n",
			len(tr.FCTNs), time.Since(t1).Seconds(), line)
	}
	counts := infer.BucketCounts(w.FlowSize)
	plot := func() error {
		return infer.Plot(in.Desc.Title(), ests, out.Path(infer.FilePlotPNG), out.Path(infer.FilePlotSVG))
	}
	files, err := writeOutputSet(out, meta, ests, counts, plot, table)
	if err != nil {
		return err
	}
	fmt.Fprintln(wr, "\nFCT slowdown percentiles per flow size:")
	infer.WriteTable(wr, ests, counts)
	fmt.Fprintf(wr, "\nwrote %s: %s\n", out.Final(), strings.Join(files, ", "))
	return nil
}

// loadDynamics loads --ckpt as a dynamics checkpoint, or without it the
// shipped one, and returns its name (dynamicsCheckpoint); one that records
// no trained ranges is warned of (m4 --strict: refused).
func loadDynamics(c *cli.Context) (string, *dynamics.Checkpoint, error) {
	name, ck, err := dynamicsCheckpoint(c.String("ckpt"))
	if err == nil && !ck.HasRanges() {
		err = rangesUnknown(c, name)
	}
	return name, ck, err
}

// dynamicsCheckpoint loads the dynamics checkpoint at path, or for "" the
// shipped one (ckpts.Dynamics), and returns the name runs report for it.
func dynamicsCheckpoint(path string) (string, *dynamics.Checkpoint, error) {
	if path != "" {
		ck, err := dynamics.Load(path)
		return path, ck, err
	}
	ck, err := dynamics.Decode(ckpts.DynamicsName, ckpts.Dynamics)
	return "shipped " + ckpts.DynamicsName, ck, err
}

// dynamicsEstimator loads the dynamics checkpoint (loadDynamics) and
// returns its name and the whole-workload estimator m4 eval puts in its m4
// column.
func dynamicsEstimator(c *cli.Context) (string, eval.WholeEstimator, func(*truth.Case, features.Config) []features.OutOfRange, error) {
	name, ck, err := loadDynamics(c)
	if err != nil {
		return "", nil, nil, err
	}
	threads := c.Int("threads")
	return name, func(sc *truth.Case, cfg features.Config, flowsim []float64) ([]float64, error) {
		_, fct, err := dynamicsFCTs(ck, sc, cfg, flowsim, threads)
		return fct, err
	}, ck.OutOfRange, nil
}

// dynamicsFCTs runs ck's event loop over workload sc of configuration cfg,
// flowsim's slowdown of every flow (in sc's order) its prior where ck reads
// one; it returns the model's workload and each flow's FCT (ns).
func dynamicsFCTs(ck *dynamics.Checkpoint, sc *truth.Case, cfg features.Config, flowsim []float64, threads int) (*bindings.DynWorkload, []float64, error) {
	var prior []float32
	if ck.Config.Prior != 0 {
		if flowsim == nil {
			return nil, nil, fmt.Errorf("--estimator dynamics: the checkpoint reads flowsim's prior, and none was made")
		}
		prior = dynamics.Prior(flowsim)
	}
	w, err := dynamics.WorkloadOf(sc, cfg, ck.Config.NParams, prior)
	if err != nil {
		return nil, nil, err
	}
	fct, err := dynamics.Estimate(ck, w, threads)
	return w, fct, err
}
