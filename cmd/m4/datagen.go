package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"
	"go.yaml.in/yaml/v3"

	"github.com/m4sim/m4/pipeline/datagen"
	"github.com/m4sim/m4/pipeline/netdata"
)

func datagenCommand() *cli.Command {
	return &cli.Command{
		Name:      "datagen",
		Usage:     "make training scenarios: sample path scenarios from a spec, simulate them, write the reference layout",
		UsageText: "m4 datagen --spec FILE --out DIR [--shard i/N] [--workers K]\n   m4 datagen --from-workload --spec FILE --out DIR [--shard i/N] [--workers K]\n   m4 datagen --dynamics --spec FILE --out DIR [--shard i/N] [--workers K]\n   m4 datagen [--from-workload] --example-spec   (print the default spec as YAML)",
		Description: `Samples parking-lot path scenarios as m3's data generator (the HPCC ns-3 fork's
traffic_gen_synthetic.py and run_m3.py) does: per traffic draw S and path length H, a random
set of host pairs including (0, H-1), one flow-size distribution (exp, gaussian, lognorm,
pareto, or an empirical CDF) with its sigma, lognormal inter-arrivals with a burstiness
sigma, a load scaled to a bottleneck target; then a congestion-control configuration (CC,
buffer, window, PFC, the CC's parameters). Runs flowsim and the packet-level simulator on
each, and writes one folder per scenario, shard{S}_nflows{F}_nhosts{H}_lr{G}Gbps, with every
file of the reference layout: fat/fsize/fsd.npy, fid/fct/fct_i_topo-pl-H_s0.npy,
fct_flowsim.npy, feat_topo-pl-H_s0.npz, param_topo-pl-H_s0.txt/.npy,
config_topo-pl-H_flows_s0.txt (the ns-3 config), pdrop_topo-pl-H_s0.txt (the simulator's
log), stats.npy (the fork's pickled dict) and stats.json.

The spec is YAML or JSON; fields left out take m3's values (see --example-spec); unknown
fields and invalid values are errors that name the field.

Resuming: a scenario is finished when its folder exists; it is built under a
".partial-NAME-*" folder and renamed into place only when complete, so an interrupted run
leaves nothing half-written that a rerun would trust. Run the same command again to
resume. The spec and ground truth are recorded in DIR/datagen-spec.json; another spec
into the same DIR is refused, except for more draws (shards) or path lengths (hosts),
which extend the data set.

Clusters: --shard i/N makes the scenarios whose index is i mod N. Without --shard, the
split comes from Slurm (SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN of
SLURM_ARRAY_TASK_COUNT) or a Kubernetes Indexed Job (JOB_COMPLETION_INDEX of --shard-count
or M4_SHARD_COUNT). See docs/datagen.md.

A scenario that fails (an error, a Go panic, or a simulation past --budget-seconds) is
reported with its name and seed and the others go on; the command then exits non-zero,
and a rerun retries just the failed ones.

--from-workload makes paths as m4 run sees them instead (pipeline/netdata): per workload
draw W of the spec (another format: --from-workload --example-spec), a whole datacenter
workload (topology, flow sizes, arrivals, traffic matrix, load and CC configuration drawn
from the spec's ranges, with a seed of its own), simulated packet by packet on its whole
topology; its paths (m4 run's decomposition) drawn in proportion to their flows, each
distinct one written as shard{W}_path{P}_nflows{F}_nhosts{H}_lr10Gbps in the reference
layout: the parking lot's flows, flowsim's FCTs, the configuration, the whole-network
ns-3 config, and as ground truth (fid/fct/fct_i) the FCTs of the path's own flows, with
path.json and flow_ids.npy saying where it came from. DIR/workloads/wl{W}.json marks a
finished workload (a rerun resumes); --shard splits the workloads. m4 train reads these
folders (--train-only) and trains them with its quantile loss.

--dynamics makes the training data of the flow-level dynamics model from the same workload
family (the spec as for --from-workload): each workload's folder DIR/wl{W} gets, beside
workload.json and truth.npz, dynamics.npz: every flow's size, start, FCT, ideal FCT and
route over the directed links, the link table, and at every flow arrival and departure
the active flows' remaining bytes and the switch queues (pipeline/dyntrace; the format is
in docs/datagen.md). It resumes like --from-workload; a folder of dynamics data refuses
runs without --dynamics, and the other way round.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "spec", Usage: "spec `FILE` (.yaml, .yml or .json)"},
			&cli.StringFlag{Name: "out", Usage: "output `DIR` (one folder per scenario)"},
			&cli.StringFlag{Name: "shard", Usage: "make task `i/N` of a split (else from Slurm or Kubernetes env)"},
			&cli.IntFlag{Name: "shard-count", Usage: "tasks `N` of a Kubernetes Indexed Job (its completions)", EnvVars: []string{"M4_SHARD_COUNT"}},
			&cli.IntFlag{Name: "workers", Usage: "scenarios made at once (`K`, default: every core)"},
			&cli.StringSliceFlag{Name: "only", Usage: "make only scenario `NAME` (repeatable)"},
			&cli.StringFlag{Name: "truth", Usage: "ground truth: `pktsim` (m4's packet-level simulator) or none (scenarios to estimate: no fid/fct/fct_i/pdrop, feature maps without a target)", Value: "pktsim"},
			&cli.Float64Flag{Name: "budget-seconds", Usage: "fail a scenario whose packet-level simulation runs longer than `S` seconds (0: no limit)", Value: 600},
			&cli.BoolFlag{Name: "no-progress", Usage: "no progress bar"},
			&cli.BoolFlag{Name: "example-spec", Usage: "print the default spec (m3's; with --from-workload, the workload family's) as YAML and exit"},
			&cli.BoolFlag{Name: "from-workload", Usage: "make paths cut from whole datacenter workloads simulated packet by packet (the spec is a workload family)"},
			&cli.BoolFlag{Name: "dynamics", Usage: "make whole workloads with their dynamics trace (dynamics.npz), the flow-level dynamics model's data (the spec is a workload family)"},
			&cli.Uint64Flag{Name: "max-events", Usage: "with --from-workload or --dynamics: fail a workload whose packet-level run takes more than `N` events (0: no limit)"},
		},
		Action: func(c *cli.Context) error {
			if c.Bool("from-workload") || c.Bool("dynamics") {
				return datagenFromWorkload(c)
			}
			if c.Bool("example-spec") {
				return writeYAML(c.App.Writer, datagen.DefaultSpec())
			}
			if c.String("spec") == "" || c.String("out") == "" {
				return fmt.Errorf("give --spec FILE and --out DIR (or --example-spec)")
			}
			spec, err := datagen.LoadSpec(c.String("spec"))
			if err != nil {
				return err
			}
			task, err := datagenTask(c)
			if err != nil {
				return err
			}
			sim, err := groundTruth(c.String("truth"), c.Float64("budget-seconds"))
			if err != nil {
				return err
			}
			o := datagen.Options{Out: c.String("out"), Task: task, Workers: c.Int("workers"), Sim: sim,
				Only: c.StringSlice("only"), Log: slog.Default()}
			if !c.Bool("no-progress") {
				o.Progress = c.App.ErrWriter
			}
			ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
			defer stop()
			r, err := datagen.Run(ctx, spec, o)
			if r != nil {
				w := c.App.Writer
				fmt.Fprintf(w, "datagen: task %s (%s): %d of %d scenarios are this task's: %d made, %d finished before, %d failed -> %s\n",
					r.Task, r.Task.Source, r.Mine, r.Total, r.Done, r.Skipped, len(r.Failed), o.Out)
				if r.Done > 0 {
					fmt.Fprintf(w, "datagen: %d flows in %.1f s on %d workers: %.0f shards per core-hour (%.0f%% of the busy time in the packet simulator)\n",
						r.FlowsMade, r.Elapsed.Seconds(), r.Workers, r.ShardsPerCoreHour(), 100*r.SimTime.Seconds()/max(r.BusyTime.Seconds(), 1e-9))
				}
				return datagenOutcome(c, r.Failed, "scenario", err)
			}
			return err
		},
	}
}

// datagenFromWorkload is m4 datagen --from-workload and --dynamics
// (pipeline/netdata; --dynamics adds each workload's dynamics trace).
func datagenFromWorkload(c *cli.Context) error {
	mode := "--from-workload"
	if c.Bool("dynamics") {
		mode = "--dynamics"
	}
	if c.Bool("example-spec") {
		return writeYAML(c.App.Writer, netdata.ExampleSpec())
	}
	if c.String("spec") == "" || c.String("out") == "" {
		return fmt.Errorf("give --spec FILE and --out DIR (or --example-spec)")
	}
	if c.Bool("from-workload") && c.Bool("dynamics") {
		return fmt.Errorf("--from-workload and --dynamics: give one (--dynamics makes the same workloads, with their trace)")
	}
	if c.String("truth") != "pktsim" || c.IsSet("only") {
		return fmt.Errorf("%s: the ground truth is always pktsim on the whole workload, and --only names datagen's scenarios", mode)
	}
	spec, err := netdata.LoadSpec(c.String("spec"))
	if err != nil {
		return err
	}
	task, err := datagenTask(c)
	if err != nil {
		return err
	}
	o := netdata.Options{Out: c.String("out"), Task: task, Workers: c.Int("workers"), MaxEvents: c.Uint64("max-events"),
		Dynamics: c.Bool("dynamics"), Log: slog.Default()}
	if !c.Bool("no-progress") {
		o.Progress = c.App.ErrWriter
	}
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	r, err := netdata.Run(ctx, spec, o)
	if r != nil {
		fmt.Fprintf(c.App.Writer, "datagen %s: task %s (%s): %d of %d workloads are this task's: %d made (%d unusable: flows left unfinished by drops without PFC), %d finished before, %d failed -> %s\n",
			mode, r.Task, r.Task.Source, r.Mine, r.Total, r.Done, r.Unusable, r.Skipped, len(r.Failed), o.Out)
		if r.Done > 0 {
			fmt.Fprintf(c.App.Writer, "datagen %s: %d workloads of %d flows in all, in %.1f s (%.0f%% of the busy time in the packet simulator)\n",
				mode, r.Done, r.Flows, r.Elapsed.Seconds(), 100*r.TruthT.Seconds()/max(r.Busy.Seconds(), 1e-9))
		}
		return datagenOutcome(c, r.Failed, "workload", err)
	}
	return err
}

// datagenOutcome lists the failures (each names its seed) and makes them
// the command's error unless err, the run's own, comes first.
func datagenOutcome[F any](c *cli.Context, failed []F, what string, err error) error {
	for _, f := range failed {
		fmt.Fprintf(c.App.ErrWriter, "datagen: FAILED %v\n", f)
	}
	if err != nil {
		return err
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d %s(s) failed (listed above with their seeds); run the same command again to retry them", len(failed), what)
	}
	return nil
}

// writeYAML writes v as YAML (--example-spec).
func writeYAML(w io.Writer, v any) error {
	b, err := yaml.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// datagenTask is this process's part of the work: --shard i/N, else the
// array-job environment (Slurm, Kubernetes, M4_SHARD_*), else all of it.
func datagenTask(c *cli.Context) (datagen.Task, error) {
	if s := c.String("shard"); s != "" {
		return datagen.ParseTask(s)
	}
	return datagen.TaskFromEnv(os.Getenv, c.Int("shard-count"))
}

// groundTruth returns the packet-level simulator datagen runs, by name.
func groundTruth(name string, budgetSeconds float64) (datagen.Simulator, error) {
	if budgetSeconds < 0 {
		return nil, fmt.Errorf("--budget-seconds %v: want >= 0", budgetSeconds)
	}
	switch name {
	case "none":
		return nil, nil
	case "pktsim":
		return datagen.Pktsim{MaxWallSeconds: budgetSeconds}, nil
	}
	return nil, fmt.Errorf("--truth %q: want pktsim or none", name)
}
