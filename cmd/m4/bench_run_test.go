package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/m4sim/m4/bindings"
)

// m4 bench run estimates every path of the 2,048-host workload and reports
// one row per size.
func TestBenchRun(t *testing.T) {
	if !bindings.Native {
		t.Skip(bindings.ErrNoNative)
	}
	out, err := run(t, "bench", "run", "--flows", "1500", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var rows []benchRunRow
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(rows) != 1 {
		t.Fatalf("%d rows, want 1", len(rows))
	}
	r := rows[0]
	if r.Flows != 1500 || r.Hosts != 2048 || r.Paths < 1400 || r.Estimated != r.Paths || !(r.FlowsPerSec > 0) || !(r.MaxRSSMiB > 0) {
		t.Fatalf("row %+v: want 1,500 flows on 2,048 hosts, every path estimated", r)
	}
}

// --cpu and --gpu may follow the command, exclude each other wherever they
// are, and --gpu without a GPU falls back in one line.
func TestDeviceFlagsAfterCommand(t *testing.T) {
	if !bindings.Native {
		t.Skip(bindings.ErrNoNative)
	}
	t.Setenv("M4_CUDA_LIB", filepath.Join(t.TempDir(), "libm4cuda.so"))
	dir := t.TempDir()
	for _, args := range [][]string{{"run", "--cpu", "--gpu"}, {"--cpu", "run", "--gpu"}, {"--gpu", "run", "--cpu"}} {
		_, err := run(t, append(args, "--paths", "5", "--out", filepath.Join(dir, "x"))...)
		if err == nil || !strings.Contains(err.Error(), "exclusive") {
			t.Errorf("%v: %v, want --cpu and --gpu rejected together", args, err)
		}
	}
	out, err := run(t, "run", "--gpu", "--paths", "20", "--bootstrap", "0", "--no-progress", "--out", filepath.Join(dir, "o"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out, "--gpu"); n != 1 || !strings.Contains(out, "using the CPU") {
		t.Fatalf("want one line explaining the CPU fallback, got %q", out)
	}
}
