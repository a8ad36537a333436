package workload

import (
	"fmt"
	"math"
	"sort"
)

// Link is a full-duplex link between nodes A and B.
type Link struct {
	A, B    int32
	Gbps    float64 // capacity of each direction
	DelayNs int64   // propagation delay
}

// Rack is a switch with hosts attached: a top-of-rack switch in a fabric, an
// edge switch in a fat-tree.
type Rack struct {
	Switch int32
	Hosts  []int32 // ascending
	Pod    int     // -1 when the topology has no pods
}

// Topology is a network of hosts and switches joined by full-duplex links.
// Every host has exactly one link, to a switch (its rack). A link's two
// directions are channels: channel 2l goes from Links[l].A to Links[l].B,
// channel 2l+1 back.
type Topology struct {
	Name     string
	IsSwitch []bool // one per node; node ids are 0..len(IsSwitch)-1
	Links    []Link

	// Racks: pod by pod for generated topologies, else in ascending switch
	// id; Pods lists rack indices per pod (nil when the topology has no pod
	// structure, e.g. one read from an ns-3 file).
	Racks []Rack
	Pods  [][]int

	// Derived by index.
	hosts    []int32
	rackOf   []int32 // per node: its rack for a host, -1 for a switch
	adjStart []int32 // CSR over nodes: neighbours ascending by id
	adjNode  []int32
	adjChan  []int32 // channel from the node to the neighbour
}

// NumNodes returns the number of nodes.
func (t *Topology) NumNodes() int { return len(t.IsSwitch) }

// Hosts returns the host ids, ascending. The slice is shared: do not modify.
func (t *Topology) Hosts() []int32 { return t.hosts }

// NumChannels returns the number of directed channels, 2 per link.
func (t *Topology) NumChannels() int { return 2 * len(t.Links) }

// Channel returns the endpoints and capacity of channel c.
func (t *Topology) Channel(c int32) (from, to int32, gbps float64) {
	l := t.Links[c/2]
	if c%2 == 0 {
		return l.A, l.B, l.Gbps
	}
	return l.B, l.A, l.Gbps
}

// neighbours returns node n's neighbours (ascending) and the channels to them.
func (t *Topology) neighbours(n int32) (nodes, chans []int32) {
	lo, hi := t.adjStart[n], t.adjStart[n+1]
	return t.adjNode[lo:hi], t.adjChan[lo:hi]
}

// ChannelBetween returns the channel from a to b, or -1 if they are not linked.
func (t *Topology) ChannelBetween(a, b int32) int32 {
	nodes, chans := t.neighbours(a)
	i := sort.Search(len(nodes), func(i int) bool { return nodes[i] >= b })
	if i < len(nodes) && nodes[i] == b {
		return chans[i]
	}
	return -1
}

// index checks the topology and derives hosts, racks (unless set) and the
// adjacency. Errors name the node or link at fault.
func (t *Topology) index() error {
	n := len(t.IsSwitch)
	if n == 0 {
		return fmt.Errorf("topology %s: no nodes", t.Name)
	}
	if n > math.MaxInt32/4 {
		return fmt.Errorf("topology %s: %d nodes is too many", t.Name, n)
	}
	deg := make([]int32, n+1)
	type pair struct{ a, b int32 }
	seen := make(map[pair]int, len(t.Links))
	for i, l := range t.Links {
		switch {
		case l.A < 0 || int(l.A) >= n || l.B < 0 || int(l.B) >= n:
			return fmt.Errorf("topology %s: link %d (%d-%d): node outside 0..%d", t.Name, i, l.A, l.B, n-1)
		case l.A == l.B:
			return fmt.Errorf("topology %s: link %d joins node %d to itself", t.Name, i, l.A)
		case !(l.Gbps > 0) || math.IsInf(l.Gbps, 0):
			return fmt.Errorf("topology %s: link %d (%d-%d): rate %v Gbps, want a finite rate > 0", t.Name, i, l.A, l.B, l.Gbps)
		case l.DelayNs < 0:
			return fmt.Errorf("topology %s: link %d (%d-%d): delay %d ns < 0", t.Name, i, l.A, l.B, l.DelayNs)
		case !t.IsSwitch[l.A] && !t.IsSwitch[l.B]:
			return fmt.Errorf("topology %s: link %d joins host %d to host %d; hosts attach to switches", t.Name, i, l.A, l.B)
		}
		k := pair{min(l.A, l.B), max(l.A, l.B)}
		if j, dup := seen[k]; dup {
			return fmt.Errorf("topology %s: links %d and %d both join nodes %d and %d", t.Name, j, i, k.a, k.b)
		}
		seen[k] = i
		deg[l.A]++
		deg[l.B]++
	}
	// CSR adjacency, neighbours ascending.
	t.adjStart = make([]int32, n+1)
	for i := 0; i < n; i++ {
		t.adjStart[i+1] = t.adjStart[i] + deg[i]
	}
	t.adjNode = make([]int32, 2*len(t.Links))
	t.adjChan = make([]int32, 2*len(t.Links))
	fill := make([]int32, n)
	copy(fill, t.adjStart[:n])
	for i, l := range t.Links {
		t.adjNode[fill[l.A]], t.adjChan[fill[l.A]] = l.B, int32(2*i)
		fill[l.A]++
		t.adjNode[fill[l.B]], t.adjChan[fill[l.B]] = l.A, int32(2*i+1)
		fill[l.B]++
	}
	for v := 0; v < n; v++ {
		lo, hi := t.adjStart[v], t.adjStart[v+1]
		sort.Sort(adjSorter{t.adjNode[lo:hi], t.adjChan[lo:hi]})
	}
	// Hosts: exactly one link each, to a switch.
	t.hosts = t.hosts[:0]
	t.rackOf = make([]int32, n)
	for v := 0; v < n; v++ {
		t.rackOf[v] = -1
		if t.IsSwitch[v] {
			continue
		}
		if deg[v] != 1 {
			return fmt.Errorf("topology %s: host %d has %d links; m4 models single-homed hosts (exactly one link, to a switch)", t.Name, v, deg[v])
		}
		t.hosts = append(t.hosts, int32(v))
	}
	if len(t.hosts) < 2 {
		return fmt.Errorf("topology %s: %d hosts, want >= 2", t.Name, len(t.hosts))
	}
	if t.Racks == nil {
		bySwitch := map[int32]int{}
		for _, h := range t.hosts {
			sw := t.adjNode[t.adjStart[h]]
			r, ok := bySwitch[sw]
			if !ok {
				r = len(t.Racks)
				bySwitch[sw] = r
				t.Racks = append(t.Racks, Rack{Switch: sw, Pod: -1})
			}
			t.Racks[r].Hosts = append(t.Racks[r].Hosts, h)
		}
		sort.Slice(t.Racks, func(i, j int) bool { return t.Racks[i].Switch < t.Racks[j].Switch })
	}
	for r, rk := range t.Racks {
		for _, h := range rk.Hosts {
			if int(h) >= n || t.IsSwitch[h] || t.adjNode[t.adjStart[h]] != rk.Switch {
				return fmt.Errorf("topology %s: rack %d lists node %d, which is not a host of switch %d", t.Name, r, h, rk.Switch)
			}
			t.rackOf[h] = int32(r)
		}
	}
	for _, h := range t.hosts {
		if t.rackOf[h] < 0 {
			return fmt.Errorf("topology %s: host %d is in no rack", t.Name, h)
		}
	}
	return nil
}

type adjSorter struct{ nodes, chans []int32 }

func (s adjSorter) Len() int           { return len(s.nodes) }
func (s adjSorter) Less(i, j int) bool { return s.nodes[i] < s.nodes[j] }
func (s adjSorter) Swap(i, j int) {
	s.nodes[i], s.nodes[j] = s.nodes[j], s.nodes[i]
	s.chans[i], s.chans[j] = s.chans[j], s.chans[i]
}

// NewTopology indexes a topology given by its nodes and links (racks are
// derived: each switch with hosts is one). name is used in error messages.
func NewTopology(name string, isSwitch []bool, links []Link) (*Topology, error) {
	t := &Topology{Name: name, IsSwitch: isSwitch, Links: links}
	if err := t.index(); err != nil {
		return nil, err
	}
	return t, nil
}

// FabricSpec describes a Meta-style fabric cluster as in the Parsimon and
// m3 evaluations: Pods pods, each with FabsPerPod fabric switches and
// RacksPerPod racks (a ToR and HostsPerRack hosts); every ToR links to every
// fabric switch of its pod; fabric switch i of each pod links to the
// SpinesPerPlane spines of spine plane i. Spines per plane = racks per pod
// is 1:1 at the spines; half of it 2:1, a quarter 4:1.
type FabricSpec struct {
	Pods, FabsPerPod, RacksPerPod, HostsPerRack, SpinesPerPlane int
	HostGbps, FabricGbps                                        float64
	DelayNs                                                     int64
}

// Fabric builds the cluster. Node ids follow Parsimon's contiguous layout:
// hosts (pod, rack, host), then ToRs (pod, rack), fabric switches (pod,
// plane), spines (plane, spine); links are listed fabric-spine first, then
// per pod ToR-fabric and host-ToR, as Parsimon lists them.
func Fabric(s FabricSpec) (*Topology, error) {
	for _, f := range []struct {
		name string
		v    int
	}{{"pods", s.Pods}, {"fabs_per_pod", s.FabsPerPod}, {"racks_per_pod", s.RacksPerPod},
		{"hosts_per_rack", s.HostsPerRack}, {"spines_per_plane", s.SpinesPerPlane}} {
		if f.v < 1 {
			return nil, fmt.Errorf("fabric: %s = %d, want >= 1", f.name, f.v)
		}
	}
	if err := checkRates(s.HostGbps, s.FabricGbps, s.DelayNs); err != nil {
		return nil, fmt.Errorf("fabric: %w", err)
	}
	nHosts := s.Pods * s.RacksPerPod * s.HostsPerRack
	nTors := s.Pods * s.RacksPerPod
	nFabs := s.Pods * s.FabsPerPod
	nSpines := s.FabsPerPod * s.SpinesPerPlane
	n := nHosts + nTors + nFabs + nSpines
	if n > 1<<24 {
		return nil, fmt.Errorf("fabric: %d nodes is too many", n)
	}
	torBase, fabBase, spineBase := nHosts, nHosts+nTors, nHosts+nTors+nFabs
	host := func(p, r, h int) int32 { return int32((p*s.RacksPerPod+r)*s.HostsPerRack + h) }
	tor := func(p, r int) int32 { return int32(torBase + p*s.RacksPerPod + r) }
	fab := func(p, i int) int32 { return int32(fabBase + p*s.FabsPerPod + i) }
	spine := func(i, j int) int32 { return int32(spineBase + i*s.SpinesPerPlane + j) }

	t := &Topology{
		Name:     fmt.Sprintf("fabric-%dx%dx%dx%d-sp%d", s.Pods, s.FabsPerPod, s.RacksPerPod, s.HostsPerRack, s.SpinesPerPlane),
		IsSwitch: make([]bool, n),
	}
	for v := nHosts; v < n; v++ {
		t.IsSwitch[v] = true
	}
	for p := 0; p < s.Pods; p++ {
		for i := 0; i < s.FabsPerPod; i++ {
			for j := 0; j < s.SpinesPerPlane; j++ {
				t.Links = append(t.Links, Link{fab(p, i), spine(i, j), s.FabricGbps, s.DelayNs})
			}
		}
	}
	for p := 0; p < s.Pods; p++ {
		var pod []int
		for r := 0; r < s.RacksPerPod; r++ {
			for i := 0; i < s.FabsPerPod; i++ {
				t.Links = append(t.Links, Link{tor(p, r), fab(p, i), s.FabricGbps, s.DelayNs})
			}
		}
		for r := 0; r < s.RacksPerPod; r++ {
			rk := Rack{Switch: tor(p, r), Pod: p}
			for h := 0; h < s.HostsPerRack; h++ {
				t.Links = append(t.Links, Link{host(p, r, h), tor(p, r), s.HostGbps, s.DelayNs})
				rk.Hosts = append(rk.Hosts, host(p, r, h))
			}
			pod = append(pod, len(t.Racks))
			t.Racks = append(t.Racks, rk)
		}
		t.Pods = append(t.Pods, pod)
	}
	if err := t.index(); err != nil {
		return nil, err
	}
	return t, nil
}

// FatTree builds a k-ary fat-tree (k even): k pods of k/2 edge and k/2
// aggregation switches, (k/2)^2 core switches, k/2 hosts per edge switch:
// k^3/4 hosts, 5k^2/4 switches, 3k^3/4 links. Aggregation switch i of every
// pod links to cores i*k/2 .. i*k/2+k/2-1. Node ids: hosts (pod, edge, host),
// edges (pod, i), aggregations (pod, i), cores.
func FatTree(k int, hostGbps, fabricGbps float64, delayNs int64) (*Topology, error) {
	if k < 2 || k%2 != 0 {
		return nil, fmt.Errorf("fat-tree: k = %d, want an even number >= 2", k)
	}
	if k > 256 {
		return nil, fmt.Errorf("fat-tree: k = %d is too large (%d hosts)", k, k*k*k/4)
	}
	if err := checkRates(hostGbps, fabricGbps, delayNs); err != nil {
		return nil, fmt.Errorf("fat-tree: %w", err)
	}
	h := k / 2
	nHosts := k * h * h
	edgeBase := nHosts
	aggBase := edgeBase + k*h
	coreBase := aggBase + k*h
	n := coreBase + h*h
	t := &Topology{Name: fmt.Sprintf("fattree-k%d", k), IsSwitch: make([]bool, n)}
	for v := nHosts; v < n; v++ {
		t.IsSwitch[v] = true
	}
	for p := 0; p < k; p++ {
		var pod []int
		for e := 0; e < h; e++ {
			edge := int32(edgeBase + p*h + e)
			rk := Rack{Switch: edge, Pod: p}
			for j := 0; j < h; j++ {
				hv := int32((p*h+e)*h + j)
				t.Links = append(t.Links, Link{hv, edge, hostGbps, delayNs})
				rk.Hosts = append(rk.Hosts, hv)
			}
			pod = append(pod, len(t.Racks))
			t.Racks = append(t.Racks, rk)
		}
		t.Pods = append(t.Pods, pod)
	}
	for p := 0; p < k; p++ {
		for e := 0; e < h; e++ {
			for a := 0; a < h; a++ {
				t.Links = append(t.Links, Link{int32(edgeBase + p*h + e), int32(aggBase + p*h + a), fabricGbps, delayNs})
			}
		}
	}
	for p := 0; p < k; p++ {
		for a := 0; a < h; a++ {
			for j := 0; j < h; j++ {
				t.Links = append(t.Links, Link{int32(aggBase + p*h + a), int32(coreBase + a*h + j), fabricGbps, delayNs})
			}
		}
	}
	if err := t.index(); err != nil {
		return nil, err
	}
	return t, nil
}

func checkRates(hostGbps, fabricGbps float64, delayNs int64) error {
	switch {
	case !(hostGbps > 0) || math.IsInf(hostGbps, 0):
		return fmt.Errorf("host_gbps = %v, want a finite rate > 0", hostGbps)
	case !(fabricGbps > 0) || math.IsInf(fabricGbps, 0):
		return fmt.Errorf("fabric_gbps = %v, want a finite rate > 0", fabricGbps)
	case delayNs < 0:
		return fmt.Errorf("link_delay_ns = %d, want >= 0", delayNs)
	}
	return nil
}

// LinkRates returns the one rate of t's host links and the one rate of its
// switch-to-switch links (the latter 0 when no two switches are linked);
// m4 models networks with one of each.
func (t *Topology) LinkRates() (host, fabric float64, err error) {
	for _, l := range t.Links {
		sw := t.IsSwitch[l.A] && t.IsSwitch[l.B]
		p, what := &host, "host"
		if sw {
			p, what = &fabric, "switch-to-switch"
		}
		if *p == 0 {
			*p = l.Gbps
		} else if *p != l.Gbps {
			return 0, 0, fmt.Errorf("%s links at %g and %g Gbps: m4 models one host link rate and one fabric link rate", what, *p, l.Gbps)
		}
	}
	if host == 0 {
		return 0, 0, fmt.Errorf("no host links")
	}
	return host, fabric, nil
}
