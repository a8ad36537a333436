package workload

import (
	"fmt"
	"math/bits"
)

// FlowDport is the destination port of every flow in m4's ns-3 flow files
// (field 5 of a flow line), and PriorityGroup its field 4, as in m3's data.
const (
	FlowDport     = 100
	PriorityGroup = 3
	// FirstSport is the source port of the first flow of each (src, dst)
	// pair; later flows of the pair count up from it, as the fork's third.cc
	// assigns them.
	FirstSport = 10000
)

// Routing is the ECMP routing model of a topology: packets go along
// shortest paths, never through a host, and a switch with several
// equal-cost next hops toward a destination picks one by hashing the flow's
// 5-tuple as the HPCC ns-3 fork's switches do (Murmur3 of source IP,
// destination IP and ports, seeded with the switch's node id, modulo the
// number of next hops). Next hops are listed in the order the fork's
// routing setup (a breadth-first search from each destination host)
// reaches them, which visits a node's neighbouring switches in descending
// id (their objects' memory order; docs/pktsim.md, "Routing"). So each flow
// of a flow file has one path, the one ns-3 gives it.
type Routing struct {
	t       *Topology
	swIndex []int32  // node -> switch index, -1 for hosts
	dist    []uint16 // dist[r*nSw + swIndex[v]]: hops from switch v to rack r's switch
	rank    []int32  // rank[r*nSw + swIndex[v]]: v's place in the search from rack r
	nSw     int
}

const unreachable = ^uint16(0)

// NewRouting computes hop distances from every switch to every rack, over
// switches only, and checks that every rack reaches every other.
func NewRouting(t *Topology) (*Routing, error) {
	rt := &Routing{t: t, swIndex: make([]int32, t.NumNodes())}
	for v, sw := range t.IsSwitch {
		rt.swIndex[v] = -1
		if sw {
			rt.swIndex[v] = int32(rt.nSw)
			rt.nSw++
		}
	}
	if len(t.Racks)*rt.nSw > 1<<28 {
		return nil, fmt.Errorf("topology %s: %d racks x %d switches is too large to route", t.Name, len(t.Racks), rt.nSw)
	}
	rt.dist = make([]uint16, len(t.Racks)*rt.nSw)
	rt.rank = make([]int32, len(t.Racks)*rt.nSw)
	queue := make([]int32, 0, rt.nSw)
	for r, rk := range t.Racks {
		d := rt.dist[r*rt.nSw : (r+1)*rt.nSw]
		rank := rt.rank[r*rt.nSw : (r+1)*rt.nSw]
		for i := range d {
			d[i] = unreachable
		}
		d[rt.swIndex[rk.Switch]] = 0
		queue = append(queue[:0], rk.Switch)
		for i := 0; i < len(queue); i++ {
			v := queue[i]
			rank[rt.swIndex[v]] = int32(i)
			dv := d[rt.swIndex[v]]
			nodes, _ := t.neighbours(v)
			// the fork's order: neighbouring switches by descending id
			for k := len(nodes) - 1; k >= 0; k-- {
				u := nodes[k]
				su := rt.swIndex[u]
				if su < 0 || d[su] != unreachable {
					continue
				}
				if dv+1 == unreachable {
					return nil, fmt.Errorf("topology %s: paths longer than %d hops", t.Name, unreachable-1)
				}
				d[su] = dv + 1
				queue = append(queue, u)
			}
		}
		for r2, rk2 := range t.Racks {
			if d[rt.swIndex[rk2.Switch]] == unreachable {
				return nil, fmt.Errorf("topology %s: no path from switch %d (rack %d) to switch %d (rack %d)",
					t.Name, rk2.Switch, r2, rk.Switch, r)
			}
		}
	}
	return rt, nil
}

// Topology returns the routed topology.
func (rt *Routing) Topology() *Topology { return rt.t }

// AppendNextHops appends to buf the next hops from node v toward host dst
// (in the fork's order, see Routing) and returns it; none when v == dst.
func (rt *Routing) AppendNextHops(buf []int32, v, dst int32) []int32 {
	t := rt.t
	if v == dst {
		return buf
	}
	if !t.IsSwitch[v] {
		return append(buf, t.adjNode[t.adjStart[v]])
	}
	r := t.rackOf[dst]
	if t.Racks[r].Switch == v {
		return append(buf, dst)
	}
	d := rt.dist[int(r)*rt.nSw : (int(r)+1)*rt.nSw]
	rank := rt.rank[int(r)*rt.nSw : (int(r)+1)*rt.nSw]
	want := d[rt.swIndex[v]] - 1
	nodes, _ := t.neighbours(v)
	lo := len(buf)
	for _, u := range nodes {
		if su := rt.swIndex[u]; su >= 0 && d[su] == want {
			// insert in the order the search from dst's rack reached them
			buf = append(buf, u)
			for j := len(buf) - 1; j > lo && rank[rt.swIndex[buf[j-1]]] > rank[su]; j-- {
				buf[j], buf[j-1] = buf[j-1], buf[j]
			}
		}
	}
	return buf
}

// AppendRoute appends the channels of the path ns-3 gives a flow from host
// src to host dst with source port sport, and returns buf.
func (rt *Routing) AppendRoute(buf []int32, src, dst int32, sport uint16) []int32 {
	t := rt.t
	key := [3]uint32{HostIP(src), HostIP(dst), uint32(sport) | FlowDport<<16}
	var hopsBuf [64]int32
	v := src
	for v != dst {
		hops := rt.AppendNextHops(hopsBuf[:0], v, dst)
		next := hops[0]
		if len(hops) > 1 {
			next = hops[EcmpHash(key, uint32(v))%uint32(len(hops))]
		}
		buf = append(buf, t.ChannelBetween(v, next))
		v = next
	}
	return buf
}

// HostIP returns the IPv4 address (as a uint32) the fork's third.cc gives
// node id: 11.x.y.1 with x.y the id in base 256 (high byte first).
func HostIP(id int32) uint32 {
	u := uint32(id)
	return 0x0b000001 + (u/256)*0x00010000 + (u%256)*0x00000100
}

// EcmpHash is the fork's switch hash: 32-bit Murmur3 of the 12-byte key
// (source IP, destination IP, sport | dport<<16, each a little-endian word)
// with the switch's node id as the seed.
func EcmpHash(key [3]uint32, seed uint32) uint32 {
	h := seed
	for _, k := range key {
		k *= 0xcc9e2d51
		k = bits.RotateLeft32(k, 15)
		k *= 0x1b873593
		h ^= k
		h = bits.RotateLeft32(h, 13)
		h = h*5 + 0xe6546b64
	}
	h ^= 12
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}

// Sports returns the source port of each flow: per (src, dst) pair the
// flows count up from FirstSport in flow order (the order of the flow file,
// ascending start time), wrapping at 65536 as ns-3's uint16 does.
func Sports(src, dst []int32) []uint16 {
	next := make(map[uint64]uint16, len(src)/2+1)
	out := make([]uint16, len(src))
	for i := range src {
		k := uint64(uint32(src[i]))<<32 | uint64(uint32(dst[i]))
		p, ok := next[k]
		if !ok {
			p = FirstSport
		}
		out[i] = p
		next[k] = p + 1
	}
	return out
}
