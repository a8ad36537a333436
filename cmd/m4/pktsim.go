package main

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/m4sim/m4/pipeline/pktsim"
)

func pktsimCommand() *cli.Command {
	return &cli.Command{
		Name:  "pktsim",
		Usage: "packet-level simulation (the HPCC ns-3 fork's model, re-implemented): per-flow FCTs, or validation against ns-3",
		UsageText: "m4 pktsim --shard DIR [--hosts H] --out FCT.npy\n" +
			"   m4 pktsim --config CONFIG [--topology TOPO] [--flows FLOWS] --out fct.txt\n" +
			"   m4 pktsim --validate DIR [--workers N]",
		Description: `Simulates RDMA hosts and switches packet by packet, as the HPCC ns-3 fork (branch m3,
scratch/third) that produced m4's ground truth does: CC_MODE 1 DCQCN, 3 HPCC, 7 TIMELY,
8 DCTCP; shared-buffer switches with ECN (KMIN/KMAX/PMAX per link rate), PFC and ACK
priority; ECMP by flow hash. It follows the fork's event order and arithmetic, so it
reproduces the fork's FCTs to the nanosecond (docs/pktsim.md, docs/accuracy.md).

--shard DIR: a reference-layout folder (fat.npy, fsize.npy, fsd.npy, config_*.txt) on the
built-in parking-lot path topo-pl-H (H from "..._nhostsH_..." or --hosts); the config's
*_FILE keys are ignored. --out FILE.npy gets float64 FCTs in ns in the order of fsize.npy,
clamped below by the ideal FCT as the reference fct_*.npy are (--raw: unclamped); any
other --out gets the fork's fct.txt lines.

--config CONFIG: the fork's own run: an HPCC-fork config and the ns-3 topology and flow
files ("id src dst pg dport size start_s") its TOPOLOGY_FILE and FLOW_FILE name, resolved
beside the config; --topology and --flows replace them. --out fct.txt gets the fork's
fct.txt: "id sip dip sport dport size_B start_ns fct_ns ideal_ns" per flow in completion
order (the fork's file byte for byte); --out FILE.npy gets float64 FCTs in flow-file
order (clamped as above).

--validate DIR: runs every shard folder and every fork run folder (config.txt with the
files it names and the fork's FCT_OUTPUT_FILE, e.g. ns3-fabrics/fab1) in DIR or one or
two levels below it (e.g. the reference root) on a pool of workers. For shards it prints,
per CC mode and path length, how many scenarios have p50, p90 and p99 slowdown within
10% of ns-3's and Spearman >= 0.8, and how many FCTs are exactly ns-3's; for fork runs,
per run, the share of exact FCTs, the cells (p50/p90/p99 slowdown per size bucket and
overall) within --tolerance of ns-3's, the worst cell, and every cell.

Bad input (unknown config keys, malformed files, flows on switches or missing hosts,
unsupported CC modes) stops with a message naming the file, line and field; a run that
exceeds --max-events, --max-seconds or the config's SIMULATOR_STOP_TIME stops with a
budget error. Nothing is written unless the run succeeds.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "shard", Usage: "reference-layout scenario `DIR`"},
			&cli.IntFlag{Name: "hosts", Usage: "hosts `H` on the path (overrides the folder name)"},
			&cli.StringFlag{Name: "config", Usage: "HPCC-fork config `FILE` (config_*.txt format); its TOPOLOGY_FILE and FLOW_FILE are read beside it"},
			&cli.StringFlag{Name: "topology", Usage: "ns-3 topology `FILE` (instead of the config's TOPOLOGY_FILE)"},
			&cli.StringFlag{Name: "flows", Usage: "ns-3 flow `FILE` (instead of the config's FLOW_FILE)"},
			&cli.StringFlag{Name: "out", Usage: "output `FILE`: .npy (float64 FCT ns) or fct.txt text"},
			&cli.BoolFlag{Name: "raw", Usage: "write receiver FCTs as simulated, not clamped to the ideal"},
			&cli.StringFlag{Name: "ideal", Usage: "also write the ideal FCTs (float64 ns, .npy) to `FILE`"},
			&cli.StringFlag{Name: "pfc", Usage: "also write the PFC trace (the fork's pfc.txt lines) to `FILE`"},
			&cli.StringFlag{Name: "qlen", Usage: "also sample switch queues every 100 ns in [QLEN_MON_START, QLEN_MON_END] and write the histogram to `FILE`"},
			&cli.Uint64Flag{Name: "max-events", Usage: "stop with an error after `N` events (0: no limit)"},
			&cli.Float64Flag{Name: "max-seconds", Usage: "stop with an error after `S` seconds of wall time (0: no limit)"},
			&cli.StringFlag{Name: "export", Usage: "with --shard: also write the case as the fork's files (config.txt, topology.txt, flows.txt) into `DIR`"},
			&cli.StringFlag{Name: "validate", Usage: "compare every shard folder under `DIR` with its ns-3 FCTs"},
			&cli.IntFlag{Name: "workers", Usage: "parallel scenarios for --validate (0: one per CPU)"},
			&cli.Float64Flag{Name: "tolerance", Value: 0.02, Usage: "for --validate of fork runs: count cells within `REL` of ns-3's"},
		},
		Action: func(c *cli.Context) error {
			if dir := c.String("validate"); dir != "" {
				if c.String("shard") != "" || c.String("config") != "" || c.String("out") != "" {
					return fmt.Errorf("--validate takes no --shard, --config or --out")
				}
				return validatePktsim(c, dir)
			}
			if c.String("out") == "" {
				return fmt.Errorf("--out is required")
			}
			opt := pktsim.Options{MaxEvents: c.Uint64("max-events"), MaxWallSeconds: c.Float64("max-seconds"), QlenTrace: c.String("qlen") != ""}
			var (
				cfg   *pktsim.Config
				topo  *pktsim.NS3Topology
				flows *pktsim.NS3Flows
				err   error
			)
			shardMode := c.String("shard") != ""
			switch {
			case shardMode && (c.String("config") != "" || c.String("topology") != "" || c.String("flows") != ""):
				return fmt.Errorf("give --shard, or --config (with --topology, --flows), not both")
			case !shardMode && c.String("export") != "":
				return fmt.Errorf("--export goes with --shard")
			case shardMode:
				sh, err := pktsim.LoadShard(c.String("shard"), c.Int("hosts"))
				if err != nil {
					return err
				}
				cfg, topo, flows = sh.Config, sh.Topology, sh.Flows
				if d := c.String("export"); d != "" {
					if err := pktsim.ExportFiles(d, cfg, topo, flows); err != nil {
						return err
					}
				}
			case c.String("config") != "":
				run, err := pktsim.LoadForkRun(c.String("config"), c.String("topology"), c.String("flows"))
				if err != nil {
					return err
				}
				cfg, topo, flows = run.Config, run.Topology, run.Flows
			default:
				return fmt.Errorf("give --shard DIR or --config CONFIG")
			}
			if _, err := cfg.Native(); err != nil {
				name := c.String("config")
				if shardMode {
					name = c.String("shard")
				}
				return fmt.Errorf("%s: %w", name, err)
			}
			start := time.Now()
			res, err := pktsim.SimulateWith(cfg, topo, flows, opt)
			if err != nil {
				return err
			}
			el := time.Since(start)
			slog.Info("pktsim done", "cc", pktsim.CCName(cfg.CCMode), "flows", flows.Len(), "events", res.Stats.Events,
				"seconds", el.Seconds(), "flows_per_s", float64(flows.Len())/el.Seconds(),
				"events_per_s", float64(res.Stats.Events)/el.Seconds(), "ecn_marks", res.Stats.ECNMarks,
				"pfc_pauses", res.Stats.PFCPauses, "drops", res.Stats.Drops)
			out := c.String("out")
			if strings.EqualFold(filepath.Ext(out), ".npy") {
				v := res.FCTClamped()
				if c.Bool("raw") {
					for i, f := range res.FCTNs {
						v[i] = float64(f)
					}
				}
				err = pktsim.WriteNpy(out, v)
			} else {
				err = pktsim.WriteFCTText(out, flows, res)
			}
			if err != nil {
				return err
			}
			if p := c.String("ideal"); p != "" {
				v := make([]float64, len(res.IdealNs))
				for i, x := range res.IdealNs {
					v[i] = float64(x)
				}
				if err := pktsim.WriteNpy(p, v); err != nil {
					return err
				}
			}
			if p := c.String("pfc"); p != "" {
				if err := pktsim.WritePFCText(p, res); err != nil {
					return err
				}
			}
			if p := c.String("qlen"); p != "" {
				if err := pktsim.WriteQlenText(p, res); err != nil {
					return err
				}
			}
			fmt.Fprintf(c.App.Writer, "pktsim: %s, %d flows on %s: %d events in %.3f s -> %s\n",
				pktsim.CCName(cfg.CCMode), flows.Len(), topo.Name, res.Stats.Events, el.Seconds(), out)
			return nil
		},
	}
}

func validatePktsim(c *cli.Context, dir string) error {
	shards, err := pktsim.FindShards(dir)
	if err != nil {
		shards = nil
	}
	runs, rerr := pktsim.FindRuns(dir)
	if rerr != nil {
		return rerr
	}
	if len(shards) == 0 && len(runs) == 0 {
		return fmt.Errorf("%s: no shard folders (fat.npy and config_*.txt) or fork runs (%s) in it or below it", dir, pktsim.ForkRunConfig)
	}
	opt := pktsim.Options{MaxEvents: c.Uint64("max-events"), MaxWallSeconds: c.Float64("max-seconds")}
	w := c.App.Writer
	var failed []error
	if len(shards) > 0 {
		start := time.Now()
		reps := pktsim.ValidateShards(shards, c.Int("workers"), opt, func(done, total int, r *pktsim.ShardReport) {
			slog.Debug("validated", "shard", r.Dir, "done", done, "of", total, "exact", r.Exact, "flows", r.Flows, "err", r.Err)
		})
		fmt.Fprintf(w, "pktsim vs ns-3: %d scenarios under %s (%.1f s, %d workers)\n\n", len(reps), dir, time.Since(start).Seconds(), workersOf(c))
		pktsim.WriteTable(w, reps)
		for _, r := range reps {
			if r.Err != nil {
				failed = append(failed, r.Err)
			}
		}
	}
	if len(runs) > 0 {
		if len(shards) > 0 {
			fmt.Fprintln(w)
		}
		start := time.Now()
		reps := pktsim.ValidateRuns(runs, c.Int("workers"), opt, func(done, total int, r *pktsim.RunReport) {
			slog.Debug("validated", "run", r.Dir, "done", done, "of", total, "exact", r.Exact, "flows", r.Flows, "err", r.Err)
		})
		fmt.Fprintf(w, "pktsim vs ns-3: %d fork runs under %s (%.1f s, %d workers)\n\n", len(reps), dir, time.Since(start).Seconds(), workersOf(c))
		pktsim.WriteRunTable(w, reps, c.Float64("tolerance"))
		for _, r := range reps {
			if r.Err != nil {
				failed = append(failed, r.Err)
			}
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d cases failed: %w", len(failed), len(shards)+len(runs), errors.Join(failed...))
	}
	return nil
}

func workersOf(c *cli.Context) int {
	if n := c.Int("workers"); n > 0 {
		return n
	}
	return runtime.NumCPU()
}
