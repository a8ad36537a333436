package main

import (
	"encoding/json"
	"fmt"
	"runtime"

	"github.com/urfave/cli/v2"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/pipeline/model"
)

func benchModelCommand() *cli.Command {
	return &cli.Command{
		Name:  "model",
		Usage: "model kernels: training steps/s, inference ms per path, matmul GFLOP/s vs the FMA peak",
		Description: `Times m3's model (18.1M parameters) in m4's native kernels on paths of --hosts hosts
with random features: a training step (forward + backward + AdamW) at --train-batch,
inference at each --infer-batch (ms per path and GFLOP/s of the linear layers), the
forward's matrix multiplies at the largest inference batch, and one core's fp32 FMA
peak (a tight loop of independent vector FMAs). Best of repeated runs within --seconds
each. bench/model_vs_pytorch.py runs this with --json beside PyTorch on the same model
and prints the ratios (docs/perf.md).`,
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "hosts", Value: 5, Usage: "hosts per path (H-1 transformer rows)"},
			&cli.IntFlag{Name: "threads", Value: runtime.NumCPU(), Usage: "kernel threads"},
			&cli.IntFlag{Name: "train-batch", Value: 20, Usage: "scenarios per training step"},
			&cli.IntSliceFlag{Name: "infer-batch", Value: cli.NewIntSlice(1, 256), Usage: "inference batch sizes"},
			&cli.Float64Flag{Name: "seconds", Value: 2, Usage: "time budget per measurement"},
			&cli.BoolFlag{Name: "json", Usage: "print the result as JSON"},
		},
		Action: func(c *cli.Context) error {
			r, err := model.Bench(model.BenchSpec{Config: bindings.DefaultModelConfig(), Hosts: c.Int("hosts"),
				Threads: c.Int("threads"), TrainBatch: c.Int("train-batch"), InferBatch: c.IntSlice("infer-batch"),
				Seconds: c.Float64("seconds")})
			if err != nil {
				return err
			}
			w := c.App.Writer
			if c.Bool("json") {
				b, _ := json.MarshalIndent(r, "", "  ")
				fmt.Fprintln(w, string(b))
				return nil
			}
			peak := r.FMAPeakCoreGFLOPS * float64(r.Threads)
			fmt.Fprintf(w, "m3's model (%d parameters), %d-host paths, %s kernels, %d threads; fp32 FMA peak %.0f GFLOP/s per core, %.0f on %d\n\n",
				r.Params, r.Hosts, r.Kernel, r.Threads, r.FMAPeakCoreGFLOPS, peak, r.Threads)
			fmt.Fprintf(w, "| measurement | value |\n|---|---|\n")
			fmt.Fprintf(w, "| training step, batch %d (forward + backward + AdamW) | %.1f ms (%.0f samples/s) |\n", r.TrainBatch, r.TrainStepMs, r.TrainSamplesPerSec)
			for _, b := range c.IntSlice("infer-batch") {
				k := fmt.Sprint(b)
				fmt.Fprintf(w, "| inference, batch %d | %.3f ms per path (%.0f GFLOP/s, %.0f%% of peak) |\n", b, r.InferMsPerPath[k], r.InferGFLOPS[k], 100*r.InferGFLOPS[k]/peak)
			}
			for _, g := range r.Gemm {
				fmt.Fprintf(w, "| matmul %d x %d x %d | %.0f GFLOP/s (%.0f%% of peak) |\n", g.M, g.N, g.K, g.GFLOPS, 100*g.GFLOPS/peak)
			}
			return nil
		},
	}
}
