package pathfeat

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/pipeline/decompose"
	"github.com/m4sim/m4/pipeline/features"
)

func TestRateScale(t *testing.T) {
	for _, c := range []struct {
		gbps     []float64
		k, ratio float64
		err      string
	}{
		{[]float64{10, 40, 40, 10}, 1, 4, ""},
		{[]float64{10, 10}, 1, 4, ""},
		{[]float64{25, 100, 25}, 2.5, 4, ""},
		{[]float64{100, 400, 400, 400, 100}, 10, 4, ""},
		{[]float64{25, 40, 25}, 2.5, 1.6, ""},
		{[]float64{400, 400, 400, 400}, 40, 1, ""},
		{[]float64{10, 100, 10}, 1, 10, ""},
		{[]float64{10, 40, 25}, 0, 0, "link 2 runs at 25 Gbps"},
		{[]float64{10, 40, 100, 10}, 0, 0, "link 2 runs at 100 Gbps"},
		{[]float64{0, 0}, 0, 0, "link 0 runs at 0 Gbps"},
		{nil, 0, 0, "no links"},
	} {
		k, ratio, err := RateScale(c.gbps)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%v: error %v, want one saying %q", c.gbps, err, c.err)
			}
			continue
		}
		if !bindings.Native && errors.Is(err, bindings.ErrNoNative) {
			continue // the trained host rate is libm4's
		}
		if err != nil || k != c.k || math.Abs(ratio-c.ratio) > 1e-12 {
			t.Errorf("%v: %v, %v, %v; want %v, %v", c.gbps, k, ratio, err, c.k, c.ratio)
		}
	}
	if r := TrainedRatio(); bindings.Native && r != 4 {
		t.Errorf("TrainedRatio() = %v, want 4 (m3's 40/10 Gbps parking lot)", r)
	}
}

// A path at 25/100 Gbps is built as the 10/40 Gbps path whose flow sizes
// are divided by 2.5: the same feature map and foreground slowdowns, with
// flowsim's percentiles and the flow counts per bucket of each flow's own
// size, and Remap counting how the two bucketings meet.
func TestBuildRateNormalised(t *testing.T) {
	w, d := decomposed(t, "topology: {kind: fattree, k: 4, host_gbps: 25, fabric_gbps: 100}\n"+
		"sizes: {dist: webserver}\narrivals: {process: poisson}\ntraffic: {matrix: uniform}\nmax_load: 0.6\nflows: 2000\nseed: 3\n")
	if k, ratio, err := TopologyScale(w.Topo); err != nil || k != 2.5 || ratio != 4 {
		t.Fatalf("TopologyScale = %v, %v, %v; want 2.5, 4", k, ratio, err)
	}
	b, err := NewBuilder()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	vec := make([]float64, 15)
	vec[1], vec[2], vec[4] = 30, 18, 1
	var sc decompose.Scenario
	var p, q Path
	moved := 0
	for pi := 0; pi < d.NumPaths(); pi += 5 {
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
		// the 10/40 Gbps twin
		twin := sc
		pa := *sc.Path
		twin.Path = &pa
		pa.SizeBytes = make([]float64, len(sc.SizeBytes))
		for i, v := range sc.SizeBytes {
			pa.SizeBytes[i] = v / 2.5
		}
		twin.LinkGbps = make([]float64, len(sc.LinkGbps))
		for l, g := range sc.LinkGbps {
			twin.LinkGbps[l] = g / 2.5
		}
		if err := b.Build(&twin, params, &q); err != nil {
			t.Fatal(err)
		}
		if p.Scale != 2.5 || q.Scale != 1 {
			t.Fatalf("path %d: scales %v and %v, want 2.5 and 1", pi, p.Scale, q.Scale)
		}
		if !slices.Equal(p.Input.Res, q.Input.Res) || !slices.Equal(p.Input.Empty, q.Input.Empty) ||
			!slices.Equal(p.FGSlowdown, q.FGSlowdown) || !slices.Equal(p.Foreground, q.Foreground) {
			t.Fatalf("path %d: feature map or foreground slowdowns differ from the 10 Gbps twin's", pi)
		}
		var per [features.NumOutputBuckets][]float64
		var rows, cols [features.NumOutputBuckets]int
		for j, i := range p.Foreground {
			own, seen := features.OutputBucket(sc.SizeBytes[i]), features.OutputBucket(pa.SizeBytes[i])
			per[own] = append(per[own], p.FGSlowdown[j])
			if own != seen {
				moved++
			}
			rows[own]++
			cols[seen]++
		}
		for k := range per {
			r, c := 0, 0
			for s := range features.NumOutputBuckets {
				r += p.Remap[k][s]
				c += p.Remap[s][k]
			}
			if r != rows[k] || c != cols[k] || p.Flows[k] != rows[k] || q.Flows[k] != cols[k] {
				t.Fatalf("path %d bucket %d: remap rows/cols %d/%d, flows %d (twin %d); want %d/%d", pi, k, r, c, p.Flows[k], q.Flows[k], rows[k], cols[k])
			}
			var want [features.NumPercentiles]float64
			for j := range want {
				want[j] = 1
			}
			if len(per[k]) > 0 {
				slices.Sort(per[k])
				if err := features.Percentiles(per[k], &want); err != nil {
					t.Fatal(err)
				}
			}
			if p.Flowsim[k] != want {
				t.Fatalf("path %d bucket %d: flowsim percentiles are not those of the flows of that own size", pi, k)
			}
		}
	}
	if moved == 0 {
		t.Error("no foreground flow changed bucket: the test needs some")
	}
}

func TestRemapModel(t *testing.T) {
	var m, want [features.NumOutputBuckets][features.NumPercentiles]float64
	for b := range m {
		for j := range m[b] {
			m[b][j] = float64(b+1) + float64(j)/1000
		}
	}
	// identity: every flow stayed in its bucket
	var id Remap
	id[0][0], id[2][2] = 4, 1
	got := m
	RemapModel(&id, &got)
	if got != m {
		t.Error("a diagonal remap changed the curves")
	}
	// bucket 1 fed by one curve (bucket 0's); bucket 3 by bucket 2's (1
	// flow) and bucket 3's (3 flows): the mixture's percentile j is the
	// first merged point at which the cumulative weight reaches (j+1)/100
	// of the whole.
	var r Remap
	r[1][0] = 2
	r[3][2], r[3][3] = 1, 3
	got = m
	RemapModel(&r, &got)
	want = m
	want[1] = m[0]
	// bucket 2's values (3.000..3.099) all lie below bucket 3's
	// (4.000..4.099): 100 points of weight 1 then 100 of weight 3, so
	// percentiles 1..25 come from bucket 2 and the rest from bucket 3
	for j := range want[3] {
		if j < 25 {
			want[3][j] = m[2][4*j+3]
		} else {
			want[3][j] = m[3][(4*(j+1)-100+2)/3-1]
		}
	}
	if got != want {
		t.Errorf("mixture remap:\n got %v\nwant %v", got[3], want[3])
	}
}
