package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/m4sim/m4/gpu"
	"github.com/m4sim/m4/pipeline/model"
)

// gpuChoice is what --gpu resolved to, kept in the app's Metadata so that
// the device is probed, and a fallback reported, once per run.
type gpuChoice struct {
	lib *gpu.Lib
	dev gpu.Device
}

const gpuKey = "m4.gpu"

// cpuOnlyModel reports whether command cmd (with subcommand sub) runs model
// kernels but only on the CPU (training, benchmarks other than bench run):
// --gpu says so rather than being ignored.
func cpuOnlyModel(cmd, sub string) bool { return cmd == "train" || (cmd == "bench" && sub != "run") }

// deviceFlags are --cpu and --gpu for the commands that run inference, so
// that they may also follow the command (m4 run --gpu).
func deviceFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "cpu", Usage: "run model kernels on the CPU (the default; also before the command)"},
		&cli.BoolFlag{Name: "gpu", Usage: "run model kernels on an NVIDIA GPU (also before the command; see m4 --help)"},
	}
}

// withDevice adds --cpu and --gpu to a command that runs inference (they
// may follow the command), checks them and probes the GPU before it runs.
func withDevice(cmd *cli.Command) *cli.Command {
	cmd.Flags = append(cmd.Flags, deviceFlags()...)
	before := cmd.Before
	cmd.Before = func(c *cli.Context) error {
		if err := checkDevice(c); err != nil {
			return err
		}
		useGPU(c) // say at once, in one line, if --gpu cannot be honoured
		if before != nil {
			return before(c)
		}
		return nil
	}
	return cmd
}

// wantDevice reports whether --cpu or --gpu (name) was given, before or
// after the command; both is an error.
func wantDevice(c *cli.Context, name string) bool {
	for _, x := range c.Lineage() {
		if x.IsSet(name) && x.Bool(name) {
			return true
		}
	}
	return false
}

// checkDevice rejects --cpu with --gpu, wherever each was given.
func checkDevice(c *cli.Context) error {
	if wantDevice(c, "cpu") && wantDevice(c, "gpu") {
		return fmt.Errorf("--cpu and --gpu are exclusive")
	}
	return nil
}

// useGPU returns the GPU that model kernels should run on, or nil for the
// CPU. With --gpu and no usable GPU it prints the reason in one line (the
// first time it is asked) and returns nil.
func useGPU(c *cli.Context) *gpuChoice {
	if !wantDevice(c, "gpu") || wantDevice(c, "cpu") {
		return nil
	}
	if c.App.Metadata == nil {
		c.App.Metadata = map[string]any{}
	}
	if v, ok := c.App.Metadata[gpuKey]; ok {
		return v.(*gpuChoice)
	}
	var choice *gpuChoice
	lib, dev, err := gpu.Probe()
	if err != nil {
		fmt.Fprintf(c.App.ErrWriter, "m4: --gpu: %v; using the CPU\n", err)
	} else {
		choice = &gpuChoice{lib, dev}
		// with --gpu before the command, the first call comes from the
		// app's Before, where Args names the command
		if cmd := c.Args().First(); cpuOnlyModel(cmd, c.Args().Get(1)) {
			fmt.Fprintf(c.App.ErrWriter, "m4: --gpu: m4 %s runs the model on the CPU; the GPU backend (%s) serves inference: predict, run, eval, bench run\n", cmd, dev.Name)
		}
	}
	c.App.Metadata[gpuKey] = choice
	return choice
}

// newEstimator runs ck for batches of up to maxBatch paths on the GPU under
// --gpu when one is usable (saying in one line when it cannot, e.g. for lack
// of device memory), else on the CPU's native kernels with threads threads.
func newEstimator(c *cli.Context, ck *model.Checkpoint, maxBatch, threads int) (*model.Estimator, error) {
	if g := useGPU(c); g != nil {
		m, err := g.lib.NewModel(ck.Config, g.dev.Index, maxBatch, 0)
		if err == nil {
			return model.NewEstimatorOn(ck, m, maxBatch)
		}
		fmt.Fprintf(c.App.ErrWriter, "m4: --gpu: %s: %v; using the CPU\n", g.dev.Name, err)
	}
	return model.NewEstimator(ck, maxBatch, threads)
}

// Model batches of the path pipeline (infer.Run): on the CPU each worker
// runs 64 paths at a time on a model of its own (one thread: the workers
// are the parallelism); a GPU takes thousands of paths per call.
const (
	cpuPathBatch = 64
	gpuPathBatch = 2048
)

// newPathEstimator is newEstimator for the path pipeline of run and eval.
func newPathEstimator(c *cli.Context, ck *model.Checkpoint) (*model.Estimator, error) {
	if useGPU(c) != nil {
		return newEstimator(c, ck, gpuPathBatch, 1)
	}
	return newEstimator(c, ck, cpuPathBatch, 1)
}
