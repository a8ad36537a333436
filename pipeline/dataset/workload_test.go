package dataset

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/pipeline/cc"
	"github.com/m4sim/m4/pipeline/datagen"
	"github.com/m4sim/m4/pipeline/decompose"
	"github.com/m4sim/m4/pipeline/features"
	"github.com/m4sim/m4/pipeline/netdata"
	"github.com/m4sim/m4/pipeline/workload"
)

// TestLoadWorkloads: every path cut from a simulated workload has, as its
// target, the percentiles of its own flows' packet-level slowdowns, and the
// sample's flowsim answer and inputs are the path's; V2 re-encoding changes
// only the parameter block.
func TestLoadWorkloads(t *testing.T) {
	if !bindings.Native {
		t.Skip(bindings.ErrNoNative)
	}
	spec := netdata.DefaultSpec()
	spec.Seed, spec.Workloads = 3, datagen.ShardRange{Count: 2}
	spec.Topologies = []workload.TopologySpec{{Kind: "fabric", Pods: 2, FabsPerPod: 2, RacksPerPod: 16, HostsPerRack: 2, Oversubscription: 2}}
	spec.Flows, spec.Matrices = []float64{300, 500}, []string{"uniform"}
	spec.Config.PFC = []bool{true}
	out := t.TempDir()
	if r, err := netdata.Run(context.Background(), &spec, netdata.Options{Out: out, Workers: 2}); err != nil || r.Done != 2 {
		t.Fatalf("%+v %v", r, err)
	}
	samples, err := LoadWorkloads(WorkloadOptions{Paths: 40, Seed: 1}, out)
	if err != nil {
		t.Fatal(err)
	}
	groups := map[string]bool{}
	for _, s := range samples {
		groups[s.Group] = true
	}
	if len(groups) != 2 || len(samples) < 20 {
		t.Fatalf("%d samples from %d workloads", len(samples), len(groups))
	}
	// with a CC set, only that algorithm's workloads, their paths as before
	for _, alg := range cc.All() {
		of, err := LoadWorkloads(WorkloadOptions{Paths: 40, Seed: 1, CC: alg}, out)
		if err != nil {
			t.Fatal(err)
		}
		var want []*Sample
		for _, s := range samples {
			if s.CC == string(alg) {
				want = append(want, s)
			}
		}
		if len(of) != len(want) {
			t.Fatalf("%s: %d paths, want %d", alg, len(of), len(want))
		}
		for i := range of {
			if of[i].Dir != want[i].Dir || of[i].File != want[i].File {
				t.Errorf("%s: path %d is %s/%s, want %s/%s", alg, i, of[i].Dir, of[i].File, want[i].Dir, want[i].File)
			}
		}
	}
	// a cut path's folder holds its workload, not a lot to resample
	if aug, err := ResamplesOf(samples, 2, 1, nil); err != nil || len(aug) != 0 {
		t.Errorf("resamples of cut paths: %d, %v; want none", len(aug), err)
	}
	wl, err := netdata.ReadWorkload(netdata.WorkloadDir(out, 0))
	if err != nil {
		t.Fatal(err)
	}
	d, err := decompose.New(wl.W.Routing, &wl.W.Flows)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, s := range samples {
		if s.Dir != netdata.WorkloadDir(out, 0) {
			continue
		}
		var p int
		if _, err := fmt.Sscanf(s.File, "path%d", &p); err != nil {
			t.Fatal(err)
		}
		fg := d.Foreground(p)
		if s.Foreground != len(fg) || !s.Network || s.Hosts != len(d.PathChannels(p))+1 {
			t.Fatalf("%s: %d foreground flows (path has %d), network %v, %d hosts", s.File, s.Foreground, len(fg), s.Network, s.Hosts)
		}
		var per [features.NumOutputBuckets][]float64
		for _, f := range fg {
			b := features.OutputBucket(float64(wl.W.Flows.Size[f]))
			per[b] = append(per[b], float64(max(wl.FCTNs[f], wl.IdealNs[f]))/float64(wl.IdealNs[f]))
		}
		for b, v := range per {
			row := s.Target[b*features.NumPercentiles : (b+1)*features.NumPercentiles]
			mask := s.Mask[b*features.NumPercentiles : (b+1)*features.NumPercentiles]
			if len(v) == 0 {
				if slices.ContainsFunc(mask, func(m float32) bool { return m != 0 }) {
					t.Fatalf("%s: bucket %d has no flows but is unmasked", s.File, b)
				}
				continue
			}
			slices.Sort(v)
			if math.Abs(float64(row[0])-v[0]) > 1e-6*v[0] || math.Abs(float64(row[99])-v[len(v)-1]) > 1e-6*v[len(v)-1] {
				t.Fatalf("%s: bucket %d: target p1/p100 %v/%v, flows' slowdowns %v", s.File, b, row[0], row[99], v)
			}
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("no sample of workload 0 checked")
	}
	// V2: the same rows but for the parameter block, flagged as a network path
	before := slices.Clone(samples[0].Input.Res)
	if err := Reencode(samples[:1], features.V2); err != nil {
		t.Fatal(err)
	}
	after := samples[0].Input.Res
	for r := 0; r < samples[0].Hosts; r++ {
		row := r * features.RowWidth
		if !slices.Equal(before[row:row+features.CellsPerRow], after[row:row+features.CellsPerRow]) {
			t.Fatalf("row %d: re-encoding changed the slowdown cells", r)
		}
		if after[row+features.CellsPerRow+3] != 1 {
			t.Fatalf("row %d: network flag %v, want 1", r, after[row+features.CellsPerRow+3])
		}
		if got, want := after[row+features.CellsPerRow+4], float32(math.Log2(float64(wl.Config.BufferKB))); samples[0].Dir == netdata.WorkloadDir(out, 0) && math.Abs(float64(got-want)) > 1e-5 {
			t.Fatalf("row %d: log2 buffer %v, want %v", r, got, want)
		}
	}
	// V3: V2's block with the path's foreground flows in place of 1-pfc
	s := samples[len(samples)-1]
	fg := 0
	for _, n := range s.BucketFlows {
		fg += n
	}
	if fg == 0 || s.Foreground != fg {
		t.Fatalf("%s: %d foreground flows, %d in its buckets", s.File, s.Foreground, fg)
	}
	if err := Reencode([]*Sample{s}, features.V3); err != nil {
		t.Fatal(err)
	}
	for r := 0; r < s.Hosts; r++ {
		row := s.Input.Res[r*features.RowWidth+features.CellsPerRow:]
		if got, want := row[features.ForegroundParam], math.Log2(1+float64(fg)); math.Abs(float64(got)-want) > 1e-6 || row[3] != 1 {
			t.Fatalf("%s row %d: foreground entry %v, want %v (network flag %v)", s.File, r, got, want, row[3])
		}
	}
}
