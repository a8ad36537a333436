package workload

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/m4sim/m4/pipeline/atomicfile"
)

// WriteNS3 writes t in the ns-3 topology format the HPCC fork's third.cc
// reads: "nodes switches links", the switch ids, then one
// "a b RATEGbps DELAYns 0" line per link (the last field is the error rate).
func (t *Topology) WriteNS3(w io.Writer) error {
	bw := bufio.NewWriter(w)
	nsw := 0
	for _, s := range t.IsSwitch {
		if s {
			nsw++
		}
	}
	fmt.Fprintf(bw, "%d %d %d\n", len(t.IsSwitch), nsw, len(t.Links))
	first := true
	for v, s := range t.IsSwitch {
		if s {
			if !first {
				bw.WriteByte(' ')
			}
			bw.WriteString(strconv.Itoa(v))
			first = false
		}
	}
	bw.WriteByte('\n')
	for _, l := range t.Links {
		fmt.Fprintf(bw, "%d %d %sGbps %dns 0\n", l.A, l.B, strconv.FormatFloat(l.Gbps, 'g', -1, 64), l.DelayNs)
	}
	return bw.Flush()
}

// ReadNS3 reads an ns-3 topology file (see WriteNS3). Rates may carry the
// units bps, Kbps, Mbps, Gbps, Tbps (or b/s, Kb/s, ...), delays ns, us, ms
// or s. Errors give the file and line.
func ReadNS3(path string) (*Topology, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseNS3(path, b)
}

// ParseNS3 parses ns-3 topology text; name prefixes errors.
func ParseNS3(name string, data []byte) (*Topology, error) {
	var tokens []string // whitespace-separated, with their lines
	var lines []int
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 64<<20)
	ln := 0
	for sc.Scan() {
		ln++
		for _, f := range strings.Fields(sc.Text()) {
			tokens = append(tokens, f)
			lines = append(lines, ln)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	pos := 0
	next := func(what string) (string, int, error) {
		if pos == len(tokens) {
			return "", ln, fmt.Errorf("%s:%d: truncated: expected %s", name, ln, what)
		}
		pos++
		return tokens[pos-1], lines[pos-1], nil
	}
	count := func(what string, limit int) (int, error) {
		s, l, err := next(what)
		if err != nil {
			return 0, err
		}
		v, err := strconv.Atoi(s)
		if err != nil || v < 0 || v > limit {
			return 0, fmt.Errorf("%s:%d: %s %q is not an integer in 0..%d", name, l, what, s, limit)
		}
		return v, nil
	}
	nodes, err := count("node count", 1<<24)
	if err != nil {
		return nil, err
	}
	nsw, err := count("switch count", nodes)
	if err != nil {
		return nil, err
	}
	nlinks, err := count("link count", 1<<26)
	if err != nil {
		return nil, err
	}
	isSwitch := make([]bool, nodes)
	for i := 0; i < nsw; i++ {
		s, l, err := next("a switch id")
		if err != nil {
			return nil, err
		}
		v, err := strconv.Atoi(s)
		if err != nil || v < 0 || v >= nodes {
			return nil, fmt.Errorf("%s:%d: switch id %q is not a node id in 0..%d", name, l, s, nodes-1)
		}
		if isSwitch[v] {
			return nil, fmt.Errorf("%s:%d: switch id %d listed twice", name, l, v)
		}
		isSwitch[v] = true
	}
	links := make([]Link, 0, nlinks)
	for i := 0; i < nlinks; i++ {
		var f [5]string
		var l int
		for j, what := range []string{"link endpoint a", "link endpoint b", "link rate", "link delay", "link error rate"} {
			if f[j], l, err = next(fmt.Sprintf("%s of link %d", what, i)); err != nil {
				return nil, err
			}
		}
		a, errA := strconv.Atoi(f[0])
		b, errB := strconv.Atoi(f[1])
		if errA != nil || errB != nil || a < 0 || a >= nodes || b < 0 || b >= nodes {
			return nil, fmt.Errorf("%s:%d: link %d endpoints %q %q are not node ids in 0..%d", name, l, i, f[0], f[1], nodes-1)
		}
		gbps, err := parseRate(f[2])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: link %d rate: %w", name, l, i, err)
		}
		delay, err := parseDelay(f[3])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: link %d delay: %w", name, l, i, err)
		}
		if e, err := strconv.ParseFloat(f[4], 64); err != nil || !(e >= 0 && e <= 1) {
			return nil, fmt.Errorf("%s:%d: link %d error rate %q is not a number in [0, 1]", name, l, i, f[4])
		}
		links = append(links, Link{int32(a), int32(b), gbps, delay})
	}
	if pos != len(tokens) {
		return nil, fmt.Errorf("%s:%d: unexpected %q after the %d links the first line announces", name, lines[pos], tokens[pos], nlinks)
	}
	base := filepath.Base(name)
	t, err := NewTopology(strings.TrimSuffix(base, filepath.Ext(base)), isSwitch, links)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return t, nil
}

var rateUnits = []struct {
	suffix string
	gbps   float64
}{
	{"Tbps", 1e3}, {"Gbps", 1}, {"Mbps", 1e-3}, {"Kbps", 1e-6}, {"kbps", 1e-6}, {"bps", 1e-9},
	{"Tb/s", 1e3}, {"Gb/s", 1}, {"Mb/s", 1e-3}, {"Kb/s", 1e-6}, {"kb/s", 1e-6}, {"b/s", 1e-9},
}

func parseRate(s string) (float64, error) {
	for _, u := range rateUnits {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseFloat(num, 64)
			if err != nil || !(v > 0) || math.IsInf(v, 0) {
				return 0, fmt.Errorf("%q is not a rate > 0", s)
			}
			return v * u.gbps, nil
		}
	}
	return 0, fmt.Errorf("%q has no rate unit (bps, Kbps, Mbps, Gbps, Tbps)", s)
}

func parseDelay(s string) (int64, error) {
	for _, u := range []struct {
		suffix string
		ns     float64
	}{{"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}} {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseFloat(num, 64)
			if err != nil || !(v >= 0) || v*u.ns > 1e18 {
				return 0, fmt.Errorf("%q is not a delay >= 0", s)
			}
			return int64(math.Round(v * u.ns)), nil
		}
	}
	return 0, fmt.Errorf("%q has no time unit (ns, us, ms, s)", s)
}

// Parsimon's JSON forms: a fabric as its Cluster (planes, pods, fab2spine),
// anything else as nodes and links. Bandwidth in bit/s, delay in ns.
type pNode struct {
	ID   int32  `json:"id"`
	Kind string `json:"kind"`
}

type pLink struct {
	A         int32  `json:"a"`
	B         int32  `json:"b"`
	Bandwidth uint64 `json:"bandwidth"`
	Delay     int64  `json:"delay"`
}

type pRack struct {
	Tor      pNode   `json:"tor"`
	Hosts    []pNode `json:"hosts"`
	Host2Tor []pLink `json:"host2tor"`
}

type pPod struct {
	Fabs    []pNode `json:"fabs"`
	Racks   []pRack `json:"racks"`
	Tor2Fab []pLink `json:"tor2fab"`
}

type pCluster struct {
	Planes    [][]pNode `json:"planes"`
	Pods      []pPod    `json:"pods"`
	Fab2Spine []pLink   `json:"fab2spine"`
}

type pNetwork struct {
	Nodes []pNode `json:"nodes"`
	Links []pLink `json:"links"`
}

func (t *Topology) pLink(l Link) pLink {
	return pLink{l.A, l.B, uint64(math.Round(l.Gbps * 1e9)), l.DelayNs}
}

func (t *Topology) pNode(v int32) pNode {
	if t.IsSwitch[v] {
		return pNode{v, "Switch"}
	}
	return pNode{v, "Host"}
}

// WriteParsimonJSON writes t in Parsimon's JSON form: a fabric built by
// Fabric as Parsimon's Cluster (what parsimon-eval's experiments read);
// any other topology as {"nodes": [...], "links": [...]}.
func (t *Topology) WriteParsimonJSON(w io.Writer, fabric *FabricSpec) error {
	var v any
	if fabric != nil {
		v = t.parsimonCluster(*fabric)
	} else {
		n := pNetwork{Links: make([]pLink, len(t.Links))}
		for i := range t.IsSwitch {
			n.Nodes = append(n.Nodes, t.pNode(int32(i)))
		}
		for i, l := range t.Links {
			n.Links[i] = t.pLink(l)
		}
		v = n
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	return enc.Encode(v)
}

// parsimonCluster regroups a Fabric topology (its node and link layout).
func (t *Topology) parsimonCluster(s FabricSpec) pCluster {
	c := pCluster{}
	nHosts := s.Pods * s.RacksPerPod * s.HostsPerRack
	spineBase := int32(nHosts + s.Pods*s.RacksPerPod + s.Pods*s.FabsPerPod)
	for i := 0; i < s.FabsPerPod; i++ {
		var plane []pNode
		for j := 0; j < s.SpinesPerPlane; j++ {
			plane = append(plane, pNode{spineBase + int32(i*s.SpinesPerPlane+j), "Switch"})
		}
		c.Planes = append(c.Planes, plane)
	}
	li := 0
	for ; li < s.Pods*s.FabsPerPod*s.SpinesPerPlane; li++ {
		c.Fab2Spine = append(c.Fab2Spine, t.pLink(t.Links[li]))
	}
	fabBase := int32(nHosts + s.Pods*s.RacksPerPod)
	for p := 0; p < s.Pods; p++ {
		pod := pPod{}
		for i := 0; i < s.FabsPerPod; i++ {
			pod.Fabs = append(pod.Fabs, pNode{fabBase + int32(p*s.FabsPerPod+i), "Switch"})
		}
		for k := 0; k < s.RacksPerPod*s.FabsPerPod; k++ {
			pod.Tor2Fab = append(pod.Tor2Fab, t.pLink(t.Links[li]))
			li++
		}
		for _, r := range t.Pods[p] {
			rk := t.Racks[r]
			pr := pRack{Tor: pNode{rk.Switch, "Switch"}}
			for _, h := range rk.Hosts {
				pr.Hosts = append(pr.Hosts, pNode{h, "Host"})
				pr.Host2Tor = append(pr.Host2Tor, t.pLink(t.Links[li]))
				li++
			}
			pod.Racks = append(pod.Racks, pr)
		}
		c.Pods = append(c.Pods, pod)
	}
	return c
}

// writeFile writes with fill atomically.
func writeFile(path string, fill func(io.Writer) error) error {
	return atomicfile.Write(path, fill)
}
