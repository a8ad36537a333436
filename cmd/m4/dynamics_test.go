package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/pipeline/dyntrace"
)

// TestDatagenDynamics: m4 datagen --dynamics writes each workload's folder
// with a dynamics.npz that reads back valid, resumes, and refuses to mix
// with --from-workload.
func TestDatagenDynamics(t *testing.T) {
	if !bindings.Native {
		t.Skip(bindings.ErrNoNative)
	}
	dir := t.TempDir()
	spec := filepath.Join(dir, "family.yaml")
	os.WriteFile(spec, []byte(`seed: 3
workloads: {count: 2}
topologies: [{kind: fattree, k: 4}]
flows: [200, 300]
matrices: [uniform]
`), 0o644)
	out := filepath.Join(dir, "dyn")
	msg, err := run(t, "datagen", "--dynamics", "--spec", spec, "--out", out, "--no-progress", "--workers", "2")
	if err != nil || !strings.Contains(msg, "datagen --dynamics") || !strings.Contains(msg, "2 made") {
		t.Fatalf("%q %v", msg, err)
	}
	for w := range 2 {
		p := filepath.Join(out, "wl"+itoa(w), dyntrace.FileName)
		tr, err := dyntrace.Read(p)
		if err != nil {
			t.Fatal(err)
		}
		// a 16-host fat-tree: 16 host links and 16 + 16 switch links, both ways
		if len(tr.LinkFrom) != 96 || len(tr.EvTimeNs) != 2*len(tr.FlowSize) {
			t.Errorf("%s: %d links, %d events for %d flows", p, len(tr.LinkFrom), len(tr.EvTimeNs), len(tr.FlowSize))
		}
	}
	if msg, err = run(t, "datagen", "--dynamics", "--spec", spec, "--out", out, "--no-progress"); err != nil || !strings.Contains(msg, "2 finished before") {
		t.Errorf("rerun: %q %v", msg, err)
	}
	if _, err = run(t, "datagen", "--from-workload", "--spec", spec, "--out", out, "--no-progress"); err == nil || !strings.Contains(err.Error(), "another spec") {
		t.Errorf("--from-workload into a --dynamics folder: %v", err)
	}
	if _, err = run(t, "datagen", "--from-workload", "--dynamics", "--spec", spec, "--out", out); err == nil || !strings.Contains(err.Error(), "give one") {
		t.Errorf("both modes: %v", err)
	}
}
