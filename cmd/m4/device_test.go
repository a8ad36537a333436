package main

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/m4sim/m4/gpu"
	"github.com/m4sim/m4/pipeline/npyfile"
)

// TestPredictGPU: `m4 --gpu predict` gives the CPU's estimate, within the
// GPU cross-check's tolerance on a machine with a usable GPU, and exactly
// (after one line saying why) on one without.
func TestPredictGPU(t *testing.T) {
	shard := filepath.Join(reference(t), "ns3-paths", "shard100_nflows300_nhosts7_lr10Gbps")
	dir := t.TempDir()
	cpuOut, gpuOut := filepath.Join(dir, "cpu.npy"), filepath.Join(dir, "gpu.npy")
	if _, err := run(t, "predict", "--shard", shard, "--out", cpuOut); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, "--gpu", "predict", "--shard", shard, "--out", gpuOut)
	if err != nil {
		t.Fatal(err)
	}
	var notes []string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "--gpu") {
			notes = append(notes, l)
		}
	}
	a, err := npyfile.Read(cpuOut)
	if err != nil {
		t.Fatal(err)
	}
	b, err := npyfile.Read(gpuOut)
	if err != nil {
		t.Fatal(err)
	}
	c, g := a.Float64s(), b.Float64s()
	if len(c) != 400 || len(g) != 400 {
		t.Fatalf("%d and %d estimates, want 400", len(c), len(g))
	}
	_, dev, perr := gpu.Probe()
	tol := 0.0
	if perr != nil {
		if len(notes) != 1 || !strings.Contains(notes[0], "using the CPU") {
			t.Fatalf("no usable GPU (%v): want one line saying so, got %q", perr, out)
		}
	} else {
		if len(notes) != 0 {
			t.Fatalf("GPU %s is usable, but: %q", dev, notes)
		}
		tol = 2e-4 // gpu's TestForwardMatchesCPU tolerance
	}
	worst := 0.0
	for i := range c {
		worst = math.Max(worst, math.Abs(g[i]-c[i])/math.Max(math.Abs(c[i]), 1))
	}
	t.Logf("--gpu (%v) vs CPU: max rel diff %.2e", perr == nil, worst)
	if !(worst <= tol) {
		t.Errorf("--gpu predict differs from the CPU's by %.3g (tolerance %g)", worst, tol)
	}
}
