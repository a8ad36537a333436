package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/m4sim/m4/pipeline/atomicfile"
	"github.com/m4sim/m4/pipeline/cc"
	"github.com/m4sim/m4/pipeline/dataset"
	"github.com/m4sim/m4/pipeline/eval"
	"github.com/m4sim/m4/pipeline/features"
	"github.com/m4sim/m4/pipeline/model"
	"github.com/m4sim/m4/pipeline/train"
)

func ckptCommand() *cli.Command {
	return &cli.Command{
		Name:  "ckpt",
		Usage: "inspect, convert, import and export model checkpoints",
		Description: `m4's checkpoints are versioned safetensors files (docs/checkpoint.md): every tensor named
as in m3's PyTorch state dict, with the model config, the feature definition and the
training record in the metadata. These subcommands move models between m4's format,
float16 storage, and m3's exported C checkpoints (model_llama.bin + model_mlp.bin, the
files m3's clibs/run.c reads).`,
		Subcommands: []*cli.Command{
			{
				Name:      "info",
				Usage:     "print a checkpoint's config, features, training record and size",
				UsageText: "m4 ckpt info [CKPT | --cc ALG | --lots]   (no CKPT: the checkpoint shipped with m4, the one m4 run uses for ALG's workloads, or m4 predict's parking-lot checkpoint)",
				ArgsUsage: "[CKPT]",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "cc", Usage: "without CKPT: the shipped checkpoint for workloads of this congestion control (" + strings.Join(cc.Names(), ", ") + ")"},
					&cli.BoolFlag{Name: "lots", Usage: "without CKPT: the shipped parking-lot checkpoint (m4 predict's)"},
				},
				Action: func(c *cli.Context) error {
					var alg cc.CC
					if name := c.String("cc"); name != "" {
						var err error
						if alg, err = cc.Parse(name); err != nil {
							return fmt.Errorf("--cc: %w", err)
						}
						if c.Args().Present() {
							return fmt.Errorf("ckpt info: --cc names a shipped checkpoint, CKPT a file: give one of them")
						}
					}
					if c.Bool("lots") && (alg != "" || c.Args().Present()) {
						return fmt.Errorf("ckpt info: --lots names a shipped checkpoint: give it alone")
					}
					var ck *model.Checkpoint
					var name string
					var err error
					if c.Bool("lots") {
						ck, name, err = loadLotsCheckpoint("")
					} else {
						ck, name, err = loadCheckpointFor(c.Args().First(), alg)
					}
					if err != nil {
						return err
					}
					ts, err := model.Tensors(ck.Config)
					if err != nil {
						return fmt.Errorf("%s: %w", name, err)
					}
					w := c.App.Writer
					fmt.Fprintf(w, "%s: %d parameters in %d tensors\n", name, len(ck.Params), len(ts))
					for _, v := range []struct {
						k string
						v any
					}{{"config", ck.Config}, {"features", ck.Features}, {"training", ck.Training}} {
						b, _ := json.MarshalIndent(v.v, "", "  ")
						fmt.Fprintf(w, "%s: %s\n", v.k, b)
					}
					if ck.Optim != nil {
						fmt.Fprintln(w, "optimizer state: AdamW moments (a resume checkpoint)")
					}
					return nil
				},
			},
			{
				Name:      "convert",
				Usage:     "rewrite a checkpoint, e.g. with float16 parameters (half the size)",
				UsageText: "m4 ckpt convert --in CKPT --out CKPT [--dtype F16|F32] [--keep-optimizer]",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "in", Required: true, Usage: "input checkpoint"},
					&cli.StringFlag{Name: "out", Required: true, Usage: "output checkpoint"},
					&cli.StringFlag{Name: "dtype", Value: "F16", Usage: "parameter storage: F16 or F32"},
					&cli.BoolFlag{Name: "keep-optimizer", Usage: "keep AdamW state (dropped by default: inference needs none)"},
					&cli.BoolFlag{Name: "average", Usage: "from a resume file (CKPT.resume) of a run with --ema: its last epoch's parameter average, the model that epoch validated, with the record saying so (its raw parameters otherwise)"},
				},
				Action: func(c *cli.Context) error {
					ck, err := model.Load(c.String("in"))
					if err != nil {
						return err
					}
					warnUnverified(ck, c.String("in"))
					if c.Bool("average") {
						if c.Bool("keep-optimizer") {
							return fmt.Errorf("--average with --keep-optimizer: a resume file without its parameter average cannot resume")
						}
						if err := lastAverage(ck); err != nil {
							return fmt.Errorf("--average: %s: %w", c.String("in"), err)
						}
					}
					if !c.Bool("keep-optimizer") {
						ck.Optim = nil
					}
					dt := model.Dtype(strings.ToUpper(c.String("dtype")))
					if err := model.Save(c.String("out"), ck, dt); err != nil {
						return err
					}
					fmt.Fprintf(c.App.Writer, "ckpt: %s -> %s (%s)\n", c.String("in"), c.String("out"), dt)
					return nil
				},
			},
			{
				Name:      "calibrate",
				Usage:     "measure and store output calibration levels on held-out data",
				UsageText: "m4 ckpt calibrate [--ckpt CKPT] --data DIR [--data DIR...] --out CKPT [--paths-per-workload N]",
				Description: `Estimates every path of the --data folders (m4 train's layout: shard folders or
m4 datagen --from-workload output, paths cut as m4 train cuts them) with the checkpoint,
without any calibration it has, and measures where each path's true slowdowns fall on
its estimated percentile curve. A model whose curves sit too high (or too low, or too
narrow) puts too many (too few) true values below its percentiles; the levels written
into --out re-read each curve so that its percentile k has (k+1/2)% of true values below
it on this data (train.Calibrate). m4 run, eval, predict and libm4's m4_estimate_path then
report the re-read curves. Use data the checkpoint never trained on: fresh draws of its
training specs (m4 datagen --shard), not its --data folders. The training record gains
"calibration": the folders, the counts and the shares before. --taper-from and --taper-to
leave the upper tail as the model reads it: percentiles up to level --taper-from are
re-read fully, those from --taper-to on not at all, and between them a share falling
linearly (train.Taper).`,
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "ckpt", Usage: "checkpoint `CKPT` to calibrate (default: the shipped one)"},
					&cli.StringSliceFlag{Name: "data", Required: true, Usage: "folder `DIR` of held-out scenarios with truth (repeatable)"},
					&cli.StringFlag{Name: "out", Required: true, Usage: "calibrated checkpoint `CKPT` to write"},
					&cli.IntFlag{Name: "paths-per-workload", Value: 150, Usage: "paths cut from each whole-workload folder (0: every path)"},
					&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "seed of the paths cut from workloads"},
					&cli.IntFlag{Name: "min-rows", Value: 500, Usage: "fewest paths with flows in an output bucket to calibrate it (else it is left as it is)"},
					&cli.StringFlag{Name: "dtype", Value: "F16", Usage: "parameter storage of --out: F16 or F32"},
					&cli.IntFlag{Name: "threads", Value: 2, Usage: "kernel threads"},
					&cli.Float64Flag{Name: "taper-from", Value: 1, Usage: "calibrate percentiles up to level `Q` fully; above it a share falling linearly to none at --taper-to"},
					&cli.Float64Flag{Name: "taper-to", Value: 1, Usage: "leave percentiles from level `Q` on as the model reads them"},
				},
				Action: func(c *cli.Context) error {
					taper := train.Taper{From: c.Float64("taper-from"), To: c.Float64("taper-to")}
					if err := taper.Check(); err != nil {
						return err
					}
					ck, name, err := loadCheckpoint(c.String("ckpt"))
					if err != nil {
						return err
					}
					if ck.Training == nil {
						return fmt.Errorf("calibrate: %s has no training record to note the calibration in", name)
					}
					var ranges features.Ranges
					wo := dataset.WorkloadOptions{Paths: c.Int("paths-per-workload"), Seed: c.Uint64("seed")}
					samples, err := loadTrainingData(c.StringSlice("data"), wo, ck.Features.Name, &ranges)
					if err != nil {
						return err
					}
					if len(samples) == 0 {
						return fmt.Errorf("calibrate: no scenarios under %s", strings.Join(c.StringSlice("data"), ", "))
					}
					levels, info, err := train.Calibrate(ck, samples, c.Int("threads"), c.Int("min-rows"), taper)
					if err != nil {
						return err
					}
					info.Data = c.StringSlice("data")
					ck.Calibration, ck.Training.Calibration, ck.Optim = levels, info, nil
					dt := model.Dtype(strings.ToUpper(c.String("dtype")))
					if err := model.Save(c.String("out"), ck, dt); err != nil {
						return err
					}
					w := c.App.Writer
					fmt.Fprintf(w, "calibrate: %s on %d paths -> %s\n", name, len(samples), c.String("out"))
					fmt.Fprintf(w, "share of true slowdowns at or below the model's own p10 / p50 / p90 / p99, and the level each is now read at:\n")
					P := ck.Config.Pct
					for b, r := range info.Rows {
						fmt.Fprintf(w, "  bucket %d (%d paths): %.3f / %.3f / %.3f / %.3f; p10 at %.3f, p50 at %.3f, p90 at %.3f, p99 at %.3f\n",
							b, r, info.Before[b][0], info.Before[b][1], info.Before[b][2], info.Before[b][3],
							levels[b*P+9], levels[b*P+49], levels[b*P+89], levels[b*P+98])
					}
					return nil
				},
			},
			{
				Name:      "heldout",
				Usage:     "tabulate the shipped checkpoints' errors on ns-3 runs they never trained on (ckpts/heldout.json)",
				UsageText: "m4 ckpt heldout --eval DIR/eval.json [--eval ...] [--bands N] --source TEXT --out FILE",
				Description: `Reads m4 eval's eval.json files (m4 eval --ns3 ... without --ckpt: every workload
estimated by the checkpoint m4 ships for its congestion control) and writes, per
algorithm, size bucket and quantile, the median signed relative error of m4 against the
truth, the median and 90th percentile of its absolute value and the share of estimates
within 10% (eval.HeldOut), with the SHA-256 of the checkpoint file it speaks for. Built
into m4 as ckpts/heldout.json, the table is what m4 run prints as the model's own error
beside its estimate. Give it runs that neither training nor the choice of checkpoint
used, and the same binary that ran the evals; --source says what they were.

--bands N (default 2) also tabulates each algorithm's runs in N load bands: the runs
ordered by the load of their busiest link by flow count (eval.json's busiest_load) and cut
into N groups of about equal size. m4 run prints the band nearest its workload's load,
since the error depends on it (small flows' p99 low on light workloads, high on busy
ones); --bands 1 makes the table of every run only.`,
				Flags: []cli.Flag{
					&cli.StringSliceFlag{Name: "eval", Required: true, Usage: "m4 eval's `FILE` eval.json (repeatable)"},
					&cli.StringFlag{Name: "source", Required: true, Usage: "what the runs and the command were, for the table's readers"},
					&cli.StringFlag{Name: "out", Required: true, Usage: "table `FILE` to write (JSON)"},
					&cli.IntFlag{Name: "bands", Value: 2, Usage: "load bands `N` per algorithm (1: every run only)"},
				},
				Action: func(c *cli.Context) error {
					t, err := eval.HeldOut(c.StringSlice("eval"), shippedFor, c.String("source"), c.Int("bands"))
					if err != nil {
						return err
					}
					var b bytes.Buffer
					enc := json.NewEncoder(&b)
					enc.SetEscapeHTML(false) // bucket names such as "<1KB" as they are
					enc.SetIndent("", "  ")
					if err := enc.Encode(t); err != nil {
						return err
					}
					if err := atomicfile.WriteBytes(c.String("out"), b.Bytes()); err != nil {
						return err
					}
					for _, a := range t.Algorithms {
						fmt.Fprintf(c.App.Writer, "%s: %s on %d runs (%d estimates)", a.CC, a.Checkpoint, a.Runs, a.Evals)
						for _, b := range a.ByLoad {
							fmt.Fprintf(c.App.Writer, "; %d at load %.2f-%.2f", b.Runs, b.LoadMin, b.LoadMax)
						}
						fmt.Fprintln(c.App.Writer)
					}
					fmt.Fprintf(c.App.Writer, "wrote %s\n", c.String("out"))
					return nil
				},
			},
			{
				Name:      "import-m3",
				Usage:     "read m3's model_llama.bin and model_mlp.bin into an m4 checkpoint",
				UsageText: "m4 ckpt import-m3 --llama model_llama.bin --mlp model_mlp.bin --out CKPT",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "llama", Required: true, Usage: "m3's transformer file (7 x int32 header)"},
					&cli.StringFlag{Name: "mlp", Required: true, Usage: "m3's MLP file (5 x int32 header, const vector last)"},
					&cli.StringFlag{Name: "out", Required: true, Usage: "output checkpoint"},
				},
				Action: func(c *cli.Context) error {
					ck, err := model.ImportM3(c.String("llama"), c.String("mlp"))
					if err != nil {
						return err
					}
					if err := model.Save(c.String("out"), ck, model.F32); err != nil {
						return err
					}
					fmt.Fprintf(c.App.Writer, "ckpt: m3 model (dim %d, %d layers, %d parameters) -> %s\n",
						ck.Config.Dim, ck.Config.Layers, len(ck.Params), c.String("out"))
					return nil
				},
			},
			{
				Name:      "export-m3",
				Usage:     "write a checkpoint as m3's model_llama.bin and model_mlp.bin (for m3's run.c)",
				UsageText: "m4 ckpt export-m3 [--in CKPT] --llama model_llama.bin --mlp model_mlp.bin",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "in", Usage: "checkpoint (default: the one shipped with m4)"},
					&cli.StringFlag{Name: "llama", Required: true, Usage: "output transformer file"},
					&cli.StringFlag{Name: "mlp", Required: true, Usage: "output MLP file"},
				},
				Action: func(c *cli.Context) error {
					ck, name, err := loadCheckpoint(c.String("in"))
					if err != nil {
						return err
					}
					if err := model.ExportM3(ck, c.String("llama"), c.String("mlp")); err != nil {
						return err
					}
					fmt.Fprintf(c.App.Writer, "ckpt: %s -> %s, %s\n", name, c.String("llama"), c.String("mlp"))
					return nil
				},
			},
		},
	}
}

// lastAverage makes ck, a resume file's state, its last epoch's parameter
// average: the model that epoch's validation loss measured. Its record's
// best epoch and loss become that epoch's, so the file says what it holds.
func lastAverage(ck *model.Checkpoint) error {
	if ck.Optim == nil || ck.Optim.EMA == nil {
		return fmt.Errorf("no parameter average (not a resume file of a run with --ema)")
	}
	if len(ck.Optim.EMA) != len(ck.Params) {
		return fmt.Errorf("%d averaged parameters for %d", len(ck.Optim.EMA), len(ck.Params))
	}
	ck.Params = ck.Optim.EMA
	ck.Optim.EMA = nil
	if t := ck.Training; t != nil && len(t.History) > 0 {
		last := t.History[len(t.History)-1]
		t.BestEpoch, t.BestValLoss = last.Epoch, last.ValLoss
	}
	return nil
}
