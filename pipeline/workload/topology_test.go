package workload

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/m4sim/m4/internal/refdata"
)

// Hash values printed by the HPCC fork's own SwitchNode::EcmpHash
// (switch-node.cc) for the key of flow (src, dst, sport, dport 100) at a
// switch with the given node id.
func TestEcmpHashMatchesFork(t *testing.T) {
	cases := []struct {
		src, dst int32
		sport    uint32
		seed     uint32
		want     uint32
	}{
		{0, 2, 10000, 4, 0x03e6c3e4},
		{0, 2, 10001, 4, 0xf24c5a42},
		{17, 300, 10005, 270, 0xf145700c},
		{5000, 6000, 12345, 6200, 0x6d4242c9},
		{255, 256, 10000, 7, 0x6c7a5ff0},
	}
	for i, c := range cases {
		got := EcmpHash([3]uint32{HostIP(c.src), HostIP(c.dst), c.sport | FlowDport<<16}, c.seed)
		if got != c.want {
			t.Errorf("case %d: hash %#08x, want %#08x", i, got, c.want)
		}
	}
	if HostIP(0) != 0x0b000001 || HostIP(257) != 0x0b010101 {
		t.Errorf("HostIP(0) = %#x, HostIP(257) = %#x", HostIP(0), HostIP(257))
	}
}

// Next-hop lists of the fork's routing tables (nextHop in scratch/third.cc,
// printed by the fork) on a two-pod network whose switch ids are shuffled:
// ToRs 26, 24 (pod 0) and 0, 20 (pod 1); aggregation switches 2, 4 (pod 0)
// and 15, 12 (pod 1), planes 0 and 1; cores 23, 3 (plane 0) and 9, 7
// (plane 1). Neither ascending nor descending id gives them all: the order is
// that of the fork's search from the destination (pipeline/pktsim's
// testdata/fork-planes is a run of the fork on it).
func TestNextHopsMatchFork(t *testing.T) {
	var b strings.Builder
	links := [][2]int{{6, 26}, {14, 26}, {11, 26}, {27, 26}, {16, 24}, {18, 24}, {17, 24}, {10, 24}, {22, 0}, {19, 0}, {21, 0}, {5, 0},
		{13, 20}, {8, 20}, {25, 20}, {1, 20}, {26, 2}, {26, 4}, {24, 2}, {24, 4}, {0, 15}, {0, 12}, {20, 15}, {20, 12},
		{2, 23}, {2, 3}, {4, 9}, {4, 7}, {15, 23}, {15, 3}, {12, 9}, {12, 7}}
	b.WriteString("28 12 32\n26 24 0 20 2 4 15 12 23 3 9 7\n")
	for _, l := range links {
		fmt.Fprintf(&b, "%d %d 10Gbps 1000ns 0\n", l[0], l[1])
	}
	topo, err := ParseNS3("planes", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	rt, err := NewRouting(topo)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range []struct {
		at, dst int32
		want    []int32
	}{
		{26, 1, []int32{2, 4}}, {26, 10, []int32{4, 2}}, {24, 6, []int32{4, 2}}, {24, 13, []int32{2, 4}},
		{0, 6, []int32{12, 15}}, {0, 8, []int32{15, 12}}, {20, 27, []int32{12, 15}}, {20, 21, []int32{15, 12}},
		{2, 1, []int32{23, 3}}, {4, 1, []int32{9, 7}}, {15, 6, []int32{23, 3}}, {12, 27, []int32{9, 7}},
		{26, 6, []int32{6}}, {23, 1, []int32{15}},
	} {
		if got := rt.AppendNextHops(nil, c.at, c.dst); !reflect.DeepEqual(got, c.want) {
			t.Errorf("case %d: next hops at %d toward %d: %v, the fork's %v", i, c.at, c.dst, got, c.want)
		}
	}
}

func TestSports(t *testing.T) {
	got := Sports([]int32{0, 0, 1, 0, 1}, []int32{2, 2, 2, 3, 2})
	want := []uint16{10000, 10001, 10000, 10000, 10001}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Sports = %v, want %v", got, want)
	}
}

func fabric(t *testing.T, pods, fabs, racks, hosts, spines int) *Topology {
	t.Helper()
	topo, err := Fabric(FabricSpec{pods, fabs, racks, hosts, spines, 10, 40, 1000})
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

func TestTopologyCounts(t *testing.T) {
	type counts struct{ hosts, switches, links, racks, pods int }
	cases := []struct {
		name string
		topo func() (*Topology, error)
		want counts
		// hops and number of ECMP paths from host 0 to a host in the same
		// rack, same pod and another pod
		hops, paths [3]int
		far         [3]int32 // those hosts
	}{
		{"fabric 2x2x16x8 1:1", func() (*Topology, error) { return Fabric(FabricSpec{2, 2, 16, 8, 16, 10, 40, 1000}) },
			counts{256, 32 + 4 + 32, 64 + 64 + 256, 32, 2}, [3]int{2, 4, 6}, [3]int{1, 2, 32}, [3]int32{1, 8, 128}},
		{"fabric 2x2x16x8 4:1", func() (*Topology, error) { return Fabric(FabricSpec{2, 2, 16, 8, 4, 10, 40, 1000}) },
			counts{256, 32 + 4 + 8, 16 + 64 + 256, 32, 2}, [3]int{2, 4, 6}, [3]int{1, 2, 8}, [3]int32{1, 8, 128}},
		{"fabric 8x4x48x16 1:1 (6144 hosts)", func() (*Topology, error) { return Fabric(FabricSpec{8, 4, 48, 16, 48, 10, 40, 1000}) },
			counts{6144, 384 + 32 + 192, 1536 + 1536 + 6144, 384, 8}, [3]int{2, 4, 6}, [3]int{1, 4, 192}, [3]int32{1, 16, 768}},
		{"fat-tree k=4", func() (*Topology, error) { return FatTree(4, 10, 40, 1000) },
			counts{16, 20, 48, 8, 4}, [3]int{2, 4, 6}, [3]int{1, 2, 4}, [3]int32{1, 2, 4}},
		{"fat-tree k=8", func() (*Topology, error) { return FatTree(8, 100, 400, 1000) },
			counts{128, 80, 384, 32, 8}, [3]int{2, 4, 6}, [3]int{1, 4, 16}, [3]int32{1, 4, 16}},
	}
	for i, c := range cases {
		topo, err := c.topo()
		if err != nil {
			t.Fatalf("case %d (%s): %v", i, c.name, err)
		}
		got := counts{len(topo.Hosts()), topo.NumNodes() - len(topo.Hosts()), len(topo.Links), len(topo.Racks), len(topo.Pods)}
		if got != c.want {
			t.Errorf("case %d (%s): counts %+v, want %+v", i, c.name, got, c.want)
		}
		rt, err := NewRouting(topo)
		if err != nil {
			t.Fatalf("case %d (%s): %v", i, c.name, err)
		}
		for j, dst := range c.far {
			if h := rt.Hops(0, dst); h != c.hops[j] {
				t.Errorf("case %d (%s): %d hops 0 -> %d, want %d", i, c.name, h, dst, c.hops[j])
			}
			paths, err := rt.AllPaths(0, dst, 1000)
			if err != nil {
				t.Fatal(err)
			}
			if len(paths) != c.paths[j] {
				t.Errorf("case %d (%s): %d paths 0 -> %d, want %d", i, c.name, len(paths), dst, c.paths[j])
			}
			// the hashed route is one of them, and a proper chain
			route := rt.AppendRoute(nil, 0, dst, 10007)
			found := false
			for _, p := range paths {
				found = found || reflect.DeepEqual(p, route)
			}
			if !found {
				t.Errorf("case %d (%s): route %v is not an ECMP path to %d", i, c.name, route, dst)
			}
			at := int32(0)
			for _, ch := range route {
				from, to, _ := topo.Channel(ch)
				if from != at {
					t.Fatalf("case %d: route %v broken at channel %d", i, route, ch)
				}
				at = to
			}
			if at != dst {
				t.Errorf("case %d: route %v ends at %d, want %d", i, route, at, dst)
			}
		}
	}
}

func TestTopologyErrors(t *testing.T) {
	if _, err := FatTree(5, 10, 40, 1000); err == nil || !strings.Contains(err.Error(), "k = 5") {
		t.Errorf("odd k: %v", err)
	}
	if _, err := Fabric(FabricSpec{2, 2, 16, 0, 16, 10, 40, 1000}); err == nil || !strings.Contains(err.Error(), "hosts_per_rack") {
		t.Errorf("no hosts: %v", err)
	}
	bad := []struct {
		sw    []bool
		links []Link
		want  string
	}{
		{[]bool{false, false, true}, []Link{{0, 1, 10, 0}, {1, 2, 10, 0}}, "joins host 0 to host 1"},
		{[]bool{false, false, true}, []Link{{0, 2, 10, 0}, {1, 2, 10, 0}, {2, 0, 10, 0}}, "both join nodes 0 and 2"},
		{[]bool{false, false, true}, []Link{{0, 2, 10, 0}, {1, 2, 0, 0}}, "rate 0 Gbps"},
		{[]bool{false, false, true, true}, []Link{{0, 2, 10, 0}, {1, 3, 10, 0}}, "no path"},
		{[]bool{false, false, true}, []Link{{0, 2, 10, 0}}, "host 1 has 0 links"},
	}
	for i, c := range bad {
		topo, err := NewTopology("bad", c.sw, c.links)
		if err == nil {
			_, err = NewRouting(topo)
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("case %d: error %v, want %q", i, err, c.want)
		}
	}
}

func sameTopology(t *testing.T, what string, a, b *Topology) {
	t.Helper()
	if !reflect.DeepEqual(a.IsSwitch, b.IsSwitch) || !reflect.DeepEqual(a.Links, b.Links) {
		t.Errorf("%s: nodes or links differ after re-reading", what)
	}
	if len(a.Racks) != len(b.Racks) {
		t.Fatalf("%s: %d racks, re-read %d", what, len(a.Racks), len(b.Racks))
	}
	for r := range a.Racks {
		if a.Racks[r].Switch != b.Racks[r].Switch || !reflect.DeepEqual(a.Racks[r].Hosts, b.Racks[r].Hosts) {
			t.Errorf("%s: rack %d differs", what, r)
		}
	}
}

func TestTopologyFilesRoundTrip(t *testing.T) {
	dir := t.TempDir()
	fs := FabricSpec{2, 2, 4, 3, 2, 10, 40, 1000}
	fab, err := Fabric(fs)
	if err != nil {
		t.Fatal(err)
	}
	ft, err := FatTree(4, 100, 400, 500)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		topo   *Topology
		fabric *FabricSpec
	}{{fab, &fs}, {ft, nil}} {
		var b bytes.Buffer
		if err := c.topo.WriteNS3(&b); err != nil {
			t.Fatal(err)
		}
		back, err := ParseNS3("t.txt", b.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		sameTopology(t, c.topo.Name+" ns-3", c.topo, back)

		path := filepath.Join(dir, c.topo.Name+".json")
		if err := writeFile(path, func(w io.Writer) error { return c.topo.WriteParsimonJSON(w, c.fabric) }); err != nil {
			t.Fatal(err)
		}
		back, err = ReadParsimonJSON(path)
		if err != nil {
			t.Fatal(err)
		}
		sameTopology(t, c.topo.Name+" json", c.topo, back)
		if c.fabric != nil && !reflect.DeepEqual(back.Pods, c.topo.Pods) {
			t.Errorf("%s: pods %v, re-read %v", c.topo.Name, c.topo.Pods, back.Pods)
		}
	}
	// The first lines of the fabric's ns-3 file, by hand.
	var b bytes.Buffer
	fab.WriteNS3(&b)
	lines := strings.Split(b.String(), "\n")
	if lines[0] != "40 16 48" || !strings.HasPrefix(lines[1], "24 25 26") || lines[2] != "32 36 40Gbps 1000ns 0" {
		t.Errorf("ns-3 file starts %q", lines[:3])
	}
}

func TestReadReferenceTopology(t *testing.T) {
	path := filepath.Join(refdata.Root(t), "ns3-topologies", "topo-pl-5.txt")
	topo, err := ReadNS3(path)
	if err != nil {
		t.Fatal(err)
	}
	if topo.NumNodes() != 8 || len(topo.Hosts()) != 5 || len(topo.Links) != 7 || len(topo.Racks) != 3 {
		t.Fatalf("topo-pl-5: %d nodes, %d hosts, %d links, %d racks", topo.NumNodes(), len(topo.Hosts()), len(topo.Links), len(topo.Racks))
	}
	if l := topo.Links[1]; l.Gbps != 100000 || l.DelayNs != 1000 || topo.Links[2].DelayNs != 2000 {
		t.Errorf("links %+v %+v", l, topo.Links[2])
	}
	rt, err := NewRouting(topo)
	if err != nil {
		t.Fatal(err)
	}
	if h := rt.Hops(0, 4); h != 4 {
		t.Errorf("host 0 -> 4: %d hops, want 4", h)
	}
}

func TestParseNS3Errors(t *testing.T) {
	cases := []struct{ text, want string }{
		{"", "truncated"},
		{"3 1 2\n2\n0 2 10Gbps 1000ns 0\n", "t.txt:3: truncated: expected link endpoint a of link 1"},
		{"3 1 2\n2\n0 2 10Gbps 1000ns 0\n1 2 10Gbit 1000ns 0\n", "t.txt:4: link 1 rate"},
		{"3 1 2\n2\n0 2 10Gbps 1000ns 0\n1 5 10Gbps 1000ns 0\n", "t.txt:4: link 1 endpoints"},
		{"3 1 2\n7\n", "t.txt:2: switch id"},
		{"3 1 2\n2\n0 2 10Gbps 1000 0\n1 2 10Gbps 1000ns 0\n", "t.txt:3: link 0 delay"},
		{"3 1 1\n2\n0 2 10Gbps 1000ns 0\n1 2 10Gbps 1000ns 0\n", "t.txt:4: unexpected"},
		{"x 1 1\n", "t.txt:1: node count"},
	}
	for i, c := range cases {
		_, err := ParseNS3("t.txt", []byte(c.text))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("case %d: error %v, want %q", i, err, c.want)
		}
	}
}

// Hops returns the number of links on every shortest path from host src to
// host dst.
func (rt *Routing) Hops(src, dst int32) int {
	t := rt.t
	if src == dst {
		return 0
	}
	rs, rd := t.rackOf[src], t.rackOf[dst]
	if rs == rd {
		return 2
	}
	return 2 + int(rt.dist[int(rd)*rt.nSw+int(rt.swIndex[t.Racks[rs].Switch])])
}

// AllPaths returns every equal-cost shortest path from host src to host dst
// as channel lists, in the order of the next-hop lists; at most limit
// paths (an error beyond).
func (rt *Routing) AllPaths(src, dst int32, limit int) ([][]int32, error) {
	var out [][]int32
	var walk func(v int32, prefix []int32) error
	walk = func(v int32, prefix []int32) error {
		if v == dst {
			if len(out) == limit {
				return fmt.Errorf("more than %d equal-cost paths from %d to %d", limit, src, dst)
			}
			out = append(out, append([]int32(nil), prefix...))
			return nil
		}
		for _, u := range rt.AppendNextHops(nil, v, dst) {
			if err := walk(u, append(prefix, rt.t.ChannelBetween(v, u))); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(src, nil); err != nil {
		return nil, err
	}
	return out, nil
}
