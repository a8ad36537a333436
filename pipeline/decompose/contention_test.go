package decompose

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/m4sim/m4/pipeline/workload"
)

// toyFabric's flows by hand: flow 0 (0 -> 2) at 0 ns crosses channels 6
// (0->4, 10G: flows 0, 2, 4), 2 and 5 (40G: flows 0, 1, 4, 5) and 11 (5->2,
// 10G: flows 0, 5).
func TestContentionByHand(t *testing.T) {
	d := toyFabric(t)
	for _, c := range []struct {
		w    float64
		flow int
		want float64
	}{
		// every flow in the window: channel 6 carries 9000 B in 200 ns at
		// 10G (36x), channel 11 7000 B (28x), channels 2 and 5 14000 B at
		// 40G (14x)
		{100, 0, 9000 * 8 / (10 * 200.0)},
		// [-15, 15]: flow 0 alone on 6 and 11, with flow 1 on 2 and 5
		{15, 0, 1000 * 8 / (10 * 30.0)},
		// flow 2 (0 -> 1, channels 6, 9) at 20 ns: alone in [5, 35]
		{15, 2, 3000 * 8 / (10 * 30.0)},
		// flow 3 (2 -> 0) at 30 ns: alone on its host channels
		{15, 3, 4000 * 8 / (10 * 30.0)},
	} {
		w := make([]float64, d.Flows.Len())
		for f := range w {
			w[f] = c.w
		}
		got := d.Contention(w)[c.flow]
		if math.Abs(got-c.want) > 1e-12*c.want {
			t.Errorf("window %v ns, flow %d: contention %v, want %v", c.w, c.flow, got, c.want)
		}
	}
}

// Contention against a brute-force count over every flow's route, on a
// random fabric workload with per-flow windows.
func TestContentionBruteForce(t *testing.T) {
	topo, err := workload.Fabric(workload.FabricSpec{Pods: 2, FabsPerPod: 2, RacksPerPod: 4, HostsPerRack: 4, SpinesPerPlane: 1,
		HostGbps: 10, FabricGbps: 40, DelayNs: 1000})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	hosts := topo.Hosts()
	flows := &workload.Flows{}
	start := int64(0)
	for range 400 {
		s := hosts[r.IntN(len(hosts))]
		dst := hosts[r.IntN(len(hosts))]
		if s == dst {
			continue
		}
		start += int64(r.IntN(2000))
		flows.Src = append(flows.Src, s)
		flows.Dst = append(flows.Dst, dst)
		flows.Size = append(flows.Size, int64(1+r.IntN(100000)))
		flows.StartNs = append(flows.StartNs, start)
	}
	d, err := New(route(t, topo), flows)
	if err != nil {
		t.Fatal(err)
	}
	window := make([]float64, flows.Len())
	for f := range window {
		window[f] = 5000 + float64(flows.Size[f])
	}
	got := d.Contention(window)
	for f := range flows.Len() {
		w, s := window[f], float64(flows.StartNs[f])
		want := 0.0
		for _, c := range d.PathChannels(int(d.FlowPath[f])) {
			bytes := 0.0
			for g := range flows.Len() {
				if gs := float64(flows.StartNs[g]); gs >= s-w && gs <= s+w && slices.Contains(d.PathChannels(int(d.FlowPath[g])), c) {
					bytes += float64(flows.Size[g])
				}
			}
			_, _, gbps := topo.Channel(c)
			want = max(want, bytes*8/(gbps*2*w))
		}
		if math.Abs(got[f]-want) > 1e-9*want {
			t.Fatalf("flow %d: contention %v, want %v", f, got[f], want)
		}
	}
}

// BenchmarkContention: 20,000 random flows on Parsimon's 256-host fabric.
func BenchmarkContention(b *testing.B) {
	topo, err := workload.Fabric(workload.FabricSpec{Pods: 2, FabsPerPod: 2, RacksPerPod: 16, HostsPerRack: 8, SpinesPerPlane: 4,
		HostGbps: 10, FabricGbps: 40, DelayNs: 1000})
	if err != nil {
		b.Fatal(err)
	}
	rt, err := workload.NewRouting(topo)
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	hosts := topo.Hosts()
	flows := &workload.Flows{}
	for i := range 20000 {
		s, d := hosts[r.IntN(len(hosts))], hosts[r.IntN(len(hosts))]
		if s == d {
			continue
		}
		flows.Src, flows.Dst = append(flows.Src, s), append(flows.Dst, d)
		flows.Size = append(flows.Size, int64(1+r.IntN(100000)))
		flows.StartNs = append(flows.StartNs, int64(i)*5000)
	}
	d, err := New(rt, flows)
	if err != nil {
		b.Fatal(err)
	}
	window := make([]float64, flows.Len())
	for f := range window {
		window[f] = max(20e3, float64(flows.Size[f])*0.8)
	}
	b.ResetTimer()
	for range b.N {
		d.Contention(window)
	}
}

// firstFrom and firstAfter against plain bisection, with ties.
func TestGallop(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for range 200 {
		recs := make([]chanFlow, 1+r.IntN(40))
		s := 0.0
		for i := range recs {
			s += float64(r.IntN(3))
			recs[i].startNs = s
		}
		i := r.IntN(len(recs))
		w := float64(r.IntN(20))
		x0, x1 := recs[i].startNs-w, recs[i].startNs+w
		wantA := sort.Search(len(recs), func(k int) bool { return recs[k].startNs >= x0 })
		wantB := sort.Search(len(recs), func(k int) bool { return recs[k].startNs > x1 })
		if a, b := firstFrom(recs, i, x0), firstAfter(recs, i, x1); a != wantA || b != wantB {
			t.Fatalf("starts %v, i %d, w %v: [%d, %d), want [%d, %d)", recs, i, w, a, b, wantA, wantB)
		}
	}
}
