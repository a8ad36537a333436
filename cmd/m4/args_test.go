package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// TestStrayArgumentsRefused: a positional argument a command does not take
// is an error naming it (and the flag meant), never silently ignored along
// with the flags after it; nothing is written.
func TestStrayArgumentsRefused(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "res")
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"run", "my.yaml", "--out", out}, []string{`unexpected argument "my.yaml"`, "--spec my.yaml", "--out " + out}},
		{[]string{"flowsim", "--out", out, "SHARD"}, []string{`unexpected argument "SHARD"`, "--shard SHARD"}},
		{[]string{"predict", "--shard", "S", "--out", out, "extra"}, []string{`unexpected argument "extra"`}},
		{[]string{"workload", "--spec", "s.yaml", "--out", out, "x", "--flows", "3"}, []string{`unexpected argument "x"`, "--flows 3"}},
		{[]string{"datagen", "--example-spec", "extra"}, []string{`unexpected argument "extra"`}},
		{[]string{"eval", "a.yaml"}, []string{`unexpected argument "a.yaml"`, "--spec a.yaml"}},
		{[]string{"ckpt", "info", "a", "b"}, []string{`unexpected argument "b"`, "at most 1"}},
		{[]string{"ckpt", "convert", "--in", "a", "--out", out, "c"}, []string{`unexpected argument "c"`}},
		{[]string{"ckpt", "nope"}, []string{`unknown subcommand "nope"`, "info, convert"}},
		{[]string{"bench", "flowsim", "x"}, []string{`unexpected argument "x"`}},
	}
	for i, tc := range cases {
		got, err := run(t, tc.args...)
		if err == nil {
			t.Errorf("case %d %v: accepted (output %q)", i, tc.args, got)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("case %d %v: error %q does not say %q", i, tc.args, err, w)
			}
		}
		if _, serr := os.Stat(out); serr == nil {
			t.Fatalf("case %d: %s written", i, out)
		}
	}
}

// TestNumericFlagsRangeChecked: out-of-range and non-finite values of
// numeric flags are errors naming the flag and the range.
func TestNumericFlagsRangeChecked(t *testing.T) {
	out := filepath.Join(t.TempDir(), "x.npy")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"run", "--paths", "-1"}, "--paths -1: want a value >= 0"},
		{[]string{"run", "--threads", "-3"}, "--threads -3: want a value >= 1"},
		{[]string{"run", "--threads", "0"}, "--threads 0"},
		{[]string{"flowsim", "--hosts", "-1", "--out", out}, "--hosts -1: want a value >= 2"},
		{[]string{"predict", "--shard", "S", "--out", out, "--hosts", "1"}, "--hosts 1"},
		{[]string{"eval", "--flows", "0"}, "--flows 0"},
		{[]string{"workload", "--spec", "s.yaml", "--out", out, "--max-load", "1.5"}, "--max-load 1.5: want a value in (0, 1]"},
		{[]string{"workload", "--spec", "s.yaml", "--out", out, "--host-gbps", "0"}, "--host-gbps 0: want a value > 0"},
		{[]string{"train", "--data", "d", "--epochs", "0"}, "--epochs 0"},
		{[]string{"train", "--data", "d", "--lr", "NaN"}, "--lr NaN"},
		{[]string{"train", "--data", "d", "--dropout", "1"}, "--dropout 1: want a value in [0, 1)"},
		{[]string{"train", "--data", "d", "--val-frac", "-0.1"}, "--val-frac -0.1"},
		{[]string{"datagen", "--spec", "s", "--out", out, "--workers", "-2"}, "--workers -2"},
		{[]string{"bench", "model", "--seconds", "0"}, "--seconds 0"},
		{[]string{"bench", "flowsim", "--flows", "10", "--flows", "-5"}, "--flows -5"},
		{[]string{"pktsim", "--validate", "d", "--max-seconds", "-1"}, "--max-seconds -1"},
	}
	for i, tc := range cases {
		_, err := run(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("case %d %v: error %v, want one saying %q", i, tc.args, err, tc.want)
		}
	}
}

// TestFlagRanges: every numeric flag of every command has a range, and its
// default lies in it; every command that takes positional arguments says
// so in its ArgsUsage.
func TestFlagRanges(t *testing.T) {
	var walk func(cmds []*cli.Command, path string)
	walk = func(cmds []*cli.Command, path string) {
		for _, cmd := range cmds {
			name := strings.TrimSpace(path + " " + cmd.Name)
			walk(cmd.Subcommands, name)
			for _, f := range cmd.Flags {
				fn := f.Names()[0]
				var defaults []float64
				switch g := f.(type) {
				case *cli.IntFlag:
					defaults = []float64{float64(g.Value)}
				case *cli.Int64Flag:
					defaults = []float64{float64(g.Value)}
				case *cli.UintFlag:
					defaults = []float64{float64(g.Value)}
				case *cli.Uint64Flag:
					defaults = []float64{float64(g.Value)}
				case *cli.Float64Flag:
					defaults = []float64{g.Value}
				case *cli.IntSliceFlag:
					if g.Value != nil {
						for _, v := range g.Value.Value() {
							defaults = append(defaults, float64(v))
						}
					}
				case *cli.Float64SliceFlag:
					if g.Value != nil {
						defaults = g.Value.Value()
					}
				default:
					continue
				}
				r, ok := flagRanges[fn]
				if !ok {
					t.Errorf("m4 %s --%s: numeric flag without a range in flagRanges", name, fn)
					continue
				}
				for _, v := range defaults {
					// 0 is the "unset" default of flags whose 0 means "not given"
					if !r.ok(v) && v != 0 {
						t.Errorf("m4 %s --%s: default %v outside its range %s", name, fn, v, r)
					}
				}
			}
		}
	}
	walk(newApp().Commands, "")
	if argsTaken(&cli.Command{ArgsUsage: "[CKPT]"}) != 1 || argsTaken(&cli.Command{}) != 0 {
		t.Fatal("argsTaken miscounts")
	}
}
