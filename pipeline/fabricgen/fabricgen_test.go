package fabricgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/pipeline/datagen"
	"github.com/m4sim/m4/pipeline/dataset"
	"github.com/m4sim/m4/pipeline/eval"
	"github.com/m4sim/m4/pipeline/features"
	"github.com/m4sim/m4/pipeline/flowsim"
	"github.com/m4sim/m4/pipeline/infer"
	"github.com/m4sim/m4/pipeline/npyfile"
	"github.com/m4sim/m4/pipeline/scenario"
	"github.com/m4sim/m4/pipeline/workload"
)

// tinySpec: a 64-host fabric and a few hundred flows per workload.
func tinySpec() *Spec {
	s := DefaultSpec()
	s.Seed = 5
	s.Workloads = datagen.ShardRange{First: 0, Count: 2}
	s.Paths = 25
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
	if s.Seed != 4 || s.Workloads.Count != 3 || !slices.Equal(s.Matrices, []string{"uniform"}) || s.Paths != d.Paths ||
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
		{"paths: -1\n", "paths: -1"},
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

// TestBuild: every shard is a path of the workload whose target is its own
// flows' whole-network packet-level slowdowns, read back by the reference
// loaders exactly as written.
func TestBuild(t *testing.T) {
	if !bindings.Native {
		t.Skip(bindings.ErrNoNative)
	}
	spec := tinySpec()
	dir := t.TempDir()
	sum, shards, err := Build(spec, 1, 0, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(shards) < 10 || len(shards) > spec.Paths || sum.Foreground < len(shards) {
		t.Fatalf("%d shards, %d foreground flows from %d draws", len(shards), sum.Foreground, spec.Paths)
	}
	// the ground truth the shards were cut from
	dr, _ := spec.Draw(1)
	wl, err := workload.Generate(dr.Spec)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := eval.GroundTruth(wl, dr.Config, 0)
	if err != nil {
		t.Fatal(err)
	}
	samples, err := dataset.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(samples) != len(shards) {
		t.Fatalf("dataset.Load read %d of %d shards", len(samples), len(shards))
	}
	fgTotal := 0
	for _, s := range samples {
		p, err := scenario.LoadShard(s.Dir, 0)
		if err != nil {
			t.Fatal(err)
		}
		ids, err := npyfile.Read(filepath.Join(s.Dir, "flow_ids.npy"))
		if err != nil {
			t.Fatal(err)
		}
		flow, _ := ids.Int64s()
		var want []float64 // the foreground flows' true slowdowns
		for i := range flow {
			f := flow[i]
			if p.ArrivalNs[i] != float64(wl.Flows.StartNs[f]) || p.SizeBytes[i] != float64(wl.Flows.Size[f]) {
				t.Fatalf("%s: flow %d is not workload flow %d", s.Name(), i, f)
			}
			if p.Src[i] == 0 && int(p.Dst[i]) == p.Hosts-1 {
				want = append(want, tr.Slowdown[f])
			}
		}
		if s.Foreground != len(want) || s.Foreground == 0 {
			t.Fatalf("%s: %d foreground flows counted, %d in the flows", s.Name(), s.Foreground, len(want))
		}
		fgTotal += len(want)
		// every target value is one of the foreground flows' slowdowns, and
		// the smallest and largest are there
		slices.Sort(want)
		var got []float64
		for i, v := range s.Target {
			if s.Mask[i] > 0 {
				got = append(got, float64(v))
			}
		}
		for _, v := range got {
			k, _ := slices.BinarySearchFunc(want, v, func(a, b float64) int {
				if math.Abs(a-b) <= 1e-6*b {
					return 0
				}
				if a < b {
					return -1
				}
				return 1
			})
			if k >= len(want) || math.Abs(want[k]-v) > 1e-6*v {
				t.Fatalf("%s: target %v is no foreground flow's slowdown %v", s.Name(), v, want)
			}
		}
		// the stored flowsim FCTs and feature map are what the loaders make
		fs, err := flowsim.Run(p)
		if err != nil {
			t.Fatal(err)
		}
		a, err := npyfile.Read(filepath.Join(s.Dir, "fct_flowsim.npy"))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(a.Float64s(), fs.FCTNs) {
			t.Fatalf("%s: stored flowsim FCTs differ from a flowsim run on the shard", s.Name())
		}
		mp, err := features.FromShard(s.Dir, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(mp.Input.Res, s.Input.Res) || !slices.Equal(mp.Output.ResOutput, s.Target) {
			t.Fatalf("%s: the feature map on disk differs from one built from the shard", s.Name())
		}
	}
	if fgTotal != sum.Foreground {
		t.Errorf("foreground flows: %d in the shards, %d in the summary", fgTotal, sum.Foreground)
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
	names := func() []string {
		m, _ := filepath.Glob(filepath.Join(out, "shard*"))
		return m
	}
	first := names()
	if len(first) != r.Shards {
		t.Fatalf("%d folders for %d shards", len(first), r.Shards)
	}
	// workload 1 half-finished: its summary gone, a stray folder of it left
	if err := os.Remove(summaryPath(out, 1)); err != nil {
		t.Fatal(err)
	}
	stray := filepath.Join(out, "shard1_path999999_nflows1_nhosts3_lr10Gbps")
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
	again := names()
	for _, n := range first {
		if !slices.Contains(again, n) {
			t.Errorf("%s gone after the rerun", n)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(out, ".partial-*")); len(left) > 0 {
		t.Errorf("partial folders left: %v", left)
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
