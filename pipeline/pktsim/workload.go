package pktsim

import (
	"fmt"
	"strconv"

	"github.com/m4sim/m4/pipeline/workload"
)

// FromWorkload converts a workload topology (pipeline/workload: fabric
// clusters, fat-trees, ns-3 files) into the simulator's form, node for node
// and link for link, so node ids and link order (and so ns-3's device
// numbering and ECMP choices) are exactly what the fork builds from the
// topology file t.WriteNS3 writes. Each link's rate is its Gbps in bit/s,
// truncated as ns-3's DataRate does, and its error rate 0 (the config's
// ERROR_RATE_PER_LINK applies).
func FromWorkload(t *workload.Topology) (*NS3Topology, error) {
	n := len(t.IsSwitch)
	if n < 2 || len(t.Links) == 0 {
		return nil, fmt.Errorf("%s: %d nodes and %d links: want at least 2 nodes and a link", t.Name, n, len(t.Links))
	}
	out := &NS3Topology{Nodes: n, Name: t.Name, Links: make([]Link, len(t.Links))}
	for v, sw := range t.IsSwitch {
		if sw {
			out.Switches = append(out.Switches, int32(v))
		}
	}
	if len(out.Switches) == n {
		return nil, fmt.Errorf("%s: no hosts (every node is a switch)", t.Name)
	}
	for i, l := range t.Links {
		bps := l.Gbps * 1e9
		switch {
		case l.A < 0 || int(l.A) >= n || l.B < 0 || int(l.B) >= n || l.A == l.B:
			return nil, fmt.Errorf("%s: link %d joins nodes %d and %d (nodes 0..%d)", t.Name, i, l.A, l.B, n-1)
		case !(bps >= 1 && bps < 1<<63):
			return nil, fmt.Errorf("%s: link %d: rate %v Gbps is out of range", t.Name, i, l.Gbps)
		case l.DelayNs < 0 || l.DelayNs > 1e6:
			// ParseDelay's range: at most 1e6 of the unit
			return nil, fmt.Errorf("%s: link %d: delay %d ns is out of range (0..1e6)", t.Name, i, l.DelayNs)
		}
		out.Links[i] = Link{A: l.A, B: l.B, Rate: Rate(uint64(bps)), DelayNs: uint64(l.DelayNs),
			RateText:  strconv.FormatFloat(l.Gbps, 'g', -1, 64) + "Gbps",
			DelayText: strconv.FormatInt(l.DelayNs, 10) + "ns"}
	}
	return out, nil
}

// Fabric builds a fabric cluster (pipeline/workload's, Parsimon's layout)
// for the simulator.
func Fabric(s workload.FabricSpec) (*NS3Topology, error) {
	t, err := workload.Fabric(s)
	if err != nil {
		return nil, err
	}
	return FromWorkload(t)
}
