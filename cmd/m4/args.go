package main

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// urfave/cli stops reading flags at the first positional argument: in
// "m4 run my.yaml --out res" the flags after my.yaml would be dropped and the
// default workload run. guard gives every command a check, run before its
// Action, that refuses positional arguments it does not take (naming them,
// and the flag that was probably meant) and numeric flag values out of range
// (flagRanges), so no command ever runs something other than what was asked.

// argsTaken is how many positional arguments a command takes: one per word
// of its ArgsUsage ("[CKPT]" is one), none without one.
func argsTaken(cmd *cli.Command) int { return len(strings.Fields(cmd.ArgsUsage)) }

// guard installs the checks on cmds and their subcommands; path is the
// command line that leads to them ("" at the top, "ckpt" below it).
func guard(cmds []*cli.Command, path string) {
	for _, cmd := range cmds {
		name := strings.TrimSpace(path + " " + cmd.Name)
		if len(cmd.Subcommands) > 0 {
			guard(cmd.Subcommands, name)
			if cmd.Action == nil {
				cmd.Action = unknownSubcommand(cmd, name)
			}
			continue
		}
		before := cmd.Before
		cmd.Before = func(c *cli.Context) error {
			if err := checkArgs(c, cmd, name); err != nil {
				return err
			}
			if err := checkFlagRanges(c, cmd, name); err != nil {
				return err
			}
			if before != nil {
				return before(c)
			}
			return nil
		}
	}
}

// unknownSubcommand is the Action of a command that only groups others:
// its help without arguments, an error naming an unknown subcommand.
func unknownSubcommand(cmd *cli.Command, name string) cli.ActionFunc {
	return func(c *cli.Context) error {
		if !c.Args().Present() {
			return cli.ShowSubcommandHelp(c)
		}
		var known []string
		for _, s := range cmd.Subcommands {
			if s.Name != "help" {
				known = append(known, s.Name)
			}
		}
		return fmt.Errorf("%s: unknown subcommand %q (known: %s)", name, c.Args().First(), strings.Join(known, ", "))
	}
}

// checkArgs refuses positional arguments beyond what cmd takes.
func checkArgs(c *cli.Context, cmd *cli.Command, name string) error {
	args := c.Args().Slice()
	n := argsTaken(cmd)
	if len(args) <= n {
		return nil
	}
	extra := args[n]
	takes := "no positional arguments"
	if n > 0 {
		takes = fmt.Sprintf("at most %d positional argument(s) (%s)", n, cmd.ArgsUsage)
	}
	msg := fmt.Sprintf("%s: unexpected argument %q: m4 %s takes %s", name, extra, name, takes)
	if strings.HasPrefix(extra, "-") {
		msg += "; flags go before positional arguments"
	} else if f := mainFlag(cmd); f != "" {
		msg += fmt.Sprintf("; did you mean --%s %s?", f, extra)
	}
	if rest := args[n+1:]; slices.ContainsFunc(rest, func(a string) bool { return strings.HasPrefix(a, "-") }) {
		msg += fmt.Sprintf(" (flags after it were not read: %s)", strings.Join(rest, " "))
	}
	return fmt.Errorf("%s", msg)
}

// mainFlag is the flag a stray positional argument most likely meant: the
// command's input file or folder.
func mainFlag(cmd *cli.Command) string {
	for _, want := range []string{"spec", "shard", "data", "in", "flows"} {
		for _, f := range cmd.Flags {
			if slices.Contains(f.Names(), want) {
				if _, ok := f.(*cli.StringFlag); ok {
					return want
				}
				if _, ok := f.(*cli.StringSliceFlag); ok {
					return want
				}
			}
		}
	}
	return ""
}

// flagRange is the allowed range of a numeric flag's values: [Min, Max],
// either end open where MinOpen/MaxOpen say; NaN never passes.
type flagRange struct {
	Min, Max         float64
	MinOpen, MaxOpen bool
}

func (r flagRange) String() string {
	lo, hi := "[", "]"
	if r.MinOpen {
		lo = "("
	}
	if r.MaxOpen {
		hi = ")"
	}
	switch {
	case math.IsInf(r.Max, 1) && !r.MinOpen:
		return fmt.Sprintf(">= %g", r.Min)
	case math.IsInf(r.Max, 1):
		return fmt.Sprintf("> %g", r.Min)
	}
	return fmt.Sprintf("in %s%g, %g%s", lo, r.Min, r.Max, hi)
}

func (r flagRange) ok(v float64) bool {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return false
	case v < r.Min || (r.MinOpen && v == r.Min):
		return false
	case v > r.Max || (r.MaxOpen && v == r.Max):
		return false
	}
	return true
}

var (
	atLeast0  = flagRange{Min: 0, Max: math.Inf(1)}
	atLeast1  = flagRange{Min: 1, Max: math.Inf(1)}
	positive  = flagRange{Min: 0, Max: math.Inf(1), MinOpen: true}
	fraction  = flagRange{Min: 0, Max: 1, MaxOpen: true} // [0, 1)
	load      = flagRange{Min: 0, Max: 1, MinOpen: true} // (0, 1]
	anyUint64 = flagRange{Min: 0, Max: math.MaxUint64}
)

// flagRanges is the range of every numeric flag, by name (a name means the
// same thing in every command that has it). A flag given explicitly must be
// in its range; defaults are in range by construction (TestFlagRanges).
var flagRanges = map[string]flagRange{
	// sizes and counts of work
	"paths":              atLeast0, // 0: every path
	"threads":            atLeast1,
	"workers":            atLeast0, // 0: one per core
	"hosts":              {Min: 2, Max: math.Inf(1)},
	"flows":              atLeast1,
	"max-flows":          atLeast1,
	"sample":             atLeast0,
	"shard-count":        atLeast1,
	"per-group":          atLeast1,
	"repeat":             atLeast1,
	"fabric-flows":       atLeast0, // 0: skip the fabric tables
	"scale-flows":        atLeast1,
	"reps":               atLeast1,
	"train-batch":        atLeast1,
	"infer-batch":        atLeast1,
	"bootstrap":          atLeast0, // 0: no interval
	"paths-per-workload": atLeast0, // 0: every path
	"min-rows":           atLeast1,
	"bands":              atLeast1, // m4 ckpt heldout's load bands (1: every run only)
	"tolerance":          atLeast0, // relative, e.g. 0.02
	// seeds and budgets (0: none)
	"seed":           anyUint64,
	"split-seed":     anyUint64,
	"max-events":     anyUint64,
	"budget-seconds": atLeast0,
	"max-seconds":    atLeast0,
	"seconds":        positive,
	// workloads
	"max-load":    load,
	"load":        load,
	"loads":       load,
	"host-gbps":   positive,
	"fabric-gbps": positive,
	"mean-bytes":  positive,
	// training
	"epochs":         atLeast1,
	"batch":          atLeast1,
	"patience":       atLeast0, // 0: never stop early
	"warmup":         atLeast0,
	"resamples":      atLeast0,
	"quantile-below": atLeast0,
	"tail-weight":    positive,
	"flow-weight":    {Min: 0, Max: 2},
	"lr":             positive,
	"weight-decay":   atLeast0,
	"prior-decay":    atLeast0,
	"ema":            fraction,
	"val-frac":       fraction,
	"dropout":        fraction,
	"taper-from":     {Min: 0, Max: 1},
	"taper-to":       {Min: 0, Max: 1},
	"dim":            atLeast1,
	"layers":         atLeast0,
	"heads":          atLeast1,
	"hidden":         atLeast1,
	"mlp-hidden":     atLeast1,
	// the dynamics model (m4 train --estimator dynamics)
	"state":        {Min: 1, Max: 1 << 14},
	"gnn-width":    {Min: 1, Max: 1 << 14},
	"gnn-layers":   {Min: 1, Max: 8},
	"head-hidden":  {Min: 1, Max: 1 << 14},
	"window":       atLeast1,
	"replicas":     {Min: 1, Max: 256},
	"every-weight": {Min: 0, Max: 1e6},
}

// numericValues returns the values of a numeric flag as float64s, and
// whether f is numeric at all.
func numericValues(c *cli.Context, f cli.Flag) ([]float64, bool) {
	name := f.Names()[0]
	switch f.(type) {
	case *cli.IntFlag:
		return []float64{float64(c.Int(name))}, true
	case *cli.Int64Flag:
		return []float64{float64(c.Int64(name))}, true
	case *cli.UintFlag:
		return []float64{float64(c.Uint(name))}, true
	case *cli.Uint64Flag:
		return []float64{float64(c.Uint64(name))}, true
	case *cli.Float64Flag:
		return []float64{c.Float64(name)}, true
	case *cli.IntSliceFlag:
		var v []float64
		for _, x := range c.IntSlice(name) {
			v = append(v, float64(x))
		}
		return v, true
	case *cli.Float64SliceFlag:
		return c.Float64Slice(name), true
	}
	return nil, false
}

// checkFlagRanges refuses numeric flags given out of their range.
func checkFlagRanges(c *cli.Context, cmd *cli.Command, name string) error {
	for _, f := range cmd.Flags {
		fn := f.Names()[0]
		if !c.IsSet(fn) {
			continue
		}
		vals, numeric := numericValues(c, f)
		if !numeric {
			continue
		}
		r, ok := flagRanges[fn]
		if !ok {
			return fmt.Errorf("%s: --%s has no range in flagRanges (cmd/m4/args.go)", name, fn)
		}
		for _, v := range vals {
			if !r.ok(v) {
				return fmt.Errorf("%s: --%s %v: want a value %s", name, fn, v, r)
			}
		}
	}
	return nil
}
