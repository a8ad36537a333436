package main

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/m4sim/m4/pipeline/flowsim"
	"github.com/m4sim/m4/pipeline/scenario"
)

func flowsimCommand() *cli.Command {
	return &cli.Command{
		Name:      "flowsim",
		Usage:     "estimate per-flow FCTs on a parking-lot path with the max-min flow-level simulator",
		UsageText: "m4 flowsim --shard DIR --out FCT.npy\n   m4 flowsim --flows flow.txt --hosts H --out fct.txt\n   m4 flowsim --out fct.npy   (the embedded default scenario)",
		Description: `Simulates the flows of one path: H hosts in a line, 10 Gbps links at the two ends,
40 Gbps inside, every flow capped at 10 Gbps, 48 B of headers per 1000 B packet. Rates
are max-min fair, re-solved at every arrival and departure. The FCT written for each flow
is queueing + transmission time in ns (no propagation), in the input's flow order.

Input: a reference shard folder (fat.npy, fsize.npy, fsd.npy; H from the folder name
"..._nhostsH_..." or --hosts), or an ns-3 flow file (a count line, then
"id src dst pg dport size_bytes start_seconds" per flow) with --hosts. Without either,
the embedded default scenario is used. Output: float64 .npy if --out ends in .npy,
else text lines "index src dst size_bytes arrival_ns fct_ns".`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "shard", Usage: "reference-layout scenario `DIR`"},
			&cli.StringFlag{Name: "flows", Usage: "ns-3 flow `FILE` (needs --hosts)"},
			&cli.IntFlag{Name: "hosts", Usage: "hosts `H` on the path (overrides the folder name)"},
			&cli.StringFlag{Name: "out", Usage: "output `FILE` (.npy or text)", Required: true},
		},
		Action: func(c *cli.Context) error {
			p, err := loadPath(c.String("shard"), c.String("flows"), c.Int("hosts"))
			if err != nil {
				return err
			}
			start := time.Now()
			res, err := flowsim.Run(p)
			if err != nil {
				return err
			}
			el := time.Since(start)
			slog.Info("flowsim done", "scenario", p.Name, "hosts", p.Hosts, "flows", p.Len(),
				"events", res.Stats.Events, "seconds", el.Seconds(),
				"flows_per_s", float64(p.Len())/el.Seconds())
			if err := flowsim.WriteFCT(c.String("out"), p, res.FCTNs); err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "flowsim: %s: %d flows on a %d-host path -> %s\n", p.Name, p.Len(), p.Hosts, c.String("out"))
			return nil
		},
	}
}

// loadPath loads a scenario from a shard folder, a flow file, or the embedded default.
func loadPath(shard, flows string, hosts int) (*scenario.Path, error) {
	switch {
	case shard != "" && flows != "":
		return nil, fmt.Errorf("give --shard or --flows, not both")
	case shard != "":
		return scenario.LoadShard(shard, hosts)
	case flows != "":
		return scenario.LoadFlowFile(flows, hosts)
	default:
		return scenario.Default()
	}
}
