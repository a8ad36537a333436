package netdata

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/m4sim/m4/pipeline/infer"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/pipeline/datagen"
	"github.com/m4sim/m4/pipeline/truth"
	"github.com/m4sim/m4/pipeline/workload"
)

// tinySpec: a 64-host fabric and a few hundred flows per workload.
func tinySpec() *Spec {
	s := DefaultSpec()
	s.Seed = 5
	s.Workloads = datagen.ShardRange{First: 0, Count: 2}
	s.Topologies = []workload.TopologySpec{{Kind: "fabric", Pods: 2, FabsPerPod: 2, RacksPerPod: 16, HostsPerRack: 2, Oversubscription: 2}}
	s.Flows = []float64{300, 500}
	s.Matrices = []string{"uniform", "cluster_b"}
	return &s
}

func writeSpec(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "spec.yaml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadSpec(t *testing.T) {
	s, err := LoadSpec(writeSpec(t, "seed: 4\nmatrices: [uniform]\nworkloads: {count: 3}\n"))
	if err != nil {
		t.Fatal(err)
	}
	d := DefaultSpec()
	if s.Seed != 4 || s.Workloads.Count != 3 || !slices.Equal(s.Matrices, []string{"uniform"}) ||
		!slices.Equal(s.Config.CC, d.Config.CC) || !slices.Equal(s.Sizes, workload.EmpiricalNames) {
		t.Errorf("defaults not filled: %+v", s)
	}
	bad := []struct{ text, want string }{
		{"seeed: 1\n", "seeed"},
		{"flows: [3000, 2000]\n", "flows: lo 3000 > hi 2000"},
		{"max_load: [0.2, 1.5]\n", "max_load: 1.5 is outside"},
		{"matrices: [cluster_z]\n", `matrices[0]: unknown traffic matrix "cluster_z"`},
		{"sizes: [webserver, nosuch]\n", `sizes[1]: unknown size distribution "nosuch"`},
		{"arrivals: [bursty]\n", `arrivals[0]: unknown arrival process "bursty"`},
		{"topologies: [{kind: fabric, host_gbps: 25}]\n", "topologies[0]: host links 25 Gbps"},
		{"topologies: [{kind: fattree, k: 3}]\n", "topologies[0]"},
		{"max_bytes: -1\n", "max_bytes: -1"},
		{"topologies: [{kind: fabric, racks_per_pod: 4}]\nmatrices: [cluster_b]\n", "matrices[0] on topologies[0]"},
		{"config: {cc: [reno]}\n", `config.cc[0]: unknown congestion control "reno"`},
		{"config: {buffer_kb: [500, 200]}\n", "config.buffer_kb: lo 500 > hi 200"},
		// sizes the fuzzer found taking seconds to build: refused before building
		{"topologies: [{hosts_per_rack: 88888}]\n", "topologies[0]: up to 2844484 nodes, want at most 32768"},
		{"topologies: [{kind: fabric, fabs_per_pod: 500000}]\n", "topologies[0]: up to 9000288 nodes"},
		{"topologies: [{kind: fattree, k: 64}]\n", "topologies[0]: up to 70656 nodes"},
	}
	for _, b := range bad {
		_, err := LoadSpec(writeSpec(t, b.text))
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%q: error %v, want one naming %q", b.text, err, b.want)
		}
	}
}

// TestDraw: draws are deterministic, seeds never small, every choice within
// the spec, and the CC configuration survives the workload spec (what m4
// run reads) unchanged.
func TestDraw(t *testing.T) {
	s := DefaultSpec()
	s.Matrices = []string{"uniform", "cluster_b"}
	seen := map[string]bool{}
	for w := 0; w < 60; w++ {
		a, err := s.Draw(w)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := s.Draw(w)
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if string(ja) != string(jb) {
			t.Fatalf("workload %d drawn twice differs", w)
		}
		ws := a.Spec
		if a.Seed < 1<<32 || ws.Seed != a.Seed {
			t.Errorf("workload %d: seed %d", w, ws.Seed)
		}
		if !slices.Contains(s.Matrices, ws.Traffic.Matrix) || ws.MaxLoad < 0.2 || ws.MaxLoad > 0.8 || ws.Flows < 2000 || ws.Flows > 20000 {
			t.Errorf("workload %d: outside the spec: %+v", w, ws)
		}
		seen[ws.Sizes.Dist] = true
		cfg, err := infer.ConfigOf(ws.CC)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Vector() != a.Config.Vector() || cfg.ParamText() != a.Config.ParamText() {
			t.Errorf("workload %d: configuration %+v came back from the workload spec as %+v", w, a.Config, cfg)
		}
	}
	if len(seen) < 5 {
		t.Errorf("only size distributions %v drawn in 60 workloads", seen)
	}
}

// TestBuild: a workload folder holds the workload's flows and the packet
// simulator's FCT of every one, read back exactly as written.
func TestBuild(t *testing.T) {
	if !bindings.Native {
		t.Skip(bindings.ErrNoNative)
	}
	spec := tinySpec()
	dir := t.TempDir()
	sum, err := Build(spec, 1, Options{}, dir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	dr, _ := spec.Draw(1)
	wl, err := workload.Generate(dr.Spec)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := truth.Simulate(wl, dr.Config, truth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Flows != wl.Flows.Len() || sum.Events != tr.Events || sum.Unusable != "" {
		t.Fatalf("summary %+v; %d flows, %d events", sum, wl.Flows.Len(), tr.Events)
	}
	back, err := ReadWorkload(dir)
	if err != nil {
		t.Fatal(err)
	}
	f, g := &wl.Flows, &back.W.Flows
	if !slices.Equal(f.Src, g.Src) || !slices.Equal(f.Dst, g.Dst) || !slices.Equal(f.Size, g.Size) || !slices.Equal(f.StartNs, g.StartNs) {
		t.Fatal("flows read back differ from the generated ones")
	}
	if !slices.Equal(back.FCTNs, tr.FCTNs) || !slices.Equal(back.IdealNs, tr.IdealNs) {
		t.Fatal("FCTs read back differ from the packet simulator's")
	}
	if back.Config != dr.Config || back.W.Topo.NumNodes() != wl.Topo.NumNodes() || len(back.W.Topo.Links) != len(wl.Topo.Links) {
		t.Fatalf("config %+v vs %+v, or another topology", back.Config, dr.Config)
	}
	// a truncated truth file is an error naming it
	tp := filepath.Join(dir, TruthFile)
	b, _ := os.ReadFile(tp)
	os.WriteFile(tp, b[:len(b)/2], 0o644)
	if _, err := ReadWorkload(dir); err == nil || !strings.Contains(err.Error(), TruthFile) {
		t.Errorf("truncated truth: %v", err)
	}
}

// TestRunResume: finished workloads are skipped, an unfinished one's
// leftovers are replaced, another spec is refused.
func TestRunResume(t *testing.T) {
	if !bindings.Native {
		t.Skip(bindings.ErrNoNative)
	}
	spec := tinySpec()
	out := t.TempDir()
	ctx := context.Background()
	r, err := Run(ctx, spec, Options{Out: out, Workers: 2})
	if err != nil || r.Done != 2 || len(r.Failed) != 0 {
		t.Fatalf("first run: %+v, %v", r, err)
	}
	first, _ := os.ReadFile(filepath.Join(WorkloadDir(out, 0), TruthFile))
	// workload 1 half-finished: its summary gone; a stray partial folder
	if err := os.Remove(summaryPath(out, 1)); err != nil {
		t.Fatal(err)
	}
	stray := filepath.Join(out, ".partial-wl1-123")
	if err := os.Mkdir(stray, 0o755); err != nil {
		t.Fatal(err)
	}
	spec.Workloads.Count = 3
	r, err = Run(ctx, spec, Options{Out: out, Workers: 1})
	if err != nil || r.Done != 2 || r.Skipped != 1 {
		t.Fatalf("second run: %+v, %v", r, err)
	}
	if _, err := os.Stat(stray); err == nil {
		t.Error("the leftover folder of an unfinished workload was kept")
	}
	again, _ := os.ReadFile(filepath.Join(WorkloadDir(out, 0), TruthFile))
	if len(first) == 0 || !bytes.Equal(first, again) {
		t.Error("a finished workload changed on the rerun")
	}
	for w := range 3 {
		if _, err := ReadWorkload(WorkloadDir(out, w)); err != nil {
			t.Errorf("workload %d: %v", w, err)
		}
	}
	other := tinySpec()
	other.Seed = 6
	if _, err := Run(ctx, other, Options{Out: out}); err == nil || !strings.Contains(err.Error(), "another spec") {
		t.Errorf("another spec into the folder: %v", err)
	}
}

// TestUnfinishedFlows: the run that leaves flows unfinished (pktsim's
// budget error naming the stop time; pipeline/pktsim's tests pin its text)
// makes a workload unusable; an event budget or another error fails it.
func TestUnfinishedFlows(t *testing.T) {
	stop := fmt.Errorf("ground truth: %w", fmt.Errorf("pktsim: 4 of 15923 flows did not finish by the stop time (4 s): %w", bindings.ErrBudget))
	events := fmt.Errorf("ground truth: %w", fmt.Errorf("pktsim: stopped at the event budget of 1000: %w", bindings.ErrBudget))
	other := errors.New("ground truth: flow 3 did not finish by the stop time")
	if !unfinishedFlows(stop) || unfinishedFlows(events) || unfinishedFlows(other) || unfinishedFlows(nil) {
		t.Errorf("classification: %v %v %v", unfinishedFlows(stop), unfinishedFlows(events), unfinishedFlows(other))
	}
}
