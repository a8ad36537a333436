package workload

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The tests read back the Parsimon JSON topologies WriteParsimonJSON writes.

// ReadParsimonJSON reads either Parsimon JSON form. A Cluster keeps its
// pods and racks; a plain network gets racks derived from its links.
func ReadParsimonJSON(path string) (*Topology, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseParsimonJSON(path, b)
}

// ParseParsimonJSON parses Parsimon JSON topology text; path names it in
// errors and, without its extension, the topology.
func ParseParsimonJSON(path string, b []byte) (*Topology, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var nodes []pNode
	var links []pLink
	var pods [][]pRack
	decode := func(v any) error {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		return nil
	}
	if _, ok := probe["pods"]; ok {
		var c pCluster
		if err := decode(&c); err != nil {
			return nil, err
		}
		for _, pl := range c.Planes {
			nodes = append(nodes, pl...)
		}
		links = append(links, c.Fab2Spine...)
		for _, p := range c.Pods {
			nodes = append(nodes, p.Fabs...)
			links = append(links, p.Tor2Fab...)
			for _, r := range p.Racks {
				nodes = append(nodes, r.Tor)
				nodes = append(nodes, r.Hosts...)
				links = append(links, r.Host2Tor...)
			}
			pods = append(pods, p.Racks)
		}
	} else {
		var n pNetwork
		if err := decode(&n); err != nil {
			return nil, err
		}
		nodes, links = n.Nodes, n.Links
	}
	isSwitch := make([]bool, len(nodes))
	seen := make([]bool, len(nodes))
	for _, nd := range nodes {
		if nd.ID < 0 || int(nd.ID) >= len(nodes) {
			return nil, fmt.Errorf("%s: node id %d: ids must be 0..%d", path, nd.ID, len(nodes)-1)
		}
		if seen[nd.ID] {
			return nil, fmt.Errorf("%s: node id %d listed twice", path, nd.ID)
		}
		seen[nd.ID] = true
		switch nd.Kind {
		case "Switch":
			isSwitch[nd.ID] = true
		case "Host":
		default:
			return nil, fmt.Errorf("%s: node %d: kind %q, want Host or Switch", path, nd.ID, nd.Kind)
		}
	}
	tl := make([]Link, len(links))
	for i, l := range links {
		tl[i] = Link{l.A, l.B, float64(l.Bandwidth) / 1e9, l.Delay}
	}
	base := filepath.Base(path)
	t := &Topology{Name: strings.TrimSuffix(base, filepath.Ext(base)), IsSwitch: isSwitch, Links: tl}
	if pods != nil {
		t.Racks = []Rack{}
		for p, racks := range pods {
			var pod []int
			for _, r := range racks {
				rk := Rack{Switch: r.Tor.ID, Pod: p}
				for _, h := range r.Hosts {
					rk.Hosts = append(rk.Hosts, h.ID)
				}
				pod = append(pod, len(t.Racks))
				t.Racks = append(t.Racks, rk)
			}
			t.Pods = append(t.Pods, pod)
		}
	}
	if err := t.index(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}
