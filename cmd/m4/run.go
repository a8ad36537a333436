package main

import (
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v2"

	"github.com/m4sim/m4/pipeline/eval"
	"github.com/m4sim/m4/pipeline/infer"
	"github.com/m4sim/m4/pipeline/workload"
)

func runCommand() *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "estimate a datacenter workload's FCT slowdown distribution (workload -> paths -> flowsim -> model -> network-wide)",
		UsageText: "m4 run [--spec FILE] [--ckpt CKPT] [--paths N] [--truth] [--out DIR]",
		Description: `Generates the workload of a spec (m4 workload's YAML/JSON; without --spec the embedded
default: a 256-host fabric cluster, WebServer sizes, 50% load, DCTCP), splits it into
path-level scenarios, draws --paths of them weighted by their flows (as m3 does; 0 = all),
runs flowsim and builds the feature map of each, corrects them with the model, and mixes
the per-path estimates into network-wide FCT slowdown percentiles per flow-size bucket.

With --truth it also runs m4's packet-level simulator on the whole workload (the ground
truth m4 learns from) and prints each estimator's error against it.

Prints a table of p50/p90/p99 per bucket and writes DIR/estimate.json (percentiles
1..100 per bucket and estimator) and DIR/slowdown_cdf.png and .svg.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "spec", Usage: "workload spec `FILE` (default: the embedded scenario)"},
			&cli.StringFlag{Name: "ckpt", Usage: "model checkpoint `CKPT` (default: the shipped one)"},
			&cli.IntFlag{Name: "paths", Value: 500, Usage: "paths to draw, weighted by flows (0: every path)"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "seed of the path sample"},
			&cli.BoolFlag{Name: "truth", Usage: "also simulate the whole workload packet by packet and report errors"},
			&cli.Uint64Flag{Name: "max-events", Usage: "event budget of the --truth run (0: the simulator's default)"},
			&cli.StringFlag{Name: "out", Value: "m4-out", Usage: "output `DIR`"},
			&cli.IntFlag{Name: "threads", Value: runtime.NumCPU(), Usage: "worker threads"},
			maxFlowsFlag(),
		},
		Action: func(c *cli.Context) error {
			spec, err := loadSpec(c.String("spec"))
			if err != nil {
				return err
			}
			cfg, err := infer.ConfigOf(spec.CC)
			if err != nil {
				return fmt.Errorf("%s: cc: %w", spec.File, err)
			}
			ck, ckName, err := loadCheckpoint(c.String("ckpt"))
			if err != nil {
				return err
			}
			if err := featuresFit(ck, ckName); err != nil {
				return err
			}
			est, err := newEstimator(c, ck, 64, c.Int("threads")) // --gpu: the GPU when usable
			if err != nil {
				return err
			}
			defer est.Close()

			start := time.Now()
			w, err := generateWorkload(c, spec)
			if err != nil {
				return err
			}
			slog.Info("workload", "flows", w.Flows.Len(), "hosts", len(w.Topo.Hosts()), "seconds", time.Since(start).Seconds())
			bar := progressbar.NewOptions(-1, progressbar.OptionSetWriter(c.App.ErrWriter),
				progressbar.OptionSetDescription("paths"), progressbar.OptionShowCount(),
				progressbar.OptionSetVisibility(c.Bool("verbose")))
			t0 := time.Now()
			res, err := infer.Run(w, cfg, est, infer.Options{Paths: c.Int("paths"), Seed: c.Uint64("seed"),
				Workers: c.Int("threads"), Progress: func(done, total int) {
					bar.ChangeMax(total)
					bar.Set(done)
				}})
			bar.Finish()
			if err != nil {
				return err
			}
			elapsed := time.Since(t0)
			if n, worst := infer.Departures(res.Paths, infer.DepartureFactor); n > 0 {
				fmt.Fprintf(c.App.ErrWriter, "m4 run: warning: on %d of %d paths the model departs from flowsim by more than %gx (up to %.3gx): it extrapolates there, or the checkpoint does not fit this workload\n",
					n, len(res.Paths), float64(infer.DepartureFactor), worst)
			}
			ests := []infer.Named{{Name: "m4", Dist: res.Model}, {Name: "flowsim", Dist: res.Flowsim}}
			meta := map[string]any{"spec": spec, "checkpoint": ckName, "flows": res.Flows,
				"paths_total": res.PathsTotal, "paths_estimated": len(res.Paths), "paths_drawn": c.Int("paths"),
				"seed": c.Uint64("seed"), "estimate_seconds": elapsed.Seconds()}
			if c.Bool("truth") {
				t1 := time.Now()
				tr, err := eval.GroundTruth(w, cfg, c.Uint64("max-events"))
				if err != nil {
					return err
				}
				meta["truth_seconds"] = time.Since(t1).Seconds()
				meta["truth_events"] = tr.Events
				ests = append([]infer.Named{{Name: "truth", Dist: tr.Dist}}, ests...)
			}
			out := c.String("out")
			if err := os.MkdirAll(out, 0o755); err != nil {
				return err
			}
			jsonPath, pngPath, svgPath := infer.Files(out)
			if err := infer.WriteJSON(jsonPath, meta, ests); err != nil {
				return err
			}
			title := fmt.Sprintf("%s: %d flows, %d of %d paths", spec.File, res.Flows, len(res.Paths), res.PathsTotal)
			for _, p := range []string{pngPath, svgPath} {
				if err := infer.Plot(p, title, ests); err != nil {
					return err
				}
			}
			wr := c.App.Writer
			fmt.Fprintf(wr, "m4 run: %s: %d flows on %d hosts, %d paths (%d estimated) in %.2f s; checkpoint %s\n\n",
				spec.File, res.Flows, len(w.Topo.Hosts()), res.PathsTotal, len(res.Paths), elapsed.Seconds(), ckName)
			fmt.Fprintln(wr, "FCT slowdown percentiles per flow size:")
			infer.WriteTable(wr, ests)
			fmt.Fprintf(wr, "\nwrote %s, %s, %s\n", jsonPath, pngPath, svgPath)
			return nil
		},
	}
}

// loadSpec reads a workload spec, or the embedded default for "".
func loadSpec(path string) (*workload.Spec, error) {
	if path == "" {
		return infer.DefaultSpec()
	}
	return workload.LoadSpec(path)
}
