package main

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/ckpts"
	"github.com/m4sim/m4/pipeline/cc"
	"github.com/m4sim/m4/pipeline/features"
	"github.com/m4sim/m4/pipeline/model"
	"github.com/m4sim/m4/pipeline/npyfile"
	"github.com/m4sim/m4/pipeline/scenario"
)

func predictCommand() *cli.Command {
	return &cli.Command{
		Name:      "predict",
		Usage:     "estimate a path scenario's packet-level FCT slowdowns with the model",
		UsageText: "m4 predict --shard DIR [--ckpt CKPT] --out FILE.npy [--hosts H] [--sample S]",
		Description: `Runs flowsim on the shard's flows (fat.npy, fsize.npy, fsd.npy; H from the folder
name "..._nhostsH_..." or --hosts), builds m3's feature map from it and the configuration
(param_topo-pl-H_sS.npy), and runs the model: the estimate of the slowdown (FCT / ideal
FCT) percentiles 1..100 of the foreground flows (host 0 -> H-1) in 4 size buckets (< 1000,
< 10000, < 50000, >= 50000 bytes) that a packet-level simulator would report. No
packet-level output is needed.

--out gets 400 float64 values (bucket-major, as m3's res_output), each bucket's
percentiles at least 1 and non-decreasing. Without --ckpt the parking-lot checkpoint
shipped with m4 is used (ckpts/lots.safetensors, built into the binary: the default
model fine-tuned on standalone parking lots of every algorithm, which estimates them
better than the models m4 run uses for paths cut from a network).

A scenario without flows, or without foreground flows, is refused: there is nothing to
estimate. A scenario whose busiest link is offered more than its capacity (a queue that
grows for as long as the scenario lasts; m3's data draws loads of 0.2 to 0.8) is
estimated with a warning that names the link and its load: the model extrapolates.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "shard", Usage: "reference-layout scenario `DIR`", Required: true},
			&cli.StringFlag{Name: "ckpt", Usage: "checkpoint `CKPT` (default: the one shipped with m4)"},
			&cli.StringFlag{Name: "out", Usage: "output `FILE`.npy", Required: true},
			&cli.IntFlag{Name: "hosts", Usage: "hosts `H` on the path (overrides the folder name)"},
			&cli.IntFlag{Name: "sample", Usage: "configuration index `S` of the files' _sS suffix"},
			&cli.IntFlag{Name: "threads", Value: runtime.NumCPU(), Usage: "kernel threads"},
		},
		Action: func(c *cli.Context) error {
			out := c.String("out")
			if !strings.EqualFold(filepath.Ext(out), ".npy") {
				return fmt.Errorf("--out %s: want a .npy file", out)
			}
			start := time.Now()
			mp, err := features.FromShard(c.String("shard"), c.Int("hosts"), c.Int("sample"))
			if err != nil {
				return err
			}
			fg := 0
			for _, n := range mp.Input.Counts[:features.NumInputBuckets] {
				fg += n
			}
			if fg == 0 {
				return fmt.Errorf("%s: no foreground flows (host 0 -> %d): m4 predict estimates their slowdowns, and there are none",
					c.String("shard"), mp.Input.Hosts-1)
			}
			warnOverload(c, c.String("shard"), mp.Input.Hosts)
			// a shard is one of m3's parking lots, not a path cut from a network
			pc, err := features.ConfigOfV1(mp.Input.Res[features.CellsPerRow:features.RowWidth])
			if err != nil {
				return fmt.Errorf("%s: %w", c.String("shard"), err)
			}
			ck, name, err := loadLotsCheckpoint(c.String("ckpt"))
			if err != nil {
				return err
			}
			if err := featuresFit(ck, name); err != nil {
				return err
			}
			if err := rangesKnown(c, ck, name); err != nil {
				return err
			}
			if err := checkRanges(c, ck, name, c.String("shard"), pc, false); err != nil {
				return err
			}
			if err := features.Reencode(mp.Input.Res, mp.Input.Hosts, ck.Features.Name, false, fg); err != nil {
				return fmt.Errorf("%s: %w", c.String("shard"), err)
			}
			empty, err := model.EmptyBuckets(mp.Input.NumFlowsPerCell, mp.Input.Hosts, features.NumInputBuckets, features.NumPercentiles)
			if err != nil {
				return fmt.Errorf("%s: %w", c.String("shard"), err)
			}
			e, err := newEstimator(c, ck, 1, c.Int("threads"))
			if err != nil {
				return err
			}
			defer e.Close()
			est, err := e.Predict([]model.Input{{Hosts: mp.Input.Hosts, Res: mp.Input.Res, Empty: empty}})
			if err != nil {
				return fmt.Errorf("%s: %w", c.String("shard"), err)
			}
			v := make([]float64, len(est[0]))
			for i, x := range est[0] {
				v[i] = float64(x)
			}
			if err := npyfile.Write(out, v, []int{len(v)}); err != nil {
				return err
			}
			slog.Info("predict", "shard", c.String("shard"), "hosts", mp.Input.Hosts, "ckpt", name,
				"kernel", e.Kernel(), "seconds", time.Since(start).Seconds())
			fmt.Fprintf(c.App.Writer, "predict: %s (%d hosts) with %s -> %s\n", c.String("shard"), mp.Input.Hosts, name, out)
			return nil
		},
	}
}

// warnOverload warns when the shard's busiest link is offered more than its
// capacity (scenario.Path.MaxLoad): the model never saw such a scenario.
func warnOverload(c *cli.Context, shard string, hosts int) {
	p, err := scenario.LoadShard(shard, hosts)
	if err != nil {
		return // FromShard has read it already; nothing to add
	}
	load, link, fwd := p.MaxLoad(bindings.DefaultPathConfig(p.Hosts))
	if load <= 1 {
		return
	}
	a, b := link, link+1
	if !fwd {
		a, b = b, a
	}
	fmt.Fprintf(c.App.ErrWriter, "m4 predict: warning: %s: link %d -> %d is offered %.1fx its capacity: its queue grows for as long as the scenario lasts, beyond anything the model learned from (loads up to 1); the estimate extrapolates\n",
		shard, a, b, load)
}

// loadCheckpoint loads path, or the checkpoint shipped with m4 if path is "".
// A file whose tensor data do not match their checksum is an error; one
// without a checksum (written before m4 0.2) loads with a warning.
func loadCheckpoint(path string) (*model.Checkpoint, string, error) {
	return loadCheckpointFor(path, "")
}

// loadLotsCheckpoint loads path, or without one the shipped parking-lot
// checkpoint (ckpts.Lots), m4 predict's model for scenarios that are
// parking lots of their own.
func loadLotsCheckpoint(path string) (*model.Checkpoint, string, error) {
	if path != "" {
		return loadCheckpoint(path)
	}
	ck, err := model.Decode(ckpts.LotsName, ckpts.Lots)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", ckpts.LotsName, err)
	}
	return ck, "the shipped parking-lot checkpoint (" + ckpts.LotsName + ")", nil
}

// loadCheckpointFor is loadCheckpoint with the shipped checkpoint for
// workloads of algorithm alg (decodeCheckpointFor).
func loadCheckpointFor(path string, alg cc.CC) (*model.Checkpoint, string, error) {
	ck, name, err := decodeCheckpointFor(path, alg)
	if err == nil && path != "" {
		warnUnverified(ck, path)
	}
	return ck, name, err
}

// decodeCheckpointFor is loadCheckpointFor without the warning: it loads
// path, or without a path decodes the shipped checkpoint for workloads of
// algorithm alg: its specialist where one ships (ckpts.For), else the default.
func decodeCheckpointFor(path string, alg cc.CC) (*model.Checkpoint, string, error) {
	if path == "" {
		name, file, data := shippedFor(alg)
		ck, err := model.Decode(file, data)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", name, err)
		}
		return ck, name, nil
	}
	ck, err := model.Load(path)
	return ck, path, err
}

// shippedFor is the checkpoint m4 ships for workloads of algorithm alg
// (ckpts.For): how runs name it (as eval.json's "checkpoint" does), its
// file name and bytes.
func shippedFor(alg cc.CC) (name, file string, data []byte) {
	file, data = ckpts.For(alg)
	what := "the default checkpoint"
	if file != ckpts.DefaultName {
		what = "the shipped " + alg.Upper() + " checkpoint"
	}
	return what + " (" + file + ")", file, data
}

// warnUnverified warns that nothing vouches for a checkpoint's tensor data.
func warnUnverified(ck *model.Checkpoint, name string) {
	if !ck.Checksummed {
		slog.Warn("the checkpoint carries no checksum of its tensor data (written before m4 0.2): nothing vouches for them; `m4 ckpt convert` rewrites it with one",
			"checkpoint", name)
	}
}

// featuresFit checks that ck reads the feature maps pipeline/features makes.
func featuresFit(ck *model.Checkpoint, name string) error {
	f := ck.Features
	known := slices.ContainsFunc(model.FeatureSpecs(), func(s model.FeatureSpec) bool { return s.Name == f.Name })
	if !known || f.RowWidth != features.RowWidth || ck.Config.FeatDim != features.RowWidth ||
		ck.Config.BucketsIn != features.NumInputBuckets || ck.Config.Pct != features.NumPercentiles ||
		ck.Config.OutDim != features.OutputLen {
		return fmt.Errorf("%s: the model reads %q features (%d per row, %d outputs); m4 makes %s, %s or %s (%d per row, %d outputs)",
			name, f.Name, ck.Config.FeatDim, ck.Config.OutDim, features.V1, features.V2, features.V3, features.RowWidth, features.OutputLen)
	}
	return nil
}

// rangesKnown warns, or with --strict fails, when ck records no trained
// ranges (a checkpoint written before m4 0.2): its inputs cannot be checked.
func rangesKnown(c *cli.Context, ck *model.Checkpoint, ckName string) error {
	if ck.Training != nil && ck.Training.Ranges != nil {
		return nil
	}
	return rangesUnknown(c, ckName)
}

// rangesUnknown warns, or with --strict fails, that checkpoint ckName
// records no trained ranges.
func rangesUnknown(c *cli.Context, ckName string) error {
	const msg = "records no trained ranges: whether an input lies outside its training data cannot be told"
	if c.Bool("strict") {
		return fmt.Errorf("checkpoint %s %s (without --strict this is a warning)", ckName, msg)
	}
	fmt.Fprintf(c.App.ErrWriter, "m4: warning: checkpoint %s %s\n", ckName, msg)
	return nil
}

// checkRanges reports the inputs of cfg outside what ck was trained on (on
// paths cut from a network, or m3's parking lots); see reportRanges.
func checkRanges(c *cli.Context, ck *model.Checkpoint, ckName, input string, cfg features.Config, network bool) error {
	return reportRanges(c, ck.OutOfRange(cfg, network), ckName, input)
}

// reportRanges prints one warning line on stderr per input outside the
// trained range, or, with --strict, returns an error naming them.
func reportRanges(c *cli.Context, oor []features.OutOfRange, ckName, input string) error {
	if len(oor) == 0 {
		return nil
	}
	if c.Bool("strict") {
		var msgs []string
		for _, o := range oor {
			msgs = append(msgs, o.String())
		}
		return fmt.Errorf("%s: %s (checkpoint %s; without --strict this is a warning)", input, strings.Join(msgs, "; "), ckName)
	}
	for _, o := range oor {
		fmt.Fprintf(c.App.ErrWriter, "m4: warning: %s: %s (checkpoint %s): the estimate extrapolates\n", input, o, ckName)
	}
	return nil
}
