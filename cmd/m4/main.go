// Command m4 estimates flow completion times (FCT) in datacenter networks:
// it simulates path-level scenarios with a fast flow-level simulator and
// corrects the result with a learned model toward what a packet-level
// simulator would report.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/pipeline/atomicfile"
)

// version is the m4 release; the native library reports its own.
const version = "0.1.0"

// interruptGrace is how long a command may take to stop after SIGINT or
// SIGTERM (those that watch c.Context finish their step and return) before
// m4 removes its temporary files and exits anyway.
const interruptGrace = 2 * time.Second

func main() {
	// A signal cancels the command's context; the temporary files of writes
	// in flight are removed (atomicfile.Cleanup) whichever way it ends.
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithCancelCause(context.Background())
	go func() {
		s := <-sig
		fmt.Fprintf(os.Stderr, "m4: %v: stopping (again to stop at once)\n", s)
		cancel(fmt.Errorf("interrupted by %v", s))
		select {
		case <-sig:
		case <-time.After(interruptGrace):
		}
		atomicfile.Cleanup()
		os.Exit(130)
	}()
	if err := newApp().RunContext(ctx, os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "m4:", err)
		if ctx.Err() != nil {
			atomicfile.Cleanup()
			os.Exit(130)
		}
		os.Exit(1)
	}
	if ctx.Err() != nil { // stopped by a signal after all
		atomicfile.Cleanup()
		os.Exit(130)
	}
}

func newApp() *cli.App {
	// -v means verbose here, so --version has no short alias.
	cli.VersionFlag = &cli.BoolFlag{Name: "version", Usage: "print the version and exit"}
	app := &cli.App{
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
			slog.SetDefault(slog.New(slog.NewTextHandler(c.App.ErrWriter, &slog.HandlerOptions{Level: level})))
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
	guard(app.Commands, "")
	return app
}
