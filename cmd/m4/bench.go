package main

import (
	"fmt"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/m4sim/m4/pipeline/flowsim"
	"github.com/m4sim/m4/pipeline/scenario"
)

func benchCommand() *cli.Command {
	return &cli.Command{
		Name:  "bench",
		Usage: "measure m4's components (throughput tables for docs/perf.md)",
		Subcommands: []*cli.Command{
			benchRunCommand(),
			benchModelCommand(),
			benchPktsimCommand(),
			{
				Name:  "flowsim",
				Usage: "flowsim flows/s and ns/event on generated paths of 10^4..10^6 flows",
				Description: `Generates Poisson path scenarios (exponential sizes, 20 kB mean, seed 1) at the given
load of the busiest link and times flowsim on each (best of --reps). The last column
is cost per flow relative to the smallest run: flat means linear growth in flows.`,
				Flags: []cli.Flag{
					&cli.IntSliceFlag{Name: "hosts", Value: cli.NewIntSlice(3, 5, 7), Usage: "path lengths `H`"},
					&cli.IntSliceFlag{Name: "flows", Value: cli.NewIntSlice(1e4, 1e5, 1e6), Usage: "flow counts"},
					&cli.Float64Flag{Name: "load", Value: 0.6, Usage: "load of the busiest link"},
					&cli.IntFlag{Name: "reps", Value: 3, Usage: "repetitions (best is kept)"},
					&cli.StringFlag{Name: "write-scenarios", Usage: "also write each generated scenario as a shard folder under `DIR` (for side-by-side runs of other simulators)"},
				},
				Action: func(c *cli.Context) error {
					w := c.App.Writer
					fmt.Fprintf(w, "| hosts | flows | load | events | max active | seconds | flows/s | ns/event | cost/flow vs first |\n")
					fmt.Fprintf(w, "|---|---|---|---|---|---|---|---|---|\n")
					for _, h := range c.IntSlice("hosts") {
						var base float64
						for _, n := range c.IntSlice("flows") {
							if dir := c.String("write-scenarios"); dir != "" {
								p, err := scenario.Generate(flowsim.BenchSpec(h, n, c.Float64("load")))
								if err != nil {
									return err
								}
								if err := flowsim.WriteShard(filepath.Join(dir, fmt.Sprintf("gen_nflows%d_nhosts%d_load%.2f", n, h, c.Float64("load"))), p); err != nil {
									return err
								}
							}
							r, err := flowsim.Bench(h, n, c.Float64("load"), c.Int("reps"))
							if err != nil {
								return err
							}
							perFlow := r.Seconds / float64(n)
							if base == 0 {
								base = perFlow
							}
							fmt.Fprintf(w, "| %d | %d | %.2f | %d | %d | %.4f | %.3gM | %.1f | %.2fx |\n",
								h, n, r.Load, r.Events, r.MaxActive, r.Seconds, r.FlowsPerSec()/1e6, r.NsPerEvent(), perFlow/base)
						}
					}
					return nil
				},
			},
		},
	}
}
