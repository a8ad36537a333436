package pathfeat

import (
	"math"
	"slices"
	"testing"

	"github.com/m4sim/m4/internal/workloadtest"
	"github.com/m4sim/m4/pipeline/decompose"
	"github.com/m4sim/m4/pipeline/features"
	"github.com/m4sim/m4/pipeline/flowsim"
	"github.com/m4sim/m4/pipeline/model"
	"github.com/m4sim/m4/pipeline/workload"
)

// One Builder reused over every path of a workload (paths of 3, 5 and 7
// hosts, in turn) gives what the definitions give on each path alone:
// flowsim, the feature map (features.BuildInput), m3's empty buckets
// (model.EmptyBuckets of the map's shares) and flowsim's percentiles of the
// foreground slowdowns (features.Slowdowns over all the path's flows).
func TestBuilderMatchesDefinitions(t *testing.T) {
	_, d := decomposed(t, "topology: {kind: fattree, k: 4}\nsizes: {dist: webserver}\n"+
		"arrivals: {process: poisson}\ntraffic: {matrix: uniform}\nmax_load: 0.6\nflows: 2000\nseed: 5\n")
	b, err := NewBuilder()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var p Path
	var sc decompose.Scenario
	vec := make([]float64, 15)
	vec[1], vec[2], vec[4] = 30, 18, 1
	emptyCells := 0
	isolated := map[bool]int{} // foreground flows that met no other, and that did
	for pi := d.NumPaths() - 1; pi >= 0; pi -= 3 {
		if err := d.ScenarioInto(pi, &sc); err != nil {
			t.Fatal(err)
		}
		params, err := features.ParamsFor(features.V2, sc.Hosts, true, 0, vec)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Build(&sc, params, &p); err != nil {
			t.Fatal(err)
		}
		fs, err := flowsim.Run(sc.Path)
		if err != nil {
			t.Fatal(err)
		}
		in, err := features.BuildInput(sc.Path, fs.FCTNs, params)
		if err != nil {
			t.Fatal(err)
		}
		empty, err := model.EmptyBuckets(in.NumFlowsPerCell, in.Hosts, features.NumInputBuckets, features.NumPercentiles)
		if err != nil {
			t.Fatal(err)
		}
		if p.Hosts != sc.Hosts || p.Input.Hosts != sc.Hosts || !slices.Equal(p.Input.Res, in.Res) || !slices.Equal(p.Input.Empty, empty) {
			t.Fatalf("path %d: feature map or empty buckets differ from features.BuildInput's", pi)
		}
		for i, e := range empty {
			emptyCells += int(e)
			if (e == 1) != (in.Counts[i] == 0) {
				t.Fatalf("path %d: bucket %d: empty %d with %d flows", pi, i, e, in.Counts[i])
			}
		}
		sl, err := features.Slowdowns(sc.Path, fs.FCTNs)
		if err != nil {
			t.Fatal(err)
		}
		var per [features.NumOutputBuckets][]float64
		var fg []int
		for i, f := range sc.Foreground {
			if f {
				k := features.OutputBucket(sc.SizeBytes[i])
				per[k] = append(per[k], sl[i])
				fg = append(fg, i)
			}
		}
		if !slices.Equal(p.Foreground, fg) {
			t.Fatalf("path %d: foreground %v, want %v", pi, p.Foreground, fg)
		}
		for j, i := range fg {
			if p.FGSlowdown[j] != sl[i] {
				t.Fatalf("path %d: foreground flow %d: slowdown %v, want %v", pi, i, p.FGSlowdown[j], sl[i])
			}
			// isolated: no other lot flow's flowsim interval meets its own
			a, e := sc.ArrivalNs[i], sc.ArrivalNs[i]+fs.FCTNs[i]
			alone := true
			for k := range sc.ArrivalNs {
				if k != i && sc.ArrivalNs[k] < e && a < sc.ArrivalNs[k]+fs.FCTNs[k] {
					alone = false
				}
			}
			if p.FGIsolated[j] != alone {
				t.Fatalf("path %d: foreground flow %d: isolated %v, want %v", pi, i, p.FGIsolated[j], alone)
			}
			isolated[alone]++
			if alone && math.Abs(sl[i]-1) > 1e-9 {
				t.Fatalf("path %d: foreground flow %d ran alone at slowdown %v", pi, i, sl[i])
			}
		}
		for k, v := range per {
			if p.Flows[k] != len(v) {
				t.Fatalf("path %d bucket %d: %d flows, want %d", pi, k, p.Flows[k], len(v))
			}
			var want [features.NumPercentiles]float64
			if len(v) == 0 {
				for j := range want {
					want[j] = 1
				}
			} else {
				slices.Sort(v)
				if err := features.Percentiles(v, &want); err != nil {
					t.Fatal(err)
				}
			}
			if p.Flowsim[k] != want {
				t.Fatalf("path %d bucket %d: flowsim percentiles differ", pi, k)
			}
		}
	}
	if isolated[true] == 0 || isolated[false] == 0 {
		t.Errorf("foreground flows isolated / not: %d / %d: the case tests one side only", isolated[true], isolated[false])
	}
	if emptyCells == 0 {
		t.Error("no empty cell in any path: the test needs some")
	}
}

// decomposed generates the workload of spec text and splits it into paths.
func decomposed(t *testing.T, spec string) (*workload.Workload, *decompose.Decomposition) {
	t.Helper()
	w, _ := workloadtest.Generate(t, spec)
	d, err := decompose.New(w.Routing, &w.Flows)
	if err != nil {
		t.Fatal(err)
	}
	return w, d
}
