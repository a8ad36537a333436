package pktsim

import (
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/pipeline/atomicfile"
	"github.com/m4sim/m4/pipeline/scenario"
)

// NS3Flows are the flows of a run as an ns-3 flow file holds them, in file
// order (start ascending). StartNs is the start as the fork schedules it: the
// file's seconds through ns-3's Seconds(), which can be 1 ns before the
// intended start.
type NS3Flows struct {
	ID        []uint32
	Src, Dst  []int32 // host node ids
	PG        []uint16
	DPort     []uint16
	SizeBytes []uint64
	StartNs   []uint64
	StartText []string // the start in seconds as written in the file ("" if built in Go)
	Name      string   // file the flows came from, for messages
}

// Len returns the number of flows.
func (f *NS3Flows) Len() int { return len(f.ID) }

// Native returns the flows for the simulator.
func (f *NS3Flows) Native() *bindings.PktsimFlows {
	return &bindings.PktsimFlows{ID: f.ID, Src: f.Src, Dst: f.Dst, PG: f.PG, DPort: f.DPort, SizeBytes: f.SizeBytes, StartNs: f.StartNs}
}

// Add appends a flow starting at startSeconds, written and read back as the
// m3 generator does ("%.9f" seconds, then ns-3's Seconds()).
func (f *NS3Flows) Add(id uint32, src, dst int32, sizeBytes uint64, startNs int64) {
	txt := StartText(startNs)
	s, _ := strconv.ParseFloat(txt, 64)
	f.ID = append(f.ID, id)
	f.Src = append(f.Src, src)
	f.Dst = append(f.Dst, dst)
	f.PG = append(f.PG, 3)
	f.DPort = append(f.DPort, 100)
	f.SizeBytes = append(f.SizeBytes, sizeBytes)
	f.StartNs = append(f.StartNs, uint64(SecondsToNs(s)))
	f.StartText = append(f.StartText, txt)
}

// StartText formats an arrival in ns as the m3 generator writes it into a
// flow file: "%.9f" of ns*1e-9 seconds.
func StartText(ns int64) string { return strconv.FormatFloat(float64(ns)*1e-9, 'f', 9, 64) }

// FlowsFromPath converts a path scenario (shard arrays) to flows on
// topo-pl-H: flow i has id i, host ids as node ids, priority group 3 and
// destination port 100, as the m3 generator writes them.
func FlowsFromPath(p *scenario.Path) (*NS3Flows, error) {
	f := &NS3Flows{Name: p.Name}
	for i := 0; i < p.Len(); i++ {
		size := p.SizeBytes[i]
		if !(size >= 1 && size <= math.MaxUint32) || size != math.Trunc(size) {
			return nil, fmt.Errorf("%s: flow %d: size %v is not an integer in 1..2^32-1 bytes", p.SizeFile, i, size)
		}
		at := p.ArrivalNs[i]
		if !(at >= 0 && at < 1e18) || at != math.Trunc(at) {
			return nil, fmt.Errorf("%s: flow %d: arrival %v is not a non-negative integer ns", p.ArrivalFile, i, at)
		}
		f.Add(uint32(i), p.Src[i], p.Dst[i], uint64(size), int64(at))
	}
	return f, nil
}

// ParseFlowFile reads an ns-3 flow file: the flow count, then per flow
// "id src dst pg dport size_bytes start_seconds". Errors name file and line.
func ParseFlowFile(path string) (*NS3Flows, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	return ParseFlows(path, fh)
}

// ParseFlows reads a flow file from r (name is used in errors).
func ParseFlows(name string, r io.Reader) (*NS3Flows, error) {
	tk := newTokenizer(name, r)
	n, err := tk.int("flow count", 0, 1<<31-1)
	if err != nil {
		return nil, err
	}
	f := &NS3Flows{Name: name}
	capHint := int(min(n, 1<<20))
	f.ID = make([]uint32, 0, capHint)
	for i := int64(0); i < n; i++ {
		fl := fmt.Sprintf("flow %d", i+1)
		id, err := tk.int(fl+" id", 0, math.MaxUint32)
		if err != nil {
			return nil, err
		}
		src, err := tk.int(fl+" src", 0, math.MaxInt32)
		if err != nil {
			return nil, err
		}
		dst, err := tk.int(fl+" dst", 0, math.MaxInt32)
		if err != nil {
			return nil, err
		}
		pg, err := tk.int(fl+" pg", 1, 7)
		if err != nil {
			return nil, err
		}
		dport, err := tk.int(fl+" dport", 0, math.MaxUint16)
		if err != nil {
			return nil, err
		}
		size, err := tk.int(fl+" size", 1, math.MaxUint32)
		if err != nil {
			return nil, err
		}
		st, err := tk.next()
		if err != nil {
			return nil, err
		}
		if st == "" {
			return nil, tk.errf(fl+" start", "unexpected end of file (truncated?)")
		}
		sec, err := strconv.ParseFloat(st, 64)
		if err != nil || !(sec >= 0 && sec < 1e9) {
			return nil, tk.errf(fl+" start", "%q is not a start time in seconds", st)
		}
		start := uint64(SecondsToNs(sec))
		if k := len(f.StartNs); k > 0 && start < f.StartNs[k-1] {
			return nil, tk.errf(fl+" start", "%s s is before the previous flow's start (the fork needs flows sorted by start)", st)
		}
		f.ID = append(f.ID, uint32(id))
		f.Src = append(f.Src, int32(src))
		f.Dst = append(f.Dst, int32(dst))
		f.PG = append(f.PG, uint16(pg))
		f.DPort = append(f.DPort, uint16(dport))
		f.SizeBytes = append(f.SizeBytes, uint64(size))
		f.StartNs = append(f.StartNs, start)
		f.StartText = append(f.StartText, st)
	}
	// The fork reads only the announced flows; its generator ends the file
	// with one number (the last start + 1 s), which is accepted. Anything
	// more is an error: most likely a flow count that is too small.
	tok, err := tk.next()
	if err != nil {
		return nil, err
	}
	if tok != "" {
		if _, perr := strconv.ParseFloat(tok, 64); perr != nil {
			return nil, tk.errf("trailing data", "unexpected %q after %d flows (flow count too small?)", tok, n)
		}
		if more, err := tk.next(); err != nil {
			return nil, err
		} else if more != "" {
			return nil, tk.errf("trailing data", "unexpected %q %q after %d flows (flow count too small?)", tok, more, n)
		}
	}
	return f, nil
}

// CheckHosts verifies every flow's endpoints are distinct hosts of t.
func (f *NS3Flows) CheckHosts(t *NS3Topology) error {
	sw := t.IsSwitch()
	for i := range f.ID {
		for _, e := range []struct {
			what string
			v    int32
		}{{"src", f.Src[i]}, {"dst", f.Dst[i]}} {
			if e.v < 0 || int(e.v) >= t.Nodes {
				return fmt.Errorf("%s: flow %d (id %d): %s %d is not a node of %s (0..%d)", f.Name, i+1, f.ID[i], e.what, e.v, t.Name, t.Nodes-1)
			}
			if sw[e.v] {
				return fmt.Errorf("%s: flow %d (id %d): %s %d is a switch in %s, not a host", f.Name, i+1, f.ID[i], e.what, e.v, t.Name)
			}
		}
		if f.Src[i] == f.Dst[i] {
			return fmt.Errorf("%s: flow %d (id %d): src and dst are both %d", f.Name, i+1, f.ID[i], f.Src[i])
		}
	}
	return nil
}

// Format returns the flows in the ns-3 flow-file format.
func (f *NS3Flows) Format() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d\n", f.Len())
	for i := range f.ID {
		st := ""
		if i < len(f.StartText) {
			st = f.StartText[i]
		}
		if st == "" {
			st = strconv.FormatFloat(float64(f.StartNs[i])*1e-9, 'f', 9, 64)
		}
		fmt.Fprintf(&b, "%d %d %d %d %d %d %s\n", f.ID[i], f.Src[i], f.Dst[i], f.PG[i], f.DPort[i], f.SizeBytes[i], st)
	}
	return b.String()
}

// WriteFlowFile writes f to path atomically.
func WriteFlowFile(path string, f *NS3Flows) error {
	return atomicfile.WriteBytes(path, []byte(f.Format()))
}
