package main

import (
	"fmt"
	"runtime"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/m4sim/m4/pipeline/atomicfile"
	"github.com/m4sim/m4/pipeline/cc"
	"github.com/m4sim/m4/pipeline/eval"
	"github.com/m4sim/m4/pipeline/features"
	"github.com/m4sim/m4/pipeline/model"
	"github.com/m4sim/m4/pipeline/truth"
	"github.com/m4sim/m4/pipeline/workload"
)

func evalCommand() *cli.Command {
	return &cli.Command{
		Name:      "eval",
		Usage:     "measure m4 and flowsim against packet-level ground truth on whole datacenter workloads",
		UsageText: "m4 eval [--spec FILE ... | --ns3 CONFIG ...] [--ckpt CKPT] [--paths N | --per-flow] [--flows N] [--out DIR]",
		Description: `For each workload (the --spec files, or without them a suite of 24 variations of the
embedded default: WebServer/Hadoop/CacheFollower sizes x 30%/60% load x DCTCP/DCQCN/HPCC/
TIMELY, on the 256-host fabric cluster), runs m4 (m4 run's pipeline) and m4's packet
simulator on the whole workload, and prints per workload the mean relative error of the
p50/p90/p99 slowdown over the flow-size buckets, and of the all-size p99, for m4 and for
flowsim alone. docs/accuracy.md records its output.

With --per-flow every path is estimated and each flow's estimate (m4 run --per-flow's)
is compared with its true slowdown: the mean of |estimated / true slowdown - 1| over
flows, for m4 and flowsim. --estimator dynamics puts m4's flow-level dynamics model
(the shipped one, or --ckpt from m4 train --estimator dynamics; docs/dynamics.md) in the m4 column: its
event loop estimates every flow, and its per-flow error is always measured. With --out DIR the results are also written into DIR
(replaced as one unit): eval.json (per workload its errors and, per size bucket and
quantile, the true and estimated slowdowns), eval.csv (those rows) and error_cdf.png and
.svg (the CDF over workloads and buckets of each estimator's |relative error| of the p50,
p90 and p99, as Parsimon's and m3's evaluations plot it). A workload that fails is reported
and skipped: the others are still scored and written (eval.json's run.failed lists the
failures), and m4 eval then exits with an error naming them.`,
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "spec", Usage: "workload spec `FILE` (repeatable; default: the built-in suite)"},
			&cli.StringSliceFlag{Name: "ns3", Usage: "an ns-3 fork run's config `FILE` (repeatable): its topology and flows, with FCT_OUTPUT_FILE as the truth"},
			&cli.StringFlag{Name: "ckpt", Usage: "model checkpoint `CKPT` (default: the shipped one for the workload's congestion control)"},
			&cli.IntFlag{Name: "paths", Value: 2000, Usage: "paths drawn per workload, stratified by output size bucket (0: every path)"},
			&cli.IntFlag{Name: "flows", Usage: "flows per suite workload (default: the default spec's)"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "seed of the path sample"},
			&cli.IntFlag{Name: "threads", Value: runtime.NumCPU(), Usage: "worker threads"},
			&cli.BoolFlag{Name: "per-flow", Usage: "estimate every path and measure each flow's error"},
			&cli.StringFlag{Name: "out", Usage: "also write eval.json and eval.csv into `DIR`"},
			estimatorFlag("estimator of the m4 column: path (the path model) or dynamics (the flow-level dynamics model's event loop over every flow; the shipped model or --ckpt from m4 train --estimator dynamics; the per-flow errors are always measured)"),
		},
		Action: func(c *cli.Context) error {
			var cases []eval.Case
			for _, f := range c.StringSlice("spec") {
				s, err := workload.LoadSpec(f)
				if err != nil {
					return err
				}
				cases = append(cases, eval.Case{Name: f, Spec: s})
			}
			for _, f := range c.StringSlice("ns3") {
				cases = append(cases, eval.Case{Name: f, NS3: f})
			}
			if len(cases) == 0 {
				var err error
				if cases, err = eval.DefaultSuite(c.Int("flows")); err != nil {
					return err
				}
			}
			paths := c.Int("paths")
			if c.Bool("per-flow") {
				if c.IsSet("paths") && paths != 0 {
					return fmt.Errorf("--per-flow estimates every path; leave out --paths %d", paths)
				}
				paths = 0
			}
			var out *atomicfile.Dir
			if c.String("out") != "" {
				var err error
				if out, err = atomicfile.NewDir(c.String("out"), eval.FileJSON, eval.FileCSV, eval.FileErrorPNG, eval.FileErrorSVG); err != nil {
					return err
				}
				defer out.Abort()
			}
			kind, err := checkEstimator(c)
			if err != nil {
				return err
			}
			var (
				est    *model.Estimator
				whole  eval.WholeEstimator
				wholeR func(*truth.Case, features.Config) []features.OutOfRange
				name   string
				estFor func(cc.CC) (*model.Estimator, error)
				names  = map[cc.CC]string{}
			)
			if kind == estimatorDynamics {
				if name, whole, wholeR, err = dynamicsEstimator(c); err != nil {
					return err
				}
			} else if c.String("ckpt") != "" {
				ck, ckName, err := loadCheckpoint(c.String("ckpt"))
				if err != nil {
					return err
				}
				name = ckName
				if est, err = pathEstimatorOf(c, ck, name); err != nil {
					return err
				}
				defer est.Close()
			} else {
				// the shipped checkpoint of each workload's algorithm
				made := map[cc.CC]*model.Estimator{}
				defer func() {
					for _, e := range made {
						e.Close()
					}
				}()
				estFor = func(alg cc.CC) (*model.Estimator, error) {
					if e := made[alg]; e != nil {
						return e, nil
					}
					ck, ckName, err := decodeCheckpointFor("", alg)
					if err != nil {
						return nil, err
					}
					e, err := pathEstimatorOf(c, ck, ckName)
					if err != nil {
						return nil, err
					}
					made[alg], names[alg] = e, ckName
					return e, nil
				}
			}
			// a workload that fails is reported and skipped: the others'
			// results are still printed and written, and the exit is an error
			var rs []*eval.CaseResult
			var failed []string
			for i, cs := range cases {
				r, err := eval.RunCaseWith(cs, est, eval.CaseOptions{Paths: paths, Seed: c.Uint64("seed"), Threads: c.Int("threads"),
					PerFlow: c.Bool("per-flow"), Whole: whole, WholeRanges: wholeR, For: estFor})
				if err == nil {
					if r.Checkpoint = name; estFor != nil {
						r.Checkpoint = names[cc.CC(r.CC)]
					}
					err = reportRanges(c, r.OutOfRange, r.Checkpoint, cs.Name)
				}
				if err != nil {
					fmt.Fprintf(c.App.ErrWriter, "[%d/%d] %s: failed: %v\n", i+1, len(cases), cs.Name, err)
					failed = append(failed, fmt.Sprintf("%s: %v", cs.Name, err))
					continue
				}
				fmt.Fprintf(c.App.ErrWriter, "[%d/%d] %s: m4 %.1f%%, flowsim %.1f%%\n", i+1, len(cases), cs.Name, 100*r.MeanErrM4, 100*r.MeanErrFlowsim)
				rs = append(rs, r)
			}
			failure := func() error {
				if len(failed) == 0 {
					return nil
				}
				return fmt.Errorf("eval: %d of %d workloads failed (the others' results are above):\n  %s", len(failed), len(cases), strings.Join(failed, "\n  "))
			}
			if len(rs) == 0 {
				return failure()
			}
			if estFor != nil {
				name = shippedNames(names)
			}
			wr := c.App.Writer
			if paths > 0 {
				fmt.Fprintf(wr, "checkpoint: %s; %d paths drawn per workload\n\n", name, paths)
			} else {
				fmt.Fprintf(wr, "checkpoint: %s; every path estimated\n\n", name)
			}
			eval.WriteScores(wr, rs)
			fmt.Fprintln(wr)
			eval.WriteSuiteTable(wr, rs)
			fmt.Fprintln(wr)
			eval.WriteBucketTable(wr, rs)
			if c.Bool("per-flow") || whole != nil {
				fmt.Fprintln(wr)
				eval.WritePerFlowTable(wr, rs)
			}
			if out != nil {
				meta := map[string]any{"checkpoint": name, "paths_drawn": paths, "seed": c.Uint64("seed"), "per_flow": c.Bool("per-flow")}
				if len(failed) > 0 {
					meta["failed"] = failed
				}
				if err := eval.WriteJSON(out.Path(eval.FileJSON), meta, rs); err != nil {
					return err
				}
				if err := eval.WriteCSV(out.Path(eval.FileCSV), rs); err != nil {
					return err
				}
				title := fmt.Sprintf("m4 and flowsim against the truth: %d workloads (checkpoint %s)", len(rs), name)
				for _, f := range []string{eval.FileErrorPNG, eval.FileErrorSVG} {
					if err := eval.PlotErrorCDF(out.Path(f), title, rs); err != nil {
						return err
					}
				}
				if err := out.Commit(); err != nil {
					return err
				}
				fmt.Fprintf(wr, "\nwrote %s: %s, %s, %s, %s\n", out.Final(), eval.FileJSON, eval.FileCSV, eval.FileErrorPNG, eval.FileErrorSVG)
			}
			return failure()
		},
	}
}

// pathEstimatorOf checks that ck fits this m4 and makes its path estimator
// (--gpu: the GPU when usable).
func pathEstimatorOf(c *cli.Context, ck *model.Checkpoint, name string) (*model.Estimator, error) {
	if err := featuresFit(ck, name); err != nil {
		return nil, err
	}
	if err := rangesKnown(c, ck, name); err != nil {
		return nil, err
	}
	return newPathEstimator(c, ck)
}

// shippedNames says which shipped checkpoints estimated which algorithms'
// workloads (names: per algorithm, decodeCheckpointFor's name).
func shippedNames(names map[cc.CC]string) string {
	var parts []string
	for _, alg := range cc.All() {
		if n, ok := names[alg]; ok {
			parts = append(parts, alg.Upper()+": "+n)
		}
	}
	return "the shipped checkpoint of each workload's congestion control (" + strings.Join(parts, "; ") + ")"
}
