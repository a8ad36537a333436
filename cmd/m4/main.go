// Command m4 estimates flow completion times (FCT) in datacenter networks:
// it simulates path-level scenarios with a fast flow-level simulator and
// corrects the result with a learned model toward what a packet-level
// simulator would report.
package main

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/m4sim/m4/bindings"
)

// version is the m4 release; the native library reports its own.
const version = "0.1.0"

func main() {
	if err := newApp().Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "m4:", err)
		os.Exit(1)
	}
}

func newApp() *cli.App {
	// -v means verbose here, so --version has no short alias.
	cli.VersionFlag = &cli.BoolFlag{Name: "version", Usage: "print the version and exit"}
	return &cli.App{
		Name:  "m4",
		Usage: "fast, learned flow completion time (FCT) estimates for datacenter networks",
		Description: `m4 answers "how slow will my flows be?" for a datacenter workload without a
packet-level simulation. A workload (topology, flows, congestion control) is split into
path-level scenarios; a max-min fair flow-level simulator (flowsim) estimates each flow's
FCT on its path; a small transformer+MLP trained on ns-3 ground truth corrects those
estimates into the FCT slowdown distribution (p1..p100 per flow-size bucket) a packet-level
simulator would report; path estimates are aggregated network-wide.

Slowdown = FCT / ideal FCT of the flow alone on an idle path. Times are in ns, sizes in bytes.`,
		Version:              fmt.Sprintf("%s (native library %s)", version, bindings.Version()),
		EnableBashCompletion: true,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "cpu", Usage: "run model kernels on the CPU (the default)"},
			&cli.BoolFlag{Name: "gpu", Usage: "run model kernels on an NVIDIA GPU through libm4cuda.so; falls back to the CPU, saying why, when none is usable"},
			&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "log progress and details to stderr"},
			&cli.BoolFlag{Name: "strict", Usage: "fail, instead of warning, when an input is outside the checkpoint's trained range (run, eval, predict)"},
		},
		Before: func(c *cli.Context) error {
			level := slog.LevelWarn
			if c.Bool("verbose") {
				level = slog.LevelDebug
			}
			slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
			if c.Bool("cpu") && c.Bool("gpu") {
				return fmt.Errorf("--cpu and --gpu are exclusive")
			}
			// Say at once, in one line, if --gpu cannot be honoured.
			useGPU(c)
			return nil
		},
		Commands: []*cli.Command{
			withDevice(runCommand()),
			withDevice(evalCommand()),
			flowsimCommand(),
			pktsimCommand(),
			featuresCommand(),
			datagenCommand(),
			workloadCommand(),
			trainCommand(),
			withDevice(predictCommand()),
			ckptCommand(),
			benchCommand(),
		},
	}
}
