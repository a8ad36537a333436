package pktsim

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"strconv"
	"strings"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/pipeline/atomicfile"
)

// Link is one line of a topology file: a full-duplex link between nodes A
// and B with a rate, a propagation delay and a per-packet loss probability.
type Link struct {
	A, B      int32
	Rate      Rate
	DelayNs   uint64
	ErrorRate float64
	RateText  string // as written in the file ("10Gbps"); "" = Rate.String()
	DelayText string // as written ("1000ns"); "" = DelayNs + "ns"
}

// NS3Topology is an ns-3 topology file: node count, the switch ids, the links.
// Nodes that are not switches are hosts. Devices are numbered per node from
// 1 in link order, as ns-3 does.
type NS3Topology struct {
	Nodes    int
	Switches []int32
	Links    []Link
	Name     string // file name or built-in name, for messages
}

// IsSwitch returns a per-node switch flag.
func (t *NS3Topology) IsSwitch() []bool {
	sw := make([]bool, t.Nodes)
	for _, s := range t.Switches {
		sw[s] = true
	}
	return sw
}

// Hosts returns the host node ids in ascending order.
func (t *NS3Topology) Hosts() []int32 {
	sw := t.IsSwitch()
	var h []int32
	for i := 0; i < t.Nodes; i++ {
		if !sw[i] {
			h = append(h, int32(i))
		}
	}
	return h
}

// Native converts t for the simulator. errorPerLink is the config's
// ERROR_RATE_PER_LINK, the fork's loss rate for links whose line says 0.
func (t *NS3Topology) Native(errorPerLink float64) bindings.PktsimTopology {
	n := bindings.PktsimTopology{IsSwitch: t.IsSwitch()}
	anyErr := errorPerLink > 0
	for _, l := range t.Links {
		n.LinkA = append(n.LinkA, l.A)
		n.LinkB = append(n.LinkB, l.B)
		n.RateBps = append(n.RateBps, uint64(l.Rate))
		n.DelayNs = append(n.DelayNs, l.DelayNs)
		if l.ErrorRate > 0 {
			anyErr = true
		}
	}
	if anyErr {
		n.ErrorRate = make([]float64, len(t.Links))
		for i, l := range t.Links {
			n.ErrorRate[i] = l.ErrorRate
			if l.ErrorRate <= 0 {
				n.ErrorRate[i] = errorPerLink
			}
		}
	}
	return n
}

// timeUnits are ns-3 Time string units: factor to ns, and whether the
// conversion multiplies (else divides).
var timeUnits = map[string]struct {
	f   uint64
	mul bool
}{"s": {1e9, true}, "ms": {1e6, true}, "us": {1e3, true}, "ns": {1, true}, "ps": {1e3, false}, "fs": {1e6, false}}

// ParseDelay reads an ns-3 Time string ("1000ns", "1us", "0.000001" in
// seconds) into integer ns as ns-3 does (64.64 fixed point, floor).
func ParseDelay(s string) (uint64, error) {
	n := strings.IndexFunc(s, func(c rune) bool { return (c < '0' || c > '9') && c != '.' && c != '+' && c != '-' })
	num, unit := s, "s"
	if n >= 0 {
		num, unit = s[:n], s[n:]
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("delay %q: bad number", s)
	}
	u, ok := timeUnits[unit]
	if !ok {
		return 0, fmt.Errorf("delay %q: unknown unit %q (s, ms, us, ns, ps, fs)", s, unit)
	}
	if v < 0 || v > 1e6 {
		return 0, fmt.Errorf("delay %q: out of range", s)
	}
	if u.mul {
		return uint64(fixedMul(v, u.f)), nil
	}
	return uint64(v) / u.f, nil
}

// fixedMul is floor(x * f) as ns-3's int64x64_t computes it: x is split
// into floor(x) and trunc(frac(x) * 2^64), the product's high part is kept.
func fixedMul(x float64, f uint64) int64 {
	if !(x > 0) {
		return 0
	}
	hi := math.Floor(x)
	lo := (x - hi) * 18446744073709551616.0
	var l uint64
	if lo >= 18446744073709551616.0 {
		l = math.MaxUint64
	} else {
		l = uint64(lo)
	}
	h, _ := bits.Mul64(l, f)
	return int64(hi)*int64(f) + int64(h)
}

// SecondsToNs is ns-3's Seconds(x) in integer ns (the fork's time base).
func SecondsToNs(x float64) int64 { return fixedMul(x, 1e9) }

// tokenizer yields whitespace-separated tokens with their line numbers.
type tokenizer struct {
	sc   *bufio.Scanner
	name string
	line int
	toks []string
}

func newTokenizer(name string, r io.Reader) *tokenizer {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	return &tokenizer{sc: sc, name: name}
}

// next returns the next token, or "" at EOF.
func (t *tokenizer) next() (string, error) {
	for len(t.toks) == 0 {
		if !t.sc.Scan() {
			if err := t.sc.Err(); err != nil {
				return "", fmt.Errorf("%s: %w", t.name, err)
			}
			return "", nil
		}
		t.line++
		t.toks = strings.Fields(t.sc.Text())
	}
	tok := t.toks[0]
	t.toks = t.toks[1:]
	return tok, nil
}

func (t *tokenizer) errf(field, format string, a ...any) error {
	return fmt.Errorf("%s:%d: %s: %s", t.name, t.line, field, fmt.Sprintf(format, a...))
}

func (t *tokenizer) int(field string, lo, hi int64) (int64, error) {
	tok, err := t.next()
	if err != nil {
		return 0, err
	}
	if tok == "" {
		return 0, fmt.Errorf("%s:%d: %s: unexpected end of file (truncated?)", t.name, t.line, field)
	}
	v, err := strconv.ParseInt(tok, 10, 64)
	if err != nil || v < lo || v > hi {
		return 0, t.errf(field, "%q is not an integer in %d..%d", tok, lo, hi)
	}
	return v, nil
}

// ParseTopologyFile reads an ns-3 topology file.
func ParseTopologyFile(path string) (*NS3Topology, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseTopology(path, f)
}

// ParseTopology reads the fork's topology format: "nodes switches links",
// the switch ids, then one "a b rate delay error_rate" line per link. It
// checks ids, rates (> 0), delays and that no tokens are left over.
func ParseTopology(name string, r io.Reader) (*NS3Topology, error) {
	tk := newTokenizer(name, r)
	nodes, err := tk.int("node count", 2, 1<<24)
	if err != nil {
		return nil, err
	}
	nsw, err := tk.int("switch count", 0, nodes)
	if err != nil {
		return nil, err
	}
	nl, err := tk.int("link count", 1, 1<<26)
	if err != nil {
		return nil, err
	}
	t := &NS3Topology{Nodes: int(nodes), Name: name}
	seen := make(map[int64]bool)
	for i := int64(0); i < nsw; i++ {
		s, err := tk.int(fmt.Sprintf("switch id %d", i+1), 0, nodes-1)
		if err != nil {
			return nil, err
		}
		if seen[s] {
			return nil, tk.errf("switch ids", "switch %d listed twice", s)
		}
		seen[s] = true
		t.Switches = append(t.Switches, int32(s))
	}
	for i := int64(0); i < nl; i++ {
		field := fmt.Sprintf("link %d", i+1)
		a, err := tk.int(field+" node a", 0, nodes-1)
		if err != nil {
			return nil, err
		}
		b, err := tk.int(field+" node b", 0, nodes-1)
		if err != nil {
			return nil, err
		}
		if a == b {
			return nil, tk.errf(field, "joins node %d to itself", a)
		}
		rs, err := tk.next()
		if err != nil {
			return nil, err
		}
		if rs == "" {
			return nil, tk.errf(field+" rate", "unexpected end of file (truncated?)")
		}
		rate, err := ParseRate(rs)
		if err != nil {
			return nil, tk.errf(field+" rate", "%v", err)
		}
		if rate == 0 {
			return nil, tk.errf(field+" rate", "%q is a zero rate", rs)
		}
		ds, err := tk.next()
		if err != nil {
			return nil, err
		}
		if ds == "" {
			return nil, tk.errf(field+" delay", "unexpected end of file (truncated?)")
		}
		delay, err := ParseDelay(ds)
		if err != nil {
			return nil, tk.errf(field+" delay", "%v", err)
		}
		es, err := tk.next()
		if err != nil {
			return nil, err
		}
		if es == "" {
			return nil, tk.errf(field+" error rate", "unexpected end of file (truncated?)")
		}
		e, err := strconv.ParseFloat(es, 64)
		if err != nil || !(e >= 0 && e <= 1) {
			return nil, tk.errf(field+" error rate", "%q is not a probability", es)
		}
		t.Links = append(t.Links, Link{A: int32(a), B: int32(b), Rate: rate, DelayNs: delay, ErrorRate: e, RateText: rs, DelayText: ds})
	}
	if tok, err := tk.next(); err != nil {
		return nil, err
	} else if tok != "" {
		return nil, tk.errf("trailing data", "unexpected %q after %d links", tok, nl)
	}
	if len(t.Hosts()) == 0 {
		return nil, fmt.Errorf("%s: no hosts (every node is a switch)", name)
	}
	return t, nil
}

// Format returns t in the topology file format.
func (t *NS3Topology) Format() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %d %d\n", t.Nodes, len(t.Switches), len(t.Links))
	for i, s := range t.Switches {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.Itoa(int(s)))
	}
	b.WriteByte('\n')
	for _, l := range t.Links {
		rs, ds := l.RateText, l.DelayText
		if rs == "" {
			rs = l.Rate.String()
		}
		if ds == "" {
			ds = strconv.FormatUint(l.DelayNs, 10) + "ns"
		}
		fmt.Fprintf(&b, "%d %d %s %s %s\n", l.A, l.B, rs, ds, strconv.FormatFloat(l.ErrorRate, 'g', -1, 64))
	}
	return b.String()
}

// WriteTopologyFile writes t to path atomically.
func WriteTopologyFile(path string, t *NS3Topology) error {
	return atomicfile.WriteBytes(path, []byte(t.Format()))
}

// ParkingLot returns topo-pl-H, the fork's parking-lot path of H >= 3 hosts
// (mix_m3/topo-pl-H.txt): hosts 0..H-1, switches H..2H-3 in a chain joined
// by 40 Gbps links; host 0 and host H-1 attach at 10 Gbps to the first and
// last switch, host i in between to switch H+i-1 at 100000 Gbps (effectively
// infinite) with delay min(i, H-1-i) us; every other delay is 1 us.
func ParkingLot(h int) (*NS3Topology, error) {
	if h < 3 || h > 1<<20 {
		return nil, fmt.Errorf("topo-pl-%d: a parking-lot path needs 3 or more hosts", h)
	}
	nsw := h - 2
	t := &NS3Topology{Nodes: h + nsw, Name: fmt.Sprintf("topo-pl-%d", h)}
	for k := 0; k < nsw; k++ {
		t.Switches = append(t.Switches, int32(h+k))
	}
	for i := 0; i < h; i++ {
		sw := h + i - 1
		rate, rs := Rate(100000e9), "100000Gbps"
		delay := uint64(1000 * min(i, h-1-i))
		switch i {
		case 0:
			sw, rate, rs, delay = h, 10e9, "10Gbps", 1000
		case h - 1:
			sw, rate, rs, delay = h+nsw-1, 10e9, "10Gbps", 1000
		}
		t.Links = append(t.Links, Link{A: int32(i), B: int32(sw), Rate: rate, DelayNs: delay, RateText: rs,
			DelayText: strconv.FormatUint(delay, 10) + "ns"})
	}
	for k := 0; k+1 < nsw; k++ {
		t.Links = append(t.Links, Link{A: int32(h + k), B: int32(h + k + 1), Rate: 40e9, DelayNs: 1000,
			RateText: "40Gbps", DelayText: "1000ns"})
	}
	return t, nil
}
