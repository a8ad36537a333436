package main

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/internal/refdata"
	"github.com/m4sim/m4/pipeline/npyfile"
)

// run runs the CLI in-process and returns its stdout and error.
func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	app := newApp()
	var out, errOut bytes.Buffer
	app.Writer, app.ErrWriter = &out, &errOut
	err := app.Run(append([]string{"m4"}, args...))
	return out.String() + errOut.String(), err
}

func reference(t *testing.T) string {
	if !bindings.Native {
		t.Skip(bindings.ErrNoNative)
	}
	return refdata.Root(t)
}

func TestFlowsimCommandMatchesReference(t *testing.T) {
	dir := filepath.Join(reference(t), "ns3-paths", "shard100_nflows300_nhosts7_lr10Gbps")
	out := filepath.Join(t.TempDir(), "fct.npy")
	if _, err := run(t, "flowsim", "--shard", dir, "--out", out); err != nil {
		t.Fatal(err)
	}
	got, err := npyfile.Read(out)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := npyfile.Read(filepath.Join(dir, "fct_flowsim.npy"))
	g, w := got.Data.([]float64), want.Float64s()
	if len(g) != len(w) {
		t.Fatalf("%d FCTs, want %d", len(g), len(w))
	}
	for i := range g {
		if math.Abs(g[i]-w[i]) > 1e-6*w[i] {
			t.Fatalf("flow %d: %v, want %v", i, g[i], w[i])
		}
	}
}

func TestFlowsimCommandBadInput(t *testing.T) {
	reference(t)
	tmp := t.TempDir()
	out := filepath.Join(tmp, "fct.npy")
	// a shard whose fat.npy is truncated
	shard := filepath.Join(tmp, "shard1_nflows1_nhosts3_lr10Gbps")
	os.MkdirAll(shard, 0o755)
	npyfile.Write(filepath.Join(shard, "fat.npy"), []int64{1, 2}, nil)
	npyfile.Write(filepath.Join(shard, "fsize.npy"), []int64{10, 10}, nil)
	npyfile.Write(filepath.Join(shard, "fsd.npy"), []int32{0, 2, 0, 2}, []int{2, 2})
	b, _ := os.ReadFile(filepath.Join(shard, "fat.npy"))
	os.WriteFile(filepath.Join(shard, "fat.npy"), b[:len(b)-4], 0o644)

	for i, args := range [][]string{
		{"flowsim", "--shard", filepath.Join(tmp, "nope"), "--out", out},
		{"flowsim", "--shard", tmp, "--out", out},
		{"flowsim", "--shard", shard, "--out", out},
	} {
		_, err := run(t, args...)
		if err == nil {
			t.Errorf("case %d: %v accepted", i, args)
		}
		if _, serr := os.Stat(out); serr == nil {
			t.Fatalf("case %d: output written despite error %v", i, err)
		}
	}
	_, err := run(t, "flowsim", "--shard", shard, "--out", out)
	if err == nil || !strings.Contains(err.Error(), "fat.npy") {
		t.Errorf("truncated fat.npy: error %v does not name the file", err)
	}
	entries, _ := os.ReadDir(tmp)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

func TestGPUFlagFallsBackInOneLine(t *testing.T) {
	reference(t)
	t.Setenv("M4_CUDA_LIB", filepath.Join(t.TempDir(), "libm4cuda.so"))
	out, err := run(t, "--gpu", "flowsim", "--out", filepath.Join(t.TempDir(), "f.npy"))
	if err != nil {
		t.Fatal(err)
	}
	var gpuLines []string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "--gpu") {
			gpuLines = append(gpuLines, l)
		}
	}
	if len(gpuLines) != 1 || !strings.Contains(gpuLines[0], "using the CPU") {
		t.Fatalf("want one line explaining the CPU fallback, got %q", out)
	}
}
