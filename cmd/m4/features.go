package main

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/m4sim/m4/pipeline/features"
	"github.com/m4sim/m4/pipeline/flowsim"
	"github.com/m4sim/m4/pipeline/npyfile"
	"github.com/m4sim/m4/pipeline/scenario"
)

func featuresCommand() *cli.Command {
	return &cli.Command{
		Name:      "features",
		Usage:     "build m3's feature map (model input and target) of a path scenario",
		UsageText: "m4 features --shard DIR --out FILE.npz [--sample S] [--hosts H] [--params FILE]",
		Description: `Runs flowsim on the shard's flows (fat.npy, fsize.npy, fsd.npy; H from the folder
name "..._nhostsH_..." or --hosts) and writes m3's feature map, the same arrays m3's
util/dataset.py writes to feat_topo-pl-H_sS.npz:

  res                        float32 (H, 1019)  per path row (row 0: flows 0 -> H-1; row 1+l:
                                                the other flows crossing link l), 10 size
                                                buckets x percentiles 1..100 of the flowsim
                                                slowdown, then the 19 configuration parameters
  num_flows_per_cell         float64 (H, 1000)  flows per cell / (1 + flows in the row)
  res_output                 float32 (400)      packet-level slowdown of the foreground flows,
                                                4 size buckets x percentiles 1..100
  num_flows_per_cell_output  float32 (400)      flows per cell / foreground flows
  n_input                    int64 ()           H

The parameters come from param_topo-pl-H_sS.npy (or --params, a param_*.npy or
param_*.txt). The target comes from the shard's packet-level ground truth,
fid/fct/fct_i_topo-pl-H_sS.npy. A shard without those three files (a scenario to
estimate rather than to learn from) gets the input side only: res,
num_flows_per_cell and n_input, and no res_output / num_flows_per_cell_output, so
that nothing can train on a made-up target. The command says which it wrote.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "shard", Usage: "reference-layout scenario `DIR`", Required: true},
			&cli.StringFlag{Name: "out", Usage: "output `FILE`.npz", Required: true},
			&cli.IntFlag{Name: "sample", Usage: "configuration index `S` of the files' _sS suffix", Value: 0},
			&cli.IntFlag{Name: "hosts", Usage: "hosts `H` on the path (overrides the folder name)"},
			&cli.StringFlag{Name: "params", Usage: "configuration `FILE` (param_*.npy or param_*.txt) instead of the shard's"},
		},
		Action: func(c *cli.Context) error {
			out := c.String("out")
			if !strings.EqualFold(filepath.Ext(out), ".npz") {
				return fmt.Errorf("--out %s: want a .npz file", out)
			}
			if c.Int("sample") < 0 {
				return fmt.Errorf("--sample %d: want >= 0", c.Int("sample"))
			}
			dir := c.String("shard")
			p, err := scenario.LoadShard(dir, c.Int("hosts"))
			if err != nil {
				return err
			}
			tag := features.Tag(p.Hosts, c.Int("sample"))
			params, err := readParams(c.String("params"), dir, tag, p.Hosts)
			if err != nil {
				return err
			}
			truth, err := features.ReadTruth(dir, tag, p.Len())
			if err != nil {
				return err
			}
			res, err := flowsim.Run(p)
			if err != nil {
				return err
			}
			m, err := features.Build(p, res.FCTNs, params, truth)
			if err != nil {
				return err
			}
			if err := m.WriteNPZ(out); err != nil {
				return err
			}
			side := "input and target"
			if m.Output == nil {
				side = "input only (no fid/fct/fct_i_" + tag + ".npy: no target)"
			}
			slog.Info("features done", "scenario", p.Name, "hosts", p.Hosts, "flows", p.Len(), "target", m.Output != nil)
			fmt.Fprintf(c.App.Writer, "features: %s: %d flows on a %d-host path, %s -> %s\n", p.Name, p.Len(), p.Hosts, side, out)
			return nil
		},
	}
}

// readParams reads the 19 model parameters from file (a param_*.npy or
// param_*.txt), or from the shard's param_TAG.npy when file is empty.
func readParams(file, dir, tag string, hosts int) ([features.NumParams]float64, error) {
	switch {
	case file == "":
		return features.ReadParams(dir, tag, hosts)
	case strings.EqualFold(filepath.Ext(file), ".txt"):
		cfg, err := features.ReadParamText(file)
		if err != nil {
			return [features.NumParams]float64{}, err
		}
		v := cfg.Vector()
		p, err := features.ParamVector(hosts, v[:])
		if err != nil {
			return p, fmt.Errorf("%s: %w", file, err)
		}
		return p, nil
	default:
		a, err := npyfile.Read(file)
		if err != nil {
			return [features.NumParams]float64{}, err
		}
		if len(a.Shape) != 1 {
			return [features.NumParams]float64{}, fmt.Errorf("%s: shape %v, want (15,)", file, a.Shape)
		}
		p, err := features.ParamVector(hosts, a.Float64s())
		if err != nil {
			return p, fmt.Errorf("%s: %w", file, err)
		}
		return p, nil
	}
}
