package pktsim

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// forkPlanes is a run of the fork itself (branch m3, scratch/third run in
// the folder): 16 hosts in two pods of two ToRs, two aggregation switches
// per pod (planes 0 and 1), two cores per plane, switch ids shuffled
// among the hosts', every link 10 Gbps, 400 DCTCP flows. Flows meet up to
// two ECMP stages, so the order of the fork's next hops matters: with next
// hops in ascending node id only 205 of the 400 FCTs match.
const forkPlanes = "testdata/fork-planes"

// checkExact asserts that every flow's FCT and ideal FCT are the fork's
// and so every cell equals the fork's.
func checkExact(t *testing.T, r *RunReport) {
	t.Helper()
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	if r.Exact != r.Flows || r.IdealOK != r.Flows {
		t.Errorf("%s: %d of %d FCTs and %d ideal FCTs equal the fork's, want all", r.Dir, r.Exact, r.Flows, r.IdealOK)
	}
	if in, cells := r.Within(0); in != cells || cells != 3*NumCellRows {
		b, k, e := r.Worst()
		t.Errorf("%s: %d of %d cells equal the fork's, want all 15; worst %s off by %g", r.Dir, in, cells, CellName(b, k), e)
	}
}

func TestForkRunPlanes(t *testing.T) {
	needNative(t)
	checkExact(t, CompareRun(forkPlanes, Options{}))
	// and fct.txt is the fork's byte for byte (completion order, ports, IPs)
	run, err := LoadForkRun(filepath.Join(forkPlanes, ForkRunConfig), "", "")
	if err != nil {
		t.Fatal(err)
	}
	res, err := run.Run(Options{})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "fct.txt")
	if err := WriteFCTText(out, run.Flows, res); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(out)
	want, err := os.ReadFile(run.FCTFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("fct.txt differs from the fork's %s", run.FCTFile)
	}
}

// The shared fabric runs (256 hosts, 10,000 flows): pktsim gives every flow
// the fork's FCT. The fork's cells are also checked against the numpy
// percentiles its generator wrote (summary.json), which pins the size
// buckets and the percentile definition. fab3 (HPCC, 4:1) and fab5 (DCTCP,
// 2:1) take about a second each; `m4 pktsim --validate` runs all eight.
func TestSharedFabricRuns(t *testing.T) {
	needNative(t)
	ref := referenceDir(t)
	for _, fab := range []string{"fab3", "fab5"} {
		dir := filepath.Join(ref, "ns3-fabrics", fab)
		r := CompareRun(dir, Options{})
		checkExact(t, r)
		raw, err := os.ReadFile(filepath.Join(dir, "summary.json"))
		if err != nil {
			t.Fatal(err)
		}
		type cell struct {
			N             int
			P50, P90, P99 float64
		}
		var sum struct {
			Overall cell
			BySize  map[string]cell `json:"by_size"`
		}
		if err := json.Unmarshal(raw, &sum); err != nil {
			t.Fatal(err)
		}
		rows := []cell{sum.BySize["lt1KB"], sum.BySize["1KB_10KB"], sum.BySize["10KB_50KB"], sum.BySize["ge50KB"], sum.Overall}
		for b, c := range rows {
			want := [3]float64{c.P50, c.P90, c.P99}
			for k := range want {
				if r.RowFlows[b] != c.N || math.Abs(r.Theirs[b][k]-want[k]) > 1e-12*want[k] {
					t.Errorf("%s %s: %d flows, fork's %v, summary.json says %d flows, %v", fab, CellName(b, k), r.RowFlows[b], r.Theirs[b][k], c.N, want[k])
				}
			}
		}
	}
}

func TestLoadForkRun(t *testing.T) {
	tmp := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(tmp, "run", "in"), 0o755))
	topo := "3 1 2\n2\n0 2 10Gbps 1000ns 0\n1 2 10Gbps 1000ns 0\n"
	must(os.WriteFile(filepath.Join(tmp, "run", "in", "topo.txt"), []byte(topo), 0o644))
	must(os.WriteFile(filepath.Join(tmp, "run", "flows.txt"), []byte("1\n0 0 1 3 100 1000 1.0\n2.0\n"), 0o644))
	must(os.WriteFile(filepath.Join(tmp, "other.txt"), []byte("2\n0 0 1 3 100 1000 1.0\n1 1 0 3 100 5 1.5\n"), 0o644))
	cfg := filepath.Join(tmp, "run", "config.txt")
	must(os.WriteFile(cfg, []byte("CC_MODE 8\nTOPOLOGY_FILE in/topo.txt\nFLOW_FILE flows.txt\nFCT_OUTPUT_FILE out/fct.txt\n"), 0o644))

	r, err := LoadForkRun(cfg, "", "")
	must(err)
	if r.Topology.Nodes != 3 || r.Flows.Len() != 1 || r.FCTFile != filepath.Join(tmp, "run", "out", "fct.txt") {
		t.Errorf("beside the config: %d nodes, %d flows, FCT file %s", r.Topology.Nodes, r.Flows.Len(), r.FCTFile)
	}
	// an explicit flow file replaces FLOW_FILE and is used as given
	r, err = LoadForkRun(cfg, "", filepath.Join(tmp, "other.txt"))
	must(err)
	if r.Flows.Len() != 2 {
		t.Errorf("override: %d flows, want 2", r.Flows.Len())
	}

	for i, c := range []struct{ config, want string }{
		{"CC_MODE 8\nFLOW_FILE flows.txt\n", "TOPOLOGY_FILE is not set"},
		{"CC_MODE 8\nTOPOLOGY_FILE in/topo.txt\n", "FLOW_FILE is not set"},
		{"CC_MODE 8\nTOPOLOGY_FILE topo.txt\nFLOW_FILE flows.txt\n", "config.txt: TOPOLOGY_FILE: open " + filepath.Join(tmp, "run", "topo.txt")},
		{"CC_MODE 8\nTOPOLOGY_FILE in/topo.txt\nFLOW_FILE in/topo.txt\n", "config.txt: FLOW_FILE: " + filepath.Join(tmp, "run", "in", "topo.txt") + ":3: flow 1 pg"},
		{"CC_MODE 8\nTOPOLOGY_FILE in/topo.txt\nFLOW_FILE flows.txt\nCC_MODE x\n", "config.txt:4: CC_MODE"},
	} {
		must(os.WriteFile(cfg, []byte(c.config), 0o644))
		if _, err := LoadForkRun(cfg, "", ""); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("case %d: error %v, want %q", i, err, c.want)
		}
	}
	// validating a run the fork has not run yet
	must(os.WriteFile(cfg, []byte("CC_MODE 8\nTOPOLOGY_FILE in/topo.txt\nFLOW_FILE flows.txt\n"), 0o644))
	if r := CompareRun(filepath.Join(tmp, "run"), Options{}); r.Err == nil || !strings.Contains(r.Err.Error(), "config.txt: FCT_OUTPUT_FILE (the fork's output): open "+filepath.Join(tmp, "run", "fct.txt")) {
		t.Errorf("no fct.txt: %v", r.Err)
	}
}

func TestReadFCTFile(t *testing.T) {
	flows, err := ParseFlows("flows.txt", strings.NewReader("2\n7 0 1 3 100 1000 1.0\n9 1 0 3 100 5000 1.5\n"))
	if err != nil {
		t.Fatal(err)
	}
	line7 := "7 0b000001 0b000101 10000 100 1000 1000000000 3000 2500\n"
	line9 := "9 0b000101 0b000001 10000 100 5000 1500000000 6000 6400\n"
	path := filepath.Join(t.TempDir(), "fct.txt")
	if err := os.WriteFile(path, []byte(line9+"\n"+line7), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := ReadFCTFile(path, flows)
	if err != nil {
		t.Fatal(err)
	}
	if f.FCTNs[0] != 3000 || f.IdealNs[0] != 2500 || f.FCTNs[1] != 6000 || f.IdealNs[1] != 6400 ||
		f.Slowdown(0) != 1.2 || f.Slowdown(1) != 1 {
		t.Errorf("read %+v", f)
	}
	for i, c := range []struct{ text, want string }{
		{line7, "1 of 2 flows finished; flow id 9 (line 3 of flows.txt) is missing"},
		{line7 + line7 + line9, ":2: flow id 7 appears twice"},
		{line7 + "8 0b000101 0b000001 10000 100 5000 1500000000 6000 6400\n", ":2: flow id 8 is not in flows.txt"},
		{line7 + "9 0b000101 0b000001 10000 100 4000 1500000000 6000 6400\n", ":2: flow id 9 has size 4000, the flow file says 5000"},
		{line7 + "9 0b000101 0b000001 10000 100 5000 1500000000 6000 0\n", ":2: flow id 9: ideal_ns 0, want > 0"},
		{line7 + "9 0b000101 0b000001 10000 100 5000 1500000000 6000\n", ":2: 8 fields, want 9"},
		{line7 + "9 0b000101 0b000001 10000 100 5000 1500000000 -6 6400\n", `:2: fct_ns "-6" is not a non-negative integer`},
	} {
		if err := os.WriteFile(path, []byte(c.text), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadFCTFile(path, flows); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("case %d: error %v, want %q", i, err, c.want)
		}
	}
}
