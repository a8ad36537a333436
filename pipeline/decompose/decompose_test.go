package decompose

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/m4sim/m4/pipeline/workload"
)

func route(t *testing.T, topo *workload.Topology) *workload.Routing {
	t.Helper()
	rt, err := workload.NewRouting(topo)
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

type plFlow struct {
	flow     int32
	src, dst int32
	fg       bool
}

func flowsOf(s *Scenario) []plFlow {
	var out []plFlow
	for i := range s.Flow {
		out = append(out, plFlow{s.Flow[i], s.Src[i], s.Dst[i], s.Foreground[i]})
	}
	return out
}

// toyFabric is a 2-rack toy fabric with one fabric switch (so no ECMP):
// hosts 0, 1 on ToR 4, hosts 2, 3 on ToR 5, both ToRs on fabric switch 6
// (spine 7 unused). Links (Parsimon's order): 0: 6-7, 1: 4-6, 2: 5-6, 3:
// 0-4, 4: 1-4, 5: 2-5, 6: 3-5; channel 2l runs a->b, 2l+1 back. Six flows
// of 1000..6000 B start 10 ns apart.
func toyFabric(t *testing.T) *Decomposition {
	t.Helper()
	topo, err := workload.Fabric(workload.FabricSpec{Pods: 1, FabsPerPod: 1, RacksPerPod: 2, HostsPerRack: 2, SpinesPerPlane: 1,
		HostGbps: 10, FabricGbps: 40, DelayNs: 1000})
	if err != nil {
		t.Fatal(err)
	}
	flows := &workload.Flows{
		Src:     []int32{0, 1, 0, 2, 0, 1},
		Dst:     []int32{2, 3, 1, 0, 3, 2},
		Size:    []int64{1000, 2000, 3000, 4000, 5000, 6000},
		StartNs: []int64{0, 10, 20, 30, 40, 50},
	}
	d, err := New(route(t, topo), flows)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestToyFabricByHand(t *testing.T) {
	d := toyFabric(t)
	// Paths, in order of their first flow, by hand.
	wantPaths := [][]int32{
		{6, 2, 5, 11}, // flow 0: 0->4, 4->6, 6->5, 5->2
		{8, 2, 5, 13}, // flow 1: 1->4, 4->6, 6->5, 5->3
		{6, 9},        // flow 2: 0->4, 4->1
		{10, 4, 3, 7}, // flow 3: 2->5, 5->6, 6->4, 4->0
		{6, 2, 5, 13}, // flow 4: 0->4 .. 5->3
		{8, 2, 5, 11}, // flow 5: 1->4 .. 5->2
	}
	if d.NumPaths() != len(wantPaths) {
		t.Fatalf("%d paths, want %d", d.NumPaths(), len(wantPaths))
	}
	for p, want := range wantPaths {
		if got := d.PathChannels(p); !slices.Equal(got, want) {
			t.Errorf("path %d: channels %v, want %v", p, got, want)
		}
		if fg := d.Foreground(p); !slices.Equal(fg, []int32{int32(p)}) {
			t.Errorf("path %d: foreground %v, want [%d]", p, fg, p)
		}
	}
	cases := []struct {
		path  int
		hosts int
		want  []plFlow
	}{
		// flow 0's path: flow 1 shares 4->6, 6->5 (links 1, 2); flow 2
		// 0->4 (link 0); flow 4 all but the last; flow 5 all but the first.
		{0, 5, []plFlow{{0, 0, 4, true}, {1, 1, 3, false}, {2, 0, 1, false}, {4, 0, 3, false}, {5, 1, 4, false}}},
		{2, 3, []plFlow{{0, 0, 1, false}, {2, 0, 2, true}, {4, 0, 1, false}}},
		{3, 5, []plFlow{{3, 0, 4, true}}}, // the reverse direction shares nothing
	}
	for _, c := range cases {
		s, err := d.Scenario(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if s.Hosts != c.hosts || !reflect.DeepEqual(flowsOf(s), c.want) {
			t.Errorf("path %d: %d hosts, flows %v\n want %d hosts, %v", c.path, s.Hosts, flowsOf(s), c.hosts, c.want)
		}
		if want := []float64{10, 40, 40, 10}[:c.hosts-1]; c.hosts == 5 && !slices.Equal(s.LinkGbps, want) {
			t.Errorf("path %d: link rates %v, want %v", c.path, s.LinkGbps, want)
		}
	}
	s, _ := d.Scenario(0)
	if s.ArrivalNs[1] != 10 || s.SizeBytes[1] != 2000 || s.Name != "path0_nhosts5" {
		t.Errorf("scenario 0: flow 1 at %v ns, %v B; name %s", s.ArrivalNs[1], s.SizeBytes[1], s.Name)
	}
}

// With two fabric switches, flows between one pair of hosts may take
// different fabrics (by the ns-3 hash): then each shares only the host
// links of the other's path, a run at each end.
func TestSplitAroundECMP(t *testing.T) {
	topo, _ := workload.Fabric(workload.FabricSpec{Pods: 1, FabsPerPod: 2, RacksPerPod: 2, HostsPerRack: 2, SpinesPerPlane: 1,
		HostGbps: 10, FabricGbps: 40, DelayNs: 1000})
	rt := route(t, topo)
	n := 8
	flows := &workload.Flows{}
	for i := 0; i < n; i++ {
		flows.Src = append(flows.Src, 0)
		flows.Dst = append(flows.Dst, 2)
		flows.Size = append(flows.Size, 1000)
		flows.StartNs = append(flows.StartNs, int64(i))
	}
	d, err := New(rt, flows)
	if err != nil {
		t.Fatal(err)
	}
	if d.NumPaths() != 2 {
		t.Fatalf("%d paths for 8 flows over 2 fabric switches; want both used", d.NumPaths())
	}
	for p := 0; p < 2; p++ {
		s, _ := d.Scenario(p)
		for i, f := range s.Flow {
			if d.FlowPath[f] == int32(p) {
				if s.Src[i] != 0 || s.Dst[i] != 4 {
					t.Errorf("path %d: foreground flow %d maps to %d -> %d", p, f, s.Src[i], s.Dst[i])
				}
				continue
			}
			if !(s.Src[i] == 0 && s.Dst[i] == 1) && !(s.Src[i] == 3 && s.Dst[i] == 4) {
				t.Errorf("path %d: flow %d on the other fabric maps to %d -> %d, want 0->1 and 3->4", p, f, s.Src[i], s.Dst[i])
			}
		}
		other := n - len(d.Foreground(p))
		if got := len(s.Flow) - len(d.Foreground(p)); got != 2*other {
			t.Errorf("path %d: %d background entries for %d flows on the other path, want two each", p, got, other)
		}
	}
}

// bruteForce builds path p's parking-lot flows the slow way: every flow's
// route compared channel by channel with the path.
func bruteForce(d *Decomposition, routes [][]int32, p int) []plFlow {
	path := d.PathChannels(p)
	pos := map[int32]int{}
	for i, c := range path {
		pos[c] = i
	}
	var out []plFlow
	for f, r := range routes {
		if slices.Equal(r, path) {
			out = append(out, plFlow{int32(f), 0, int32(len(path)), true})
			continue
		}
		on := make([]bool, len(path))
		for _, c := range r {
			if i, ok := pos[c]; ok {
				on[i] = true
			}
		}
		for i := 0; i < len(path); {
			if !on[i] {
				i++
				continue
			}
			j := i
			for j < len(path) && on[j] {
				j++
			}
			out = append(out, plFlow{int32(f), int32(i), int32(j), false})
			i = j
		}
	}
	return out
}

// Property: on random workloads over several topologies, every flow is the
// foreground of exactly one path, foreground flows span the whole parking
// lot, and each scenario equals the brute-force mapping.
func TestDecomposeProperties(t *testing.T) {
	fat4, _ := workload.FatTree(4, 10, 40, 1000)
	fab, _ := workload.Fabric(workload.FabricSpec{Pods: 2, FabsPerPod: 2, RacksPerPod: 3, HostsPerRack: 2, SpinesPerPlane: 2,
		HostGbps: 10, FabricGbps: 40, DelayNs: 1000})
	topos := []*workload.Topology{fat4, fab}
	splits, background := 0, 0 // flows split in two runs; background entries
	for trial := 0; trial < 12; trial++ {
		topo := topos[trial%len(topos)]
		rt := route(t, topo)
		r := rand.New(rand.NewPCG(uint64(trial), 77))
		hosts := topo.Hosts()
		n := 50 + r.IntN(400)
		flows := &workload.Flows{}
		at := int64(0)
		for i := 0; i < n; i++ {
			src := hosts[r.IntN(len(hosts))]
			dst := src
			for dst == src {
				dst = hosts[r.IntN(len(hosts))]
			}
			at += int64(r.IntN(3)) // ties in start time included
			flows.Src = append(flows.Src, src)
			flows.Dst = append(flows.Dst, dst)
			flows.Size = append(flows.Size, 1+int64(r.IntN(100000)))
			flows.StartNs = append(flows.StartNs, at)
		}
		d, err := New(rt, flows)
		if err != nil {
			t.Fatal(err)
		}
		sports := workload.Sports(flows.Src, flows.Dst)
		routes := make([][]int32, n)
		for i := range routes {
			routes[i] = rt.AppendRoute(nil, flows.Src[i], flows.Dst[i], sports[i])
		}
		all, err := d.All()
		if err != nil {
			t.Fatal(err)
		}
		fgCount := make([]int, n)
		for p, s := range all {
			if s.Hosts != len(d.PathChannels(p))+1 {
				t.Fatalf("trial %d path %d: %d hosts for %d channels", trial, p, s.Hosts, len(d.PathChannels(p)))
			}
			for i, f := range s.Flow {
				if i > 0 && s.Flow[i-1] == f {
					splits++
				}
				if !s.Foreground[i] {
					background++
				}
				if s.Foreground[i] {
					fgCount[f]++
					if s.Src[i] != 0 || s.Dst[i] != int32(s.Hosts-1) {
						t.Errorf("trial %d path %d: foreground flow %d maps to %d -> %d", trial, p, f, s.Src[i], s.Dst[i])
					}
				}
			}
			if got, want := flowsOf(s), bruteForce(d, routes, p); !reflect.DeepEqual(got, want) {
				t.Fatalf("trial %d path %d: scenario flows\n %v\nbrute force\n %v", trial, p, got, want)
			}
			if err := s.Validate(); err != nil {
				t.Fatalf("trial %d: %v", trial, err)
			}
			for i, f := range s.Flow {
				if s.ArrivalNs[i] != float64(flows.StartNs[f]) || s.SizeBytes[i] != float64(flows.Size[f]) {
					t.Fatalf("trial %d path %d: scenario flow %d starts at %v with %v bytes; workload flow %d at %d with %d",
						trial, p, i, s.ArrivalNs[i], s.SizeBytes[i], f, flows.StartNs[f], flows.Size[f])
				}
			}
		}
		// one Scenario reused for every path, from the last to the first,
		// equals each freshly built one
		var re Scenario
		for p := len(all) - 1; p >= 0; p-- {
			if err := d.ScenarioInto(p, &re); err != nil {
				t.Fatal(err)
			}
			s := all[p]
			if re.PathID != p || re.Hosts != s.Hosts || !slices.Equal(re.ArrivalNs, s.ArrivalNs) || !slices.Equal(re.SizeBytes, s.SizeBytes) ||
				!slices.Equal(re.Src, s.Src) || !slices.Equal(re.Dst, s.Dst) || !slices.Equal(re.Flow, s.Flow) ||
				!slices.Equal(re.Foreground, s.Foreground) || !slices.Equal(re.Channels, s.Channels) ||
				!slices.Equal(re.LinkGbps, s.LinkGbps) || !slices.Equal(re.LinkDelayNs, s.LinkDelayNs) {
				t.Fatalf("trial %d path %d: the reused scenario differs from a fresh one", trial, p)
			}
		}
		for f, c := range fgCount {
			if c != 1 {
				t.Fatalf("trial %d: flow %d is foreground of %d paths, want exactly 1", trial, f, c)
			}
		}
	}
	if splits == 0 || background == 0 {
		t.Errorf("the random workloads had %d split flows and %d background entries; the test needs both", splits, background)
	}
	t.Logf("%d background entries, %d flows split into two runs", background, splits)
}

func TestSample(t *testing.T) {
	topo, _ := workload.FatTree(4, 10, 40, 1000)
	rt := route(t, topo)
	// path of flows 0..9 (0 -> 1 on one rack) has 10 flows, 10 more paths 1 each
	flows := &workload.Flows{}
	for i := 0; i < 20; i++ {
		src, dst := int32(0), int32(1)
		if i >= 10 {
			src, dst = int32(2), int32(4+i-10)
		}
		flows.Src = append(flows.Src, src)
		flows.Dst = append(flows.Dst, dst)
		flows.Size = append(flows.Size, 100)
		flows.StartNs = append(flows.StartNs, int64(i))
	}
	d, err := New(rt, flows)
	if err != nil {
		t.Fatal(err)
	}
	paths, draws := d.Sample(10000, rand.New(rand.NewPCG(5, 5)))
	total := 0
	for i, p := range paths {
		total += draws[i]
		if p == 0 && (draws[i] < 4700 || draws[i] > 5300) {
			t.Errorf("path 0 (half the flows) drawn %d of 10000 times", draws[i])
		}
	}
	if total != 10000 || !slices.IsSorted(paths) {
		t.Errorf("draws %v of paths %v", draws, paths)
	}
}

func TestNewRejectsBadFlows(t *testing.T) {
	topo, _ := workload.FatTree(4, 10, 40, 1000)
	rt := route(t, topo)
	cases := []struct {
		f    workload.Flows
		want string
	}{
		{workload.Flows{Src: []int32{0}, Dst: []int32{20}, Size: []int64{1}, StartNs: []int64{0}}, "dst 20 is not a host"},
		{workload.Flows{Src: []int32{0, 1}, Dst: []int32{2, 2}, Size: []int64{1, 1}, StartNs: []int64{5, 4}}, "before flow 0"},
		{workload.Flows{Src: []int32{3}, Dst: []int32{3}, Size: []int64{1}, StartNs: []int64{0}}, "src == dst"},
	}
	for i, c := range cases {
		_, err := New(rt, &c.f)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("case %d: error %v, want %q", i, err, c.want)
		}
	}
}

// All builds every path's scenario, in path order (for small test
// workloads; large ones have as many paths as flows).
func (d *Decomposition) All() ([]*Scenario, error) {
	out := make([]*Scenario, d.NumPaths())
	for p := range out {
		s, err := d.Scenario(p)
		if err != nil {
			return nil, err
		}
		out[p] = s
	}
	return out, nil
}
