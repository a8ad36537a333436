package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/m4sim/m4/bindings"
)

func TestDatagenCommand(t *testing.T) {
	if !bindings.Native {
		t.Skip(bindings.ErrNoNative)
	}
	dir := t.TempDir()
	spec := filepath.Join(dir, "spec.yaml")
	os.WriteFile(spec, []byte("seed: 5\nshards: {first: 2, count: 2}\nhosts: [3, 5]\nflows_per_pair: 20\n"), 0o644)
	out := filepath.Join(dir, "out")
	msg, err := run(t, "datagen", "--spec", spec, "--out", out, "--truth", "none", "--no-progress", "--workers", "2")
	if err != nil || !strings.Contains(msg, "4 made") {
		t.Fatalf("%q %v", msg, err)
	}
	for _, name := range []string{"shard2_nflows20_nhosts3_lr10Gbps", "shard3_nflows20_nhosts5_lr10Gbps"} {
		if _, err := os.Stat(filepath.Join(out, name, "fct_flowsim.npy")); err != nil {
			t.Error(err)
		}
	}
	// Resumes: nothing left to make.
	if msg, err = run(t, "datagen", "--spec", spec, "--out", out, "--truth", "none", "--no-progress"); err != nil || !strings.Contains(msg, "0 made, 4 finished before") {
		t.Errorf("rerun: %q %v", msg, err)
	}
	// A Slurm array task takes its part from the environment.
	t.Setenv("SLURM_ARRAY_TASK_ID", "1")
	t.Setenv("SLURM_ARRAY_TASK_COUNT", "2")
	if msg, err = run(t, "datagen", "--spec", spec, "--out", out, "--truth", "none", "--no-progress"); err != nil || !strings.Contains(msg, "task 1/2 (Slurm") || !strings.Contains(msg, "2 of 4") {
		t.Errorf("Slurm task: %q %v", msg, err)
	}
	// --shard wins over the environment.
	if msg, err = run(t, "datagen", "--spec", spec, "--out", out, "--truth", "none", "--no-progress", "--shard", "0/4"); err != nil || !strings.Contains(msg, "task 0/4 (--shard)") {
		t.Errorf("--shard: %q %v", msg, err)
	}
	// With m4's packet-level simulator as ground truth.
	truth := filepath.Join(dir, "truth")
	if msg, err = run(t, "datagen", "--spec", spec, "--out", truth, "--no-progress", "--shard", "0/1"); err != nil || !strings.Contains(msg, "4 made") {
		t.Fatalf("pktsim: %q %v", msg, err)
	}
	for _, f := range []string{"fid_topo-pl-5_s0.npy", "fct_topo-pl-5_s0.npy", "fct_i_topo-pl-5_s0.npy", "pdrop_topo-pl-5_s0.txt"} {
		if _, err := os.Stat(filepath.Join(truth, "shard3_nflows20_nhosts5_lr10Gbps", f)); err != nil {
			t.Error(err)
		}
	}
	// A scenario that fails is listed with its seed; the others go on, and the
	// command fails naming how many to retry.
	// (the wall-clock budget is checked every 65536 events: a scenario of
	// 300 flows per host pair has more)
	longer := filepath.Join(dir, "longer.yaml")
	os.WriteFile(longer, []byte("seed: 5\nshards: {count: 2}\nhosts: [5]\nflows_per_pair: 300\n"), 0o644)
	msg, err = run(t, "datagen", "--spec", longer, "--out", filepath.Join(dir, "budget"), "--no-progress", "--shard", "0/1", "--budget-seconds", "1e-9")
	if err == nil || !strings.Contains(err.Error(), "scenario(s) failed (listed above with their seeds)") ||
		!strings.Contains(msg, "datagen: FAILED") || !strings.Contains(msg, "seed") {
		t.Errorf("failing scenarios: %q %v", msg, err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("traffic:\n  size_dists: [zipf]\n"), 0o644)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--spec", bad, "--out", out, "--truth", "none"}, "traffic.size_dists[0]"},
		{[]string{"--spec", spec, "--out", out, "--truth", "none", "--shard", "4/4"}, "0 <= i < N"},
		{[]string{"--spec", spec, "--out", out, "--truth", "ns3"}, "--truth"},
		{[]string{"--spec", spec, "--out", out, "--budget-seconds", "-1"}, "--budget-seconds"},
		{[]string{"--spec", spec}, "--out"},
	}
	for i, c := range cases {
		_, err := run(t, append([]string{"datagen", "--no-progress"}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("case %d: %v, want an error naming %s", i, err, c.want)
		}
	}
}
