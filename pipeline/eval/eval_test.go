package eval

import (
	"math"
	"testing"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/pipeline/aggregate"
	"github.com/m4sim/m4/pipeline/features"
	"github.com/m4sim/m4/pipeline/workload"
)

func generate(t *testing.T, spec string) (*workload.Workload, features.Config) {
	t.Helper()
	if !bindings.Native {
		t.Skip(bindings.ErrNoNative)
	}
	s, err := workload.ParseSpec("test.yaml", []byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	w, err := workload.Generate(s)
	if err != nil {
		t.Fatal(err)
	}
	algo, _ := features.ParseCC(s.CC.Algorithm)
	return w, features.DefaultConfig(algo, 300, 18000, true)
}

// A single DCTCP flow with a window above the BDP, alone in the network,
// finishes in its ideal FCT: slowdown exactly 1.
func TestGroundTruthLoneFlowHasSlowdownOne(t *testing.T) {
	w, cfg := generate(t, `
topology: {kind: fattree, k: 4}
sizes: {dist: webserver}
traffic: {matrix: uniform}
max_load: 0.3
flows: 1
seed: 5
cc: {algorithm: dctcp, window_bytes: 18000, pfc: true}
`)
	tr, err := GroundTruth(w, cfg, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Slowdown) != 1 || tr.Slowdown[0] != 1 {
		t.Fatalf("lone flow slowdown %v, want [1]", tr.Slowdown)
	}
}

func TestGroundTruthAndCompare(t *testing.T) {
	w, cfg := generate(t, `
topology: {kind: fattree, k: 4}
sizes: {dist: webserver}
traffic: {matrix: uniform}
max_load: 0.5
flows: 2000
seed: 6
cc: {algorithm: dctcp, window_bytes: 18000, pfc: true}
`)
	tr, err := GroundTruth(w, cfg, 0)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Dist.All != 2000 {
		t.Fatalf("truth has %v flows, want 2000", tr.Dist.All)
	}
	slower := 0
	for i, s := range tr.Slowdown {
		if !(s >= 1) || math.IsInf(s, 0) {
			t.Fatalf("flow %d: slowdown %v", i, s)
		}
		if s > 1.01 {
			slower++
		}
	}
	if slower == 0 {
		t.Fatal("no flow slowed down at 50% load")
	}
	rows := Compare(tr.Dist, []*aggregate.Distribution{tr.Dist}, Quantiles)
	if len(rows) == 0 {
		t.Fatal("no rows")
	}
	for _, r := range rows {
		if r.RelErr(0) != 0 {
			t.Fatalf("truth against itself: %+v", r)
		}
	}
}
