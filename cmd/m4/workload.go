package main

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/m4sim/m4/pipeline/infer"
	"github.com/m4sim/m4/pipeline/workload"
)

func workloadCommand() *cli.Command {
	return &cli.Command{
		Name:      "workload",
		Usage:     "generate a datacenter workload (topology and flows) from a spec file",
		UsageText: "m4 workload --spec FILE --out DIR [--seed N] [--flows N] [--max-load X] [--host-gbps G --fabric-gbps G]\n   m4 workload --example-spec",
		Description: `Builds the network and the flows a YAML or JSON spec describes, for example:

    topology: {kind: fabric, pods: 2, fabs_per_pod: 2, racks_per_pod: 16, hosts_per_rack: 8, oversubscription: 2}
    sizes: {dist: webserver}          # hadoop, cachefollower, websearch, googlerpc, fbhdp, alistorage,
                                      # exp/gaussian/lognorm/pareto with sigma, or file: my.cdf
    arrivals: {process: lognormal, sigma: 2}   # or poisson
    traffic: {matrix: cluster_a}      # uniform, cluster_a/b/c (Meta), or file: matrix.txt
    max_load: 0.5                     # offered payload load of the busiest link
    flows: 100000                     # or duration_s: 0.1
    seed: 1
    cc: {algorithm: dctcp, window_bytes: 18000, pfc: true}

Topologies: kind fabric (Meta-style cluster; defaults 2x2x16x8 = 256 hosts, 1:1), fattree
(k, even) or file (an ns-3 topology file); 10 Gbps host links, 40 Gbps between switches,
1 us per link unless host_gbps / fabric_gbps / link_delay_ns say otherwise.

Writes to DIR: topology.txt (ns-3), topology.json (Parsimon), topology.npz; flow.txt (ns-3
flow file) and fat.npy / fsize.npy / fsd.npy like the reference shards; spec.json (the spec
with defaults); link_load.npy (offered payload load of every link, both directions) and
summary.json (busiest links, max load reached). Deterministic for a seed.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "spec", Usage: "workload spec `FILE` (YAML or JSON; required)"},
			&cli.StringFlag{Name: "out", Usage: "output `DIR` (required)"},
			&cli.BoolFlag{Name: "example-spec", Usage: "print m4 run's embedded default spec (a complete example) and exit"},
			&cli.Uint64Flag{Name: "seed", Usage: "override the spec's seed"},
			&cli.IntFlag{Name: "flows", Usage: "override the number of flows (clears duration_s)"},
			&cli.Float64Flag{Name: "max-load", Usage: "override the busiest link's target load"},
			&cli.Float64Flag{Name: "host-gbps", Usage: "host link rate in Gbps (e.g. 100)"},
			&cli.Float64Flag{Name: "fabric-gbps", Usage: "switch-to-switch link rate in Gbps (e.g. 400)"},
			maxFlowsFlag(),
		},
		Action: func(c *cli.Context) error {
			if c.Bool("example-spec") {
				_, err := c.App.Writer.Write(infer.DefaultSpecYAML())
				return err
			}
			for _, f := range []string{"spec", "out"} {
				if c.String(f) == "" {
					return fmt.Errorf("--%s is required (or --example-spec)", f)
				}
			}
			s, err := workload.LoadSpec(c.String("spec"))
			if err != nil {
				return err
			}
			if c.IsSet("seed") {
				s.Seed = c.Uint64("seed")
			}
			if c.IsSet("flows") {
				s.Flows, s.DurationS = c.Int("flows"), 0
			}
			if c.IsSet("max-load") {
				s.MaxLoad = c.Float64("max-load")
			}
			if c.IsSet("host-gbps") {
				s.Topology.HostGbps = c.Float64("host-gbps")
			}
			if c.IsSet("fabric-gbps") {
				s.Topology.FabricGbps = c.Float64("fabric-gbps")
			}
			start := time.Now()
			w, err := generateWorkload(c, s)
			if err != nil {
				return err
			}
			gen := time.Since(start)
			sum := w.Summarize()
			if err := w.WriteDir(c.String("out"), sum); err != nil {
				return err
			}
			slog.Info("workload done", "topology", sum.Topology, "flows", sum.Flows,
				"generate_s", gen.Seconds(), "total_s", time.Since(start).Seconds())
			out := c.App.Writer
			fmt.Fprintf(out, "workload: %s: %d hosts, %d switches, %d links; %d flows (%s sizes, mean %.0f B; %s arrivals, mean gap %.1f ns; %s matrix)\n",
				sum.Topology, sum.Hosts, sum.Switches, sum.Links, sum.Flows, sum.SizeDist, sum.MeanSizeBytes,
				sum.Arrivals, sum.MeanGapNs, sum.Matrix)
			fmt.Fprintf(out, "workload: busiest link by design %d -> %d (%g Gbps): expected load %.3f, offered %.3f\n",
				sum.Target.From, sum.Target.To, sum.Target.Gbps, sum.Target.Expected, sum.Target.Load)
			fmt.Fprintf(out, "workload: highest offered load %.3f (%.3f with headers) on %d -> %d (%g Gbps)\n",
				sum.MaxLoad, sum.MaxLoadWire, sum.Busiest[0].From, sum.Busiest[0].To, sum.Busiest[0].Gbps)
			fmt.Fprintf(out, "workload: wrote %s\n", c.String("out"))
			return nil
		},
	}
}
