package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"

	"github.com/urfave/cli/v2"

	"github.com/m4sim/m4/pipeline/cc"
	"github.com/m4sim/m4/pipeline/pktsim"
)

// ns-3's flows/s on the reference path scenarios repeated 10-100x, one core
// (issue 4's yardstick, measured on this kind of machine).
var ns3FlowsPerSec = map[cc.CC]float64{cc.HPCC: 2400, cc.DCQCN: 6200}

func benchPktsimCommand() *cli.Command {
	return &cli.Command{
		Name:  "pktsim",
		Usage: "packet simulator flows/s and events/s: reference path scenarios repeated, and a 256-host fabric cluster",
		Description: `Three tables, one core, serial runs (copy them into docs/perf.md):

1. Reference path scenarios (--reference, default $M4_REFERENCE/ns3-paths or
   ../shared/reference/ns3-paths): --per-group scenarios of every CC mode and path length,
   each with its flows repeated --repeat times back to back (same load), per CC mode:
   flows, events, wall time, flows/s, events/s, and flows/s over ns-3's (issue 4: 2.4k
   flows/s HPCC, 6.2k DCQCN; one core, same kind of scenario).
2. The 256-host fabric cluster (2 pods x 2 fabric switches x 16 racks x 8 hosts, 16
   spines per plane, 10 Gbps hosts, 40 Gbps fabric, 1 us links) with --fabric-flows
   Poisson flows (uniform host pairs, exponential sizes of --mean-bytes, seed 1) at each
   of --loads of the host links, per CC mode (the m4 template config with PFC on).
3. Scaling: DCTCP on the fabric for each of --scale-flows at each load; the last column
   is cost per flow relative to the first run of the load.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "reference", Usage: "folder of reference shards (`DIR`); empty: skip table 1 if not found"},
			&cli.IntFlag{Name: "per-group", Value: 3, Usage: "reference scenarios per CC mode and path length"},
			&cli.IntFlag{Name: "repeat", Value: 10, Usage: "times each reference scenario's flows are repeated"},
			&cli.IntFlag{Name: "fabric-flows", Value: 100000, Usage: "flows on the fabric (0: skip tables 2 and 3)"},
			&cli.Float64SliceFlag{Name: "loads", Value: cli.NewFloat64Slice(0.3, 0.7), Usage: "host-link loads on the fabric"},
			&cli.Float64Flag{Name: "mean-bytes", Value: 20000, Usage: "mean flow size on the fabric"},
			&cli.IntSliceFlag{Name: "scale-flows", Value: cli.NewIntSlice(10000, 30000, 100000), Usage: "flow counts for the scaling table"},
			&cli.IntFlag{Name: "reps", Value: 1, Usage: "time each run `N` times and keep the best (the machine may be shared)"},
		},
		Action: func(c *cli.Context) error {
			w := c.App.Writer
			ref := c.String("reference")
			if ref == "" {
				base := os.Getenv("M4_REFERENCE")
				if base == "" {
					base = filepath.Join("..", "shared", "reference")
				}
				ref = filepath.Join(base, "ns3-paths")
			}
			if groups, err := pktsim.ReferenceSample(ref, c.Int("per-group")); err == nil {
				fmt.Fprintf(w, "Reference path scenarios (%s), %d per CC mode and path length, flows repeated %dx, one core:\n\n", ref, c.Int("per-group"), c.Int("repeat"))
				fmt.Fprintln(w, "| CC | scenarios | flows | events | events/flow | seconds | flows/s | events/s | vs ns-3 flows/s |")
				fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|")
				modes := make([]int, 0, len(groups))
				for mode := range groups {
					modes = append(modes, mode)
				}
				sort.Ints(modes)
				for _, mode := range modes {
					b, err := pktsim.BenchShards("reference", groups[mode], c.Int("repeat"), c.Int("reps"))
					if err != nil {
						return err
					}
					vs := "-"
					if a, err := cc.FromMode(mode); err == nil && ns3FlowsPerSec[a] > 0 {
						vs = fmt.Sprintf("%.1fx", b.FlowsPerSec()/ns3FlowsPerSec[a])
					}
					fmt.Fprintf(w, "| %s | %d | %d | %d | %.0f | %.2f | %.0f | %.1fM | %s |\n", b.CC, len(groups[mode]), b.Flows, b.Events,
						float64(b.Events)/float64(b.Flows), b.Seconds, b.FlowsPerSec(), b.EventsPerSec()/1e6, vs)
				}
				fmt.Fprintln(w)
			} else if c.String("reference") != "" {
				return err
			} else {
				fmt.Fprintf(w, "(reference scenarios not found at %s: table 1 skipped)\n\n", ref)
			}
			n := c.Int("fabric-flows")
			if n <= 0 {
				return nil
			}
			topo, err := pktsim.Fabric(pktsim.BenchFabric)
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "Fabric %s (%d nodes, %d links), %d flows, exponential sizes of mean %.0f B, PFC on, one core:\n\n",
				topo.Name, topo.Nodes, len(topo.Links), n, c.Float64("mean-bytes"))
			fmt.Fprintln(w, "| CC | load | flows | simulated ms | events | events/flow | seconds | flows/s | events/s | PFC pauses | drops |")
			fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|")
			for _, load := range c.Float64Slice("loads") {
				fl, err := pktsim.PoissonWorkload(topo, n, load, c.Float64("mean-bytes"), pktsim.Rate(pktsim.BenchFabric.HostGbps*1e9), 1)
				if err != nil {
					return err
				}
				// in CC_MODE order, as the table above
				for _, a := range slices.SortedFunc(slices.Values(cc.All()), func(x, y cc.CC) int { return x.Mode() - y.Mode() }) {
					cfg, err := pktsim.TemplateConfig(a)
					if err != nil {
						return err
					}
					cfg.EnablePFC = true
					b, err := pktsim.Bench(fl.Name, cfg, topo, fl, c.Int("reps"))
					if err != nil {
						return err
					}
					fmt.Fprintf(w, "| %s | %.2f | %d | %.2f | %d | %.0f | %.2f | %.0f | %.1fM | %d | %d |\n", b.CC, load, b.Flows, float64(b.SimNs)/1e6,
						b.Events, float64(b.Events)/float64(b.Flows), b.Seconds, b.FlowsPerSec(), b.EventsPerSec()/1e6, b.Stats.PFCPauses, b.Stats.Drops)
				}
			}
			fmt.Fprintln(w)
			fmt.Fprintln(w, "Scaling (DCTCP on the fabric):")
			fmt.Fprintln(w)
			fmt.Fprintln(w, "| load | flows | events | seconds | flows/s | events/s | cost/flow vs first |")
			fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
			for _, load := range c.Float64Slice("loads") {
				var base float64
				for _, m := range c.IntSlice("scale-flows") {
					fl, err := pktsim.PoissonWorkload(topo, m, load, c.Float64("mean-bytes"), pktsim.Rate(pktsim.BenchFabric.HostGbps*1e9), 1)
					if err != nil {
						return err
					}
					cfg, _ := pktsim.TemplateConfig(cc.DCTCP)
					cfg.EnablePFC = true
					b, err := pktsim.Bench(fl.Name, cfg, topo, fl, c.Int("reps"))
					if err != nil {
						return err
					}
					per := b.Seconds / float64(m)
					if base == 0 {
						base = per
					}
					fmt.Fprintf(w, "| %.2f | %d | %d | %.2f | %.0f | %.1fM | %.2fx |\n", load, m, b.Events, b.Seconds, b.FlowsPerSec(), b.EventsPerSec()/1e6, per/base)
				}
			}
			return nil
		},
	}
}
