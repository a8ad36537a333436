package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/m4sim/m4/pipeline/workload"
)

func TestWorkloadCommand(t *testing.T) {
	dir := t.TempDir()
	spec := filepath.Join(dir, "w.yaml")
	os.WriteFile(spec, []byte("topology: {kind: fattree, k: 4}\nsizes: {dist: websearch}\nmax_load: 0.4\nflows: 2000\nseed: 9\n"), 0o644)
	out := filepath.Join(dir, "out")
	msg, err := run(t, "workload", "--spec", spec, "--out", out, "--host-gbps", "100", "--fabric-gbps", "400")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(msg, "16 hosts, 20 switches, 48 links; 2000 flows") {
		t.Errorf("output %q", msg)
	}
	for _, f := range []string{"topology.txt", "topology.json", "topology.npz", "flow.txt", "fat.npy", "fsize.npy", "fsd.npy", "spec.json", "link_load.npy", "summary.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
	topo, err := workload.ReadNS3(filepath.Join(out, "topology.txt"))
	if err != nil || topo.Links[0].Gbps != 100 || topo.Links[len(topo.Links)-1].Gbps != 400 {
		t.Errorf("rates by flag not in topology.txt: %v", err)
	}
	// the same spec and seed give the same flow file
	again := filepath.Join(dir, "again")
	if _, err := run(t, "workload", "--spec", spec, "--out", again, "--host-gbps", "100", "--fabric-gbps", "400"); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(filepath.Join(out, "flow.txt"))
	b, _ := os.ReadFile(filepath.Join(again, "flow.txt"))
	if !reflect.DeepEqual(a, b) {
		t.Error("two runs of one spec wrote different flow files")
	}
	// a bad spec: an error naming the field, and nothing written
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("topology: {kind: fattree, k: 4}\nsizes: {dist: websearch}\nmax_load: 0.4\nflows: 20\n"), 0o644)
	badOut := filepath.Join(dir, "bad-out")
	if _, err := run(t, "workload", "--spec", bad, "--out", badOut, "--max-load", "2"); err == nil || !strings.Contains(err.Error(), "--max-load 2") {
		t.Errorf("max load 2: %v", err)
	}
	if _, err := os.Stat(badOut); !os.IsNotExist(err) {
		t.Errorf("a failed run left %s", badOut)
	}
}

func TestExampleSpecs(t *testing.T) {
	// the example specs (testdata/fuzz holds fuzz corpora, not specs)
	yml, _ := filepath.Glob("../../pipeline/workload/testdata/*.yaml")
	jsn, _ := filepath.Glob("../../pipeline/workload/testdata/*.json")
	files := append(yml, jsn...)
	if len(files) < 3 {
		t.Fatalf("example specs: %v", files)
	}
	for _, f := range files {
		s, err := workload.LoadSpec(f)
		if err != nil {
			t.Fatal(err)
		}
		s.Flows, s.DurationS = 1000, 0 // keep it quick
		if _, err := workload.Generate(s); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}
