package main

import (
	"encoding/json"
	"fmt"
	"runtime"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/m4sim/m4/pipeline/infer"
	"github.com/m4sim/m4/pipeline/workload"
)

// benchRunSpec is the workload of m4 bench run with n flows: the issue's
// 10^6-flow fabric (4 pods x 4 fabric switches x 32 racks x 16 hosts, 2:1;
// WebServer sizes, lognormal arrivals with sigma 1, a uniform matrix, 50%
// load on the busiest link, DCTCP with 3 MB buffers).
func benchRunSpec(n int) string {
	return fmt.Sprintf(`topology: {kind: fabric, pods: 4, fabs_per_pod: 4, racks_per_pod: 32, hosts_per_rack: 16, oversubscription: 2}
sizes: {dist: webserver}
arrivals: {process: lognormal, sigma: 1}
traffic: {matrix: uniform}
max_load: 0.5
flows: %d
seed: 1
cc: {algorithm: dctcp, buffer_kb: 3000, window_bytes: 18000, dctcp_k: 20, pfc: true}
`, n)
}

// benchRunRow is one measurement of m4 bench run.
type benchRunRow struct {
	Flows       int     `json:"flows"`
	Hosts       int     `json:"hosts"`
	Paths       int     `json:"paths"` // paths in the workload
	Estimated   int     `json:"paths_estimated"`
	Device      string  `json:"device"`       // the model's kernels
	Threads     int     `json:"threads"`      // path workers
	GenerateSec float64 `json:"generate_sec"` // workload generation
	EstimateSec float64 `json:"estimate_sec"` // decomposition, paths, model, mixing
	FlowsPerSec float64 `json:"flows_per_sec"`
	PathsPerSec float64 `json:"paths_per_sec"`
	CPUSec      float64 `json:"cpu_sec"`     // process CPU time over both phases
	MaxRSSMiB   float64 `json:"max_rss_mib"` // the process's peak so far
}

func benchRunCommand() *cli.Command {
	return withDevice(&cli.Command{
		Name:  "run",
		Usage: "m4 run end to end: flows/s and paths/s at 10^4..10^6 flows, CPU or GPU (--gpu)",
		Description: `Generates the issue's fabric workload (2,048 hosts: 4 pods x 4 fabric switches x 32
racks x 16 hosts, 2:1; WebServer sizes, lognormal arrivals (sigma 1), uniform matrix,
50% max load, DCTCP, 3 MB buffers) with each of --flows flows and estimates it as m4 run
does (every path with --paths 0, the default), with the shipped checkpoint, on the CPU
or, with --gpu, on the GPU. A row per size: paths, seconds to generate and to estimate,
flows/s and paths/s end to end (generation + estimate; m4 run adds ~0.1 s of output
files), process CPU seconds and peak memory (RSS, the process's high-water mark, so
run the largest size last or alone). Writing outputs and plots is not included.`,
		Flags: []cli.Flag{
			&cli.IntSliceFlag{Name: "flows", Value: cli.NewIntSlice(1e4, 1e5, 1e6), Usage: "workload sizes"},
			&cli.IntFlag{Name: "paths", Value: 0, Usage: "paths to draw, stratified by output size bucket (0: every path)"},
			&cli.IntFlag{Name: "threads", Value: runtime.NumCPU(), Usage: "path workers"},
			&cli.StringFlag{Name: "ckpt", Usage: "model checkpoint `CKPT` (default: the shipped one for the workload's congestion control)"},
			&cli.BoolFlag{Name: "json", Usage: "print the rows as JSON"},
		},
		Action: func(c *cli.Context) error {
			spec, err := workload.ParseSpec("bench.yaml", []byte(benchRunSpec(1)))
			if err != nil {
				return err
			}
			ck, _, err := loadCheckpointFor(c.String("ckpt"), spec.CC.Algorithm) // every size's algorithm
			if err != nil {
				return err
			}
			est, err := newPathEstimator(c, ck)
			if err != nil {
				return err
			}
			defer est.Close()
			var rows []benchRunRow
			w := c.App.Writer
			if !c.Bool("json") {
				fmt.Fprintf(w, "| flows | hosts | paths | estimated | device | threads | generate s | estimate s | flows/s | paths/s | CPU s | peak RSS MiB |\n")
				fmt.Fprintf(w, "|---|---|---|---|---|---|---|---|---|---|---|---|\n")
			}
			for _, n := range c.IntSlice("flows") {
				cpu0 := cpuSeconds()
				t0 := time.Now()
				spec, err := workload.ParseSpec(fmt.Sprintf("bench-%d.yaml", n), []byte(benchRunSpec(n)))
				if err != nil {
					return err
				}
				wl, err := workload.Generate(spec)
				if err != nil {
					return err
				}
				cfg, err := infer.ConfigOf(spec.CC)
				if err != nil {
					return err
				}
				t1 := time.Now()
				res, err := infer.Run(wl, cfg, est, infer.Options{Paths: c.Int("paths"), Seed: 1, Workers: c.Int("threads"), Lean: true})
				if err != nil {
					return err
				}
				t2 := time.Now()
				r := benchRunRow{Flows: n, Hosts: len(wl.Topo.Hosts()), Paths: res.PathsTotal, Estimated: len(res.Paths),
					Device: est.Kernel(), Threads: c.Int("threads"), GenerateSec: t1.Sub(t0).Seconds(), EstimateSec: t2.Sub(t1).Seconds(),
					CPUSec: cpuSeconds() - cpu0, MaxRSSMiB: maxRSSMiB()}
				r.FlowsPerSec = float64(n) / t2.Sub(t0).Seconds()
				r.PathsPerSec = float64(r.Estimated) / t2.Sub(t0).Seconds()
				rows = append(rows, r)
				if !c.Bool("json") {
					fmt.Fprintf(w, "| %d | %d | %d | %d | %s | %d | %.2f | %.2f | %.0f | %.0f | %.1f | %.0f |\n", r.Flows, r.Hosts, r.Paths,
						r.Estimated, r.Device, r.Threads, r.GenerateSec, r.EstimateSec, r.FlowsPerSec, r.PathsPerSec, r.CPUSec, r.MaxRSSMiB)
				}
				runtime.GC()
			}
			if c.Bool("json") {
				b, _ := json.MarshalIndent(rows, "", "  ")
				fmt.Fprintln(w, string(b))
			}
			return nil
		},
	})
}
