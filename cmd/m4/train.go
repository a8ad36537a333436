package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/pipeline/cc"
	"github.com/m4sim/m4/pipeline/dataset"
	"github.com/m4sim/m4/pipeline/features"
	"github.com/m4sim/m4/pipeline/model"
	"github.com/m4sim/m4/pipeline/train"
)

func trainCommand() *cli.Command {
	d := train.Recipe()
	mc := d.Config
	return &cli.Command{
		Name:      "train",
		Usage:     "train the model on path scenarios with packet-level ground truth",
		UsageText: "m4 train --data DIR [--data DIR...] [--train-only DIR...] --out CKPT [--epochs N] [--resume] [--m3]\n   m4 train --data DIR --eval-only [--ckpt CKPT] [--split val|train|all]",
		Description: `Trains m3's model (a transformer over the feature rows of a path's links, mean-pooled
into a context, and an MLP over the foreground row and that context) with m4's native
kernels, with m3's optimiser and loss: AdamW lr 1e-4, betas 0.9/0.95, weight decay 0.02
on the transformer's 2-D weights, dropout 0.2 in the transformer, batches of 20, loss =
mean over the 400 outputs of |estimate/ns-3 - 1| on the cells that have flows.

By default m4's recipe (docs/accuracy.md): width 128, 2 blocks, SwiGLU 384, MLP 512
(as accurate as m3's 18.1M parameters on the validation split, 4x faster), input
columns standardised on the training set, the MLP started at flowsim's own answer
(--flowsim-prior), a parameter average (--ema) validated and saved, and 9 bootstrap
resamples of every training scenario (--resamples). --m3 trains exactly as m3 does
instead (m3's width 576, 4 blocks, SwiGLU 1536, and none of the four); flags given
explicitly override either.

Data: every shard folder directly under each --data DIR (the reference layout; the
examples are its feat_topo-pl-H_sS.npz files, or the flows, parameters and ground truth
when those are missing). The traffic draws (shardNNN) are split into training and
validation (--val-frac, --split-seed): all path lengths of a draw fall on one side, and
training never sees the validation scenarios. Every scenario under a --train-only DIR
(e.g. m4 datagen output) trains and never validates, so the validation split stays
the one the --data folders define.

Scenarios whose target summarises 1 to --quantile-below - 1 foreground flows (paths
cut from datacenter workloads by m4 datagen --from-workload: a flow or a few each) learn
with a quantile loss instead of m3's: the mean pinball loss of each output percentile k
(quantile (k - 1/2)/100) against the target's values, whose minimum over many paths
is the conditional distribution of a flow's slowdown (m3's loss would squeeze each
path's estimate to its median); they are not resampled. --quantile-network does the same
for every path cut from a workload whatever its flows: such a path's size buckets hold a
few flows each, so m3's loss learns the median of a noisy p99 and the network-wide mix of
the estimates comes out too narrow (middles high, tails low; docs/accuracy.md).
--flow-weight P weights each such bucket by its flows to the power P (1: each flow counts
once, as m4 run's network-wide mix counts it; 0, the default: each path once, so the
few busy paths, which hold a third of a workload's flows and most of its small-flow
tail, are underfit); the validation loss is weighted alike.

Every epoch the validation loss is measured; CKPT gets the best model so far (what
m4 predict loads) and CKPT.resume the full state of the last epoch, both written
atomically; training stops after --patience epochs without a better validation loss.
--resume carries on from CKPT.resume and gives, bit for bit, what an uninterrupted run
would have. --init CKPT (or "default") fine-tunes instead of starting fresh: the run
begins at that checkpoint's parameters and input standardisation (its architecture, no
flowsim prior; AdamW's moments start at zero), and the new checkpoint records it as its
base and covers the trained ranges of both. --cc ALG trains and validates on that
congestion control's scenarios only (workload folders of other algorithms are not even
read): with --init, a specialist of the kind m4 ships beside its default
(ckpts/cc-*.safetensors, which m4 run uses for that algorithm's workloads); the
checkpoint records the algorithm. The run is deterministic for a --seed on any number of
--threads.

--estimator dynamics trains m4's flow-level dynamics model instead (docs/dynamics.md): on
every dynamics.npz in or directly under the --data folders (m4 datagen --dynamics), a
--val-frac share held out for the event loop's FCT error, AdamW (--lr, default 1e-4) over
windows of --window events, --epochs epochs; CKPT, CKPT.resume and the card CKPT.md
(without .safetensors) are written every epoch, and --resume carries on bit for bit.

--eval-only evaluates --ckpt (default: --out, else the default checkpoint) instead: the
model's loss and flowsim's own loss on the same cells, over the chosen --split, per path
length and per congestion-control algorithm (a markdown table; docs/accuracy.md), and
for paths cut from workloads, by their foreground flows, the mixture of the paths'
estimates against the mixture of their truths, pooled by flows as m4 run mixes paths
(p50/p90/p99 per size bucket; the network's own mixture with --paths-per-workload 0).`,
		Flags: append([]cli.Flag{
			&cli.StringSliceFlag{Name: "data", Usage: "folder `DIR` of shard folders (repeatable)", Required: true},
			&cli.StringSliceFlag{Name: "train-only", Usage: "folder `DIR` of shard folders used for training only, never for validation (repeatable)"},
			&cli.IntFlag{Name: "quantile-below", Value: d.QuantileBelow, Usage: "train scenarios with fewer foreground flows than this with the quantile loss (0: never)"},
			&cli.BoolFlag{Name: "quantile-network", Usage: "train every path cut from a workload with the quantile loss, whatever its flows"},
			&cli.Float64Flag{Name: "flow-weight", Usage: "weight each quantile-loss size bucket by its flows to this power (1: each flow counts once, as in the network-wide mix; 0: each path once)"},
			&cli.Float64Flag{Name: "tail-weight", Value: 1, Usage: "weight of the gradients of the top tenth of each bucket's percentiles (p91-p100; 1: none)"},
			&cli.StringFlag{Name: "cc", Usage: "train and validate only on scenarios of this congestion control (" + strings.Join(cc.Names(), ", ") + "): a per-algorithm model"},
			&cli.StringFlag{Name: "out", Usage: "checkpoint `CKPT` to write (.safetensors); CKPT.resume holds the resumable state"},
			&cli.IntFlag{Name: "epochs", Value: d.Epochs, Usage: "most epochs `N`"},
			&cli.BoolFlag{Name: "resume", Usage: "carry on from CKPT.resume"},
			&cli.StringFlag{Name: "init", Usage: "fine-tune: start from checkpoint `CKPT`'s parameters and input standardisation (\"default\": the shipped one) instead of a fresh model; its architecture, no flowsim prior (--estimator dynamics: a dynamics checkpoint, its model and prior)"},
			&cli.BoolFlag{Name: "m3", Usage: "train exactly as m3 does: m3's model size, raw features, random start, no average, no resamples, 500 epochs, patience 50"},
			&cli.IntFlag{Name: "batch", Value: d.Batch, Usage: "scenarios per step"},
			&cli.Float64Flag{Name: "lr", Value: d.LR, Usage: "AdamW learning rate"},
			&cli.Float64Flag{Name: "weight-decay", Value: d.WeightDecay, Usage: "AdamW weight decay (transformer 2-D weights)"},
			&cli.IntFlag{Name: "patience", Value: d.Patience, Usage: "stop after this many epochs without a better validation loss (0: never)"},
			&cli.IntFlag{Name: "warmup", Value: d.Warmup, Usage: "steps of linear learning-rate warm-up (0: none, as m3)"},
			&cli.IntFlag{Name: "resamples", Value: d.Resamples, Usage: "bootstrap resamples added per training parking lot (flows drawn with replacement, features and target rebuilt; never of validation scenarios or of paths cut from workloads)"},
			&cli.BoolFlag{Name: "normalize", Value: d.Normalize, Usage: "standardise the input columns on the training set (stored in the checkpoint; m3 trains without)"},
			&cli.BoolFlag{Name: "flowsim-prior", Value: d.Prior, Usage: "start at flowsim's answer, so training learns the correction: the path model's MLP at flowsim's percentiles (needs MLP widths >= 400; off by default for narrower ones); the dynamics model reads each flow's flowsim slowdown and corrects it"},
			&cli.Float64Flag{Name: "prior-decay", Value: d.PriorDecay, Usage: "with --flowsim-prior: each step pull the MLP back toward its start by lr x this (0: none)"},
			&cli.Float64Flag{Name: "ema", Value: d.EMA, Usage: "validate and save an exponential moving average of the parameters with this decay per step (0: none, as m3)"},
			&cli.Uint64Flag{Name: "seed", Value: d.Seed, Usage: "seed of initialisation, order, dropout and resamples"},
			&cli.Float64Flag{Name: "val-frac", Value: 0.1, Usage: "fraction of traffic draws held out for validation"},
			&cli.Uint64Flag{Name: "split-seed", Value: 1, Usage: "seed of the train/validation split"},
			&cli.IntFlag{Name: "threads", Value: runtime.NumCPU(), Usage: "kernel threads (results do not depend on it)"},
			&cli.IntFlag{Name: "dim", Value: mc.Dim, Usage: "transformer width"},
			&cli.IntFlag{Name: "layers", Value: mc.Layers, Usage: "transformer blocks"},
			&cli.IntFlag{Name: "heads", Value: mc.Heads, Usage: "attention heads"},
			&cli.IntFlag{Name: "hidden", Value: mc.Hidden, Usage: "SwiGLU hidden width"},
			&cli.IntFlag{Name: "mlp-hidden", Value: mc.MLPHidden1, Usage: "width of both MLP hidden layers"},
			&cli.Float64Flag{Name: "dropout", Value: float64(mc.Dropout), Usage: "dropout inside the transformer"},
			&cli.BoolFlag{Name: "eval-only", Usage: "evaluate a checkpoint instead of training"},
			&cli.StringFlag{Name: "ckpt", Usage: "checkpoint `CKPT` to evaluate (--eval-only)"},
			&cli.StringFlag{Name: "split", Value: "val", Usage: "scenarios to evaluate: val, train or all (--eval-only)"},
			&cli.IntFlag{Name: "paths-per-workload", Value: 150, Usage: "paths cut from each whole-workload folder (m4 datagen --from-workload), drawn by flows as m4 run draws them (0: every path)"},
			&cli.StringFlag{Name: "features", Value: features.V2, Usage: "feature definition to train on: " + features.V1 + " (m3's), " + features.V2 + " or " + features.V3 + " (with the path's own flow count); with --init, the checkpoint's (from " + features.V2 + ", " + features.V3 + " may be named)"},
			estimatorFlag("what to train: path (m3's path model on shard folders) or dynamics (m4's flow-level dynamics model on the dynamics.npz of m4 datagen --dynamics folders)"),
		}, dynamicsTrainFlags()...),
		Action: func(c *cli.Context) error {
			if e, err := checkEstimator(c); err != nil {
				return err
			} else if e == estimatorDynamics {
				return trainDynamics(c)
			}
			if c.Bool("eval-only") && c.IsSet("init") {
				return fmt.Errorf("train: --eval-only evaluates --ckpt CKPT; --init %s names a checkpoint to fine-tune, not one to evaluate", c.String("init"))
			}
			data := c.StringSlice("data")
			// a fine-tuning run keeps its checkpoint's features, or moves
			// an m4-path-v2 one to v3 (model.UpgradeToV3)
			var base *model.Checkpoint
			baseName := ""
			if init := c.String("init"); init != "" {
				if init == "default" {
					init = ""
				}
				var err error
				if base, baseName, err = loadCheckpoint(init); err != nil {
					return err
				}
			}
			def := c.String("features")
			if base != nil && !c.IsSet("features") {
				def = base.Features.Name
			}
			spec, err := model.FeatureSpecNamed(def)
			if err != nil {
				return fmt.Errorf("--features: %w", err)
			}
			upgrade := base != nil && base.Features.Name == features.V2 && def == features.V3
			if base != nil && base.Features.Name != def && !upgrade {
				return fmt.Errorf("train: --init %s reads %s features; a fine-tuning run keeps them (or moves %s to %s), not --features %s",
					baseName, base.Features.Name, features.V2, features.V3, def)
			}
			if c.Int("paths-per-workload") < 0 {
				return fmt.Errorf("--paths-per-workload %d: want >= 0", c.Int("paths-per-workload"))
			}
			var alg cc.CC
			if name := c.String("cc"); name != "" {
				if alg, err = cc.Parse(name); err != nil {
					return fmt.Errorf("--cc: %w", err)
				}
			}
			wo := dataset.WorkloadOptions{Paths: c.Int("paths-per-workload"), Seed: c.Uint64("split-seed"), CC: alg}
			var ranges features.Ranges
			samples, err := loadTrainingData(data, wo, def, &ranges)
			if err != nil {
				return err
			}
			tr, val := dataset.Split(samples, c.Float64("val-frac"), c.Uint64("split-seed"))
			if extra := c.StringSlice("train-only"); len(extra) > 0 {
				more, err := loadTrainingData(extra, wo, def, &ranges)
				if err != nil {
					return err
				}
				tr = append(tr, more...)
				samples = append(samples, more...)
			}
			if alg != "" {
				samples, tr, val = ofCC(samples, alg), ofCC(tr, alg), ofCC(val, alg)
				if len(tr) == 0 {
					return fmt.Errorf("--cc %s: no training scenarios of that algorithm", alg)
				}
			}
			slog.Info("data", "scenarios", len(samples), "train", len(tr), "validation", len(val))
			if c.Bool("eval-only") {
				return evalOnly(c, samples, tr, val)
			}
			if c.String("out") == "" {
				return fmt.Errorf("train: --out CKPT is required (or --eval-only)")
			}
			if st, err := os.Stat(filepath.Dir(c.String("out"))); err != nil || !st.IsDir() {
				return fmt.Errorf("train: --out %s: its folder does not exist", c.String("out"))
			}
			o := trainOptions(c)
			if base != nil {
				if upgrade {
					if base, err = upgradeToV3(base, tr); err != nil {
						return fmt.Errorf("train: --init %s: %w", baseName, err)
					}
				}
				if o, err = fineTuneOptions(c, o, base); err != nil {
					return fmt.Errorf("train: --init %s: %w", baseName, err)
				}
			}
			o.Out, o.Resume, o.Progress, o.Log = c.String("out"), c.Bool("resume"), c.App.ErrWriter, slog.Default()
			o.Context = c.Context // cancelled by SIGINT/SIGTERM (main)
			o.Info = model.TrainInfo{Command: "m4 " + strings.Join(os.Args[1:], " "), Data: data, TrainOnlyData: c.StringSlice("train-only"),
				SplitSeed: c.Uint64("split-seed"), ValFrac: c.Float64("val-frac"), M4Version: version, CC: c.String("cc")}
			o.Features = spec
			if base != nil {
				o.From, o.Info.FineTunedFrom, o.Info.Base = base, baseName, base.Training
				if base.Training != nil {
					ranges.Merge(base.Training.Ranges)
				}
			}
			o.Info.Ranges = &ranges
			if len(val) > 0 {
				fl := make([]float64, len(val))
				for i, s := range val {
					fe := s.Flowsim
					if fe == nil {
						if fe, err = dataset.FlowsimEstimate(s.Dir, s.Hosts); err != nil {
							return err
						}
					}
					fl[i] = train.SampleLoss(fe, s, o.Rule(tr))
				}
				o.Info.FlowsimValLoss = train.CombinedLoss(val, fl)
			}
			np, err := model.NumParams(o.Config)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "train: %d scenarios (%d train, %d validation; flowsim's validation loss %.4f), %d parameters, %s kernels\n",
				len(samples), len(tr), len(val), o.Info.FlowsimValLoss, np, kernelName(o.Config))
			res, err := train.Run(o, tr, val)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "train: %d epochs, %d steps; best validation loss %.4f at epoch %d (flowsim %.4f) -> %s\n",
				res.Info.Epochs, res.Info.Steps, res.Info.BestValLoss, res.Info.BestEpoch, o.Info.FlowsimValLoss, o.Out)
			return nil
		},
	}
}

// ofCC returns the samples of algorithm alg, in order.
func ofCC(samples []*dataset.Sample, alg cc.CC) []*dataset.Sample {
	var out []*dataset.Sample
	for _, s := range samples {
		if s.CC == string(alg) {
			out = append(out, s)
		}
	}
	return out
}

// trainOptions starts from m4's recipe (or m3's setup with --m3) and applies
// the flags given explicitly.
func trainOptions(c *cli.Context) train.Options {
	o := train.Recipe()
	if c.Bool("m3") {
		o = train.Defaults()
	}
	set := func(name string, apply func()) {
		if c.IsSet(name) {
			apply()
		}
	}
	set("epochs", func() { o.Epochs = c.Int("epochs") })
	set("batch", func() { o.Batch = c.Int("batch") })
	set("lr", func() { o.LR = c.Float64("lr") })
	set("weight-decay", func() { o.WeightDecay = c.Float64("weight-decay") })
	set("patience", func() { o.Patience = c.Int("patience") })
	set("warmup", func() { o.Warmup = c.Int("warmup") })
	set("resamples", func() { o.Resamples = c.Int("resamples") })
	set("quantile-below", func() { o.QuantileBelow = c.Int("quantile-below") })
	set("quantile-network", func() { o.QuantileNet = c.Bool("quantile-network") })
	set("flow-weight", func() { o.FlowWeight = c.Float64("flow-weight") })
	set("tail-weight", func() { o.TailWeight = c.Float64("tail-weight") })
	set("normalize", func() { o.Normalize = c.Bool("normalize") })
	set("flowsim-prior", func() { o.Prior = c.Bool("flowsim-prior") })
	set("prior-decay", func() { o.PriorDecay = c.Float64("prior-decay") })
	set("ema", func() { o.EMA = c.Float64("ema") })
	set("seed", func() { o.Seed = c.Uint64("seed") })
	set("dim", func() { o.Config.Dim = c.Int("dim") })
	set("layers", func() { o.Config.Layers = c.Int("layers") })
	set("heads", func() { o.Config.Heads = c.Int("heads") })
	set("hidden", func() { o.Config.Hidden = c.Int("hidden") })
	set("mlp-hidden", func() { o.Config.MLPHidden1, o.Config.MLPHidden2 = c.Int("mlp-hidden"), c.Int("mlp-hidden") })
	set("dropout", func() { o.Config.Dropout = float32(c.Float64("dropout")) })
	// the prior needs an MLP at least as wide as the output: a narrower model
	// asked for by its widths alone trains without it
	if !c.IsSet("flowsim-prior") && (o.Config.MLPHidden1 < o.Config.OutDim || o.Config.MLPHidden2 < o.Config.OutDim) {
		o.Prior = false
	}
	o.Threads = c.Int("threads")
	return o
}

// fineTuneOptions adapts o to continue training ck: ck's architecture and
// dropout (flags that name another are an error) and input standardisation,
// no flowsim prior (the run starts at ck's answer). With --resume the state
// comes from CKPT.resume; --init then only keeps the record of the base.
func fineTuneOptions(c *cli.Context, o train.Options, ck *model.Checkpoint) (train.Options, error) {
	for _, f := range []string{"dim", "layers", "heads", "hidden", "mlp-hidden", "m3", "flowsim-prior", "prior-decay", "normalize"} {
		if c.IsSet(f) {
			return o, fmt.Errorf("--%s: a fine-tuning run keeps the checkpoint's model and start", f)
		}
	}
	o.Config = ck.Config
	if c.IsSet("dropout") {
		o.Config.Dropout = float32(c.Float64("dropout"))
	}
	o.Normalize, o.Prior, o.PriorDecay = ck.InputNorm != nil, false, 0
	return o, nil
}

func kernelName(cfg bindings.ModelConfig) string {
	cfg.Layers, cfg.Dim, cfg.Hidden, cfg.Heads = 0, 2, 1, 1
	m, err := bindings.NewModel(cfg, 1, 0, false)
	if err != nil {
		return "no"
	}
	defer m.Close()
	return m.Kernel()
}

func evalOnly(c *cli.Context, all, tr, val []*dataset.Sample) error {
	var set []*dataset.Sample
	switch c.String("split") {
	case "val":
		set = val
	case "train":
		set = tr
	case "all":
		set = all
	default:
		return fmt.Errorf("--split %q: want val, train or all", c.String("split"))
	}
	if len(set) == 0 {
		return fmt.Errorf("--split %s: no scenarios", c.String("split"))
	}
	path := c.String("ckpt")
	if path == "" {
		path = c.String("out")
	}
	ck, name, err := loadCheckpoint(path)
	if err != nil {
		return err
	}
	if err := dataset.Reencode(set, ck.Features.Name); err != nil {
		return err
	}
	rep, err := train.Evaluate(ck, set, 64, c.Int("threads"), trainOptions(c).Rule(tr))
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "model %s on %d %s scenarios of %s (split seed %d, validation fraction %g):\n\n",
		name, len(set), c.String("split"), strings.Join(c.StringSlice("data"), ", "), c.Uint64("split-seed"), c.Float64("val-frac"))
	rep.WriteMarkdown(c.App.Writer)
	return nil
}

// loadTrainingData reads the folders in dirs: shard folders (dataset.Load)
// or whole-workload folders (dataset.LoadWorkloads, paths cut by wo), each
// dir holding one kind; ranges is widened to cover them; the parameter
// blocks are then encoded in def.
func loadTrainingData(dirs []string, wo dataset.WorkloadOptions, def string, ranges *features.Ranges) ([]*dataset.Sample, error) {
	var shards, wls []string
	for _, d := range dirs {
		if dataset.IsWorkload(d) || slices.ContainsFunc(listDirs(d), dataset.IsWorkload) {
			wls = append(wls, d)
		} else {
			shards = append(shards, d)
		}
	}
	var out []*dataset.Sample
	if len(shards) > 0 {
		s, err := dataset.Load(shards...)
		if err != nil {
			return nil, err
		}
		out = append(out, s...)
	}
	if len(wls) > 0 {
		s, err := dataset.LoadWorkloads(wo, wls...)
		if err != nil {
			return nil, err
		}
		out = append(out, s...)
	}
	for _, s := range out {
		c, err := features.ConfigOfV1(s.Input.Res[features.CellsPerRow:features.RowWidth])
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", s.Dir, s.File, err)
		}
		ranges.Add(c, s.Hosts, s.Network)
	}
	return out, dataset.Reencode(out, def)
}

// upgradeToV3 moves an m4-path-v2 checkpoint to v3 (model.UpgradeToV3),
// the new column standardised as a fresh run would over the training set.
func upgradeToV3(ck *model.Checkpoint, tr []*dataset.Sample) (*model.Checkpoint, error) {
	c := ck.Config
	rows := make([][]float32, len(tr))
	empty := make([][]uint8, len(tr))
	for i, s := range tr {
		rows[i], empty[i] = s.Input.Res, s.Input.Empty
	}
	n := model.ComputeInputNorm(c.FeatDim, c.BucketsIn, c.Pct, rows, empty)
	col := features.CellsPerRow + features.ForegroundParam
	return model.UpgradeToV3(ck, n.Shift[col], n.Scale[col])
}

// listDirs returns the folders directly under dir.
func listDirs(dir string) []string {
	ents, _ := os.ReadDir(dir)
	var out []string
	for _, e := range ents {
		if e.IsDir() {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	return out
}
