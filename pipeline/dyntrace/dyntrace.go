// Package dyntrace reads and writes dynamics.npz, the training data of m4's
// flow-level dynamics model: one whole workload simulated packet by packet,
// with its flows, their routes over the directed links, and a snapshot of
// the network at every flow arrival and departure (each active flow's
// remaining bytes, each busy link's queue). docs/datagen.md describes the
// format; `m4 datagen --dynamics` (pipeline/netdata) writes it.
//
// The file is a NumPy .npz (a zip of .npy arrays, pipeline/npyfile), one
// array per field of Trace under the field's snake_case name, so Python
// reads it with numpy.load as well.
package dyntrace

import (
	"fmt"
	"math"

	"github.com/m4sim/m4/pipeline/npyfile"
)

// FileName is the name of the trace file in a workload folder.
const FileName = "dynamics.npz"

// Event kinds (EvKind).
const (
	Arrival   int8 = 0
	Departure int8 = 1
)

// Trace is the content of a dynamics.npz. F flows in workload order, L
// directed links, E events in simulation order; the per-event snapshots are
// in CSR form: event e's active flows are EvActiveFlow[EvActivePtr[e]:
// EvActivePtr[e+1]], its queues EvQueueLink[EvQueuePtr[e]:EvQueuePtr[e+1]].
type Trace struct {
	FlowSize    []int64 // F: payload bytes
	FlowStartNs []int64 // F: start, ns, as the packet simulator ran it (its arrival event's time)
	FlowFCTNs   []int64 // F: packet-level FCT, ns (last byte at the receiver minus start)
	FlowIdealNs []int64 // F: the fork's ideal FCT of the flow alone, ns

	FlowRoutePtr []int64 // F+1: flow f crosses FlowRoute[FlowRoutePtr[f]:FlowRoutePtr[f+1]]
	FlowRoute    []int32 // R: directed link ids, source to destination

	LinkFrom    []int32   // L: node the link leaves
	LinkTo      []int32   // L: node it enters
	LinkGbps    []float64 // L: rate
	LinkDelayNs []int64   // L: propagation delay

	EvTimeNs []int64 // E: simulated time, non-decreasing
	EvKind   []int8  // E: Arrival or Departure
	EvFlow   []int32 // E: the flow arriving or departing

	EvActivePtr       []int64   // E+1
	EvActiveFlow      []int32   // A: the flows active right after the event
	EvActiveRemaining []float32 // A: their bytes not yet acknowledged to the sender

	EvQueuePtr   []int64   // E+1
	EvQueueLink  []int32   // Q: the links with a non-empty egress queue at the event
	EvQueueBytes []float32 // Q: the bytes queued there
}

// field is one array of the file: its name, its Trace field, and the
// expected element type.
type field struct {
	name string
	ptr  any // *[]int8, *[]int32, *[]int64, *[]float32, *[]float64
}

func (t *Trace) fields() []field {
	return []field{
		{"flow_size", &t.FlowSize},
		{"flow_start_ns", &t.FlowStartNs},
		{"flow_fct_ns", &t.FlowFCTNs},
		{"flow_ideal_ns", &t.FlowIdealNs},
		{"flow_route_ptr", &t.FlowRoutePtr},
		{"flow_route", &t.FlowRoute},
		{"link_from", &t.LinkFrom},
		{"link_to", &t.LinkTo},
		{"link_gbps", &t.LinkGbps},
		{"link_delay_ns", &t.LinkDelayNs},
		{"ev_time_ns", &t.EvTimeNs},
		{"ev_kind", &t.EvKind},
		{"ev_flow", &t.EvFlow},
		{"ev_active_ptr", &t.EvActivePtr},
		{"ev_active_flow", &t.EvActiveFlow},
		{"ev_active_remaining", &t.EvActiveRemaining},
		{"ev_queue_ptr", &t.EvQueuePtr},
		{"ev_queue_link", &t.EvQueueLink},
		{"ev_queue_bytes", &t.EvQueueBytes},
	}
}

// Write checks t (Validate) and writes it to path atomically: the file is
// whole or absent.
func Write(path string, t *Trace) error {
	if err := t.Validate(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	fs := t.fields()
	entries := make([]npyfile.Entry, len(fs))
	for i, f := range fs {
		var data any
		switch p := f.ptr.(type) {
		case *[]int8:
			data = *p
		case *[]int32:
			data = *p
		case *[]int64:
			data = *p
		case *[]float32:
			data = *p
		case *[]float64:
			data = *p
		}
		entries[i] = npyfile.Entry{Name: f.name, Data: data}
	}
	return npyfile.WriteNPZ(path, entries)
}

// Read reads and validates the dynamics.npz at path. Errors name the file
// and the field: a missing array, another dtype or shape, or values that
// break the format's rules.
func Read(path string) (*Trace, error) {
	arr, err := npyfile.ReadNPZ(path)
	if err != nil {
		return nil, err
	}
	t := &Trace{}
	for _, f := range t.fields() {
		a, ok := arr[f.name]
		if !ok {
			return nil, fmt.Errorf("%s: %s: missing", path, f.name)
		}
		if len(a.Shape) != 1 {
			return nil, fmt.Errorf("%s: %s: shape %v, want one dimension", path, f.name, a.Shape)
		}
		var got bool
		switch p := f.ptr.(type) {
		case *[]int8:
			*p, got = a.Data.([]int8)
		case *[]int32:
			*p, got = a.Data.([]int32)
		case *[]int64:
			*p, got = a.Data.([]int64)
			got = got && a.Dtype == "<i8"
		case *[]float32:
			*p, got = a.Data.([]float32)
		case *[]float64:
			*p, got = a.Data.([]float64)
		}
		if !got {
			return nil, fmt.Errorf("%s: %s: dtype %s, want %s", path, f.name, a.Dtype, dtypeOf(f.ptr))
		}
	}
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

func dtypeOf(p any) string {
	switch p.(type) {
	case *[]int8:
		return "int8"
	case *[]int32:
		return "int32"
	case *[]int64:
		return "int64"
	case *[]float32:
		return "float32"
	}
	return "float64"
}

// Validate checks the format's rules and names the first field that breaks
// one: lengths (F, L, E and the offset arrays' F+1, E+1), offsets that start
// at 0, never decrease and end at their array's length, ids in range, sizes
// and rates positive, events in time order, every flow arriving once at its
// start and departing once at its start + FCT, the arriving flow among the
// active ones with all its bytes left and the departing one gone, and
// remaining and queued bytes finite and in range.
func (t *Trace) Validate() error {
	F, L, E := len(t.FlowSize), len(t.LinkFrom), len(t.EvTimeNs)
	for _, c := range []struct {
		name string
		n    int
		want int
	}{
		{"flow_start_ns", len(t.FlowStartNs), F}, {"flow_fct_ns", len(t.FlowFCTNs), F},
		{"flow_ideal_ns", len(t.FlowIdealNs), F}, {"flow_route_ptr", len(t.FlowRoutePtr), F + 1},
		{"link_to", len(t.LinkTo), L}, {"link_gbps", len(t.LinkGbps), L}, {"link_delay_ns", len(t.LinkDelayNs), L},
		{"ev_kind", len(t.EvKind), E}, {"ev_flow", len(t.EvFlow), E},
		{"ev_active_ptr", len(t.EvActivePtr), E + 1}, {"ev_queue_ptr", len(t.EvQueuePtr), E + 1},
		{"ev_active_remaining", len(t.EvActiveRemaining), len(t.EvActiveFlow)},
		{"ev_queue_bytes", len(t.EvQueueBytes), len(t.EvQueueLink)},
	} {
		if c.n != c.want {
			return fmt.Errorf("%s: %d entries, want %d", c.name, c.n, c.want)
		}
	}
	for i := range F {
		switch {
		case t.FlowSize[i] <= 0:
			return fmt.Errorf("flow_size: flow %d: %d bytes", i, t.FlowSize[i])
		case t.FlowStartNs[i] < 0:
			return fmt.Errorf("flow_start_ns: flow %d: %d", i, t.FlowStartNs[i])
		case t.FlowFCTNs[i] <= 0:
			return fmt.Errorf("flow_fct_ns: flow %d: %d", i, t.FlowFCTNs[i])
		case t.FlowIdealNs[i] <= 0:
			return fmt.Errorf("flow_ideal_ns: flow %d: %d", i, t.FlowIdealNs[i])
		}
	}
	if err := checkPtr("flow_route_ptr", t.FlowRoutePtr, len(t.FlowRoute)); err != nil {
		return err
	}
	for f := range F {
		if t.FlowRoutePtr[f+1] == t.FlowRoutePtr[f] {
			return fmt.Errorf("flow_route_ptr: flow %d has an empty route", f)
		}
	}
	for i, l := range t.FlowRoute {
		if l < 0 || int(l) >= L {
			return fmt.Errorf("flow_route: entry %d: link %d, want 0..%d", i, l, L-1)
		}
	}
	for l := range L {
		switch {
		case t.LinkFrom[l] < 0 || t.LinkTo[l] < 0 || t.LinkFrom[l] == t.LinkTo[l]:
			return fmt.Errorf("link_from, link_to: link %d: %d -> %d", l, t.LinkFrom[l], t.LinkTo[l])
		case !(t.LinkGbps[l] > 0) || math.IsInf(t.LinkGbps[l], 0):
			return fmt.Errorf("link_gbps: link %d: %g", l, t.LinkGbps[l])
		case t.LinkDelayNs[l] < 0:
			return fmt.Errorf("link_delay_ns: link %d: %d", l, t.LinkDelayNs[l])
		}
	}
	// routes are connected: each link leaves the node the previous entered
	for f := range F {
		for k := t.FlowRoutePtr[f] + 1; k < t.FlowRoutePtr[f+1]; k++ {
			if t.LinkFrom[t.FlowRoute[k]] != t.LinkTo[t.FlowRoute[k-1]] {
				return fmt.Errorf("flow_route: flow %d: link %d does not leave node %d, where link %d ends", f,
					t.FlowRoute[k], t.LinkTo[t.FlowRoute[k-1]], t.FlowRoute[k-1])
			}
		}
	}
	if err := checkPtr("ev_active_ptr", t.EvActivePtr, len(t.EvActiveFlow)); err != nil {
		return err
	}
	if err := checkPtr("ev_queue_ptr", t.EvQueuePtr, len(t.EvQueueLink)); err != nil {
		return err
	}
	return t.validateEvents()
}

// validateEvents checks the events against the flows (Validate's last
// part; the lengths and offsets are already checked).
func (t *Trace) validateEvents() error {
	F, L := len(t.FlowSize), len(t.LinkFrom)
	seen := make([]int8, F)  // bit 0 arrived, bit 1 departed
	listed := make([]int, F) // 1 + the last event listing the flow active
	for e, at := range t.EvTimeNs {
		if e > 0 && at < t.EvTimeNs[e-1] {
			return fmt.Errorf("ev_time_ns: event %d at %d ns, before event %d at %d ns", e, at, e-1, t.EvTimeNs[e-1])
		}
		f := t.EvFlow[e]
		if f < 0 || int(f) >= F {
			return fmt.Errorf("ev_flow: event %d: flow %d, want 0..%d", e, f, F-1)
		}
		switch t.EvKind[e] {
		case Arrival:
			if seen[f] != 0 {
				return fmt.Errorf("ev_kind: event %d: flow %d arrives twice, or after it departed", e, f)
			}
			if at != t.FlowStartNs[f] {
				return fmt.Errorf("ev_time_ns: event %d: flow %d arrives at %d ns, its flow_start_ns is %d", e, f, at,
					t.FlowStartNs[f])
			}
			seen[f] = 1
		case Departure:
			if seen[f] != 1 {
				return fmt.Errorf("ev_kind: event %d: flow %d departs without having arrived, or twice", e, f)
			}
			if at != t.FlowStartNs[f]+t.FlowFCTNs[f] {
				return fmt.Errorf("ev_time_ns: event %d: flow %d departs at %d ns, not at its start + FCT (%d ns)", e, f,
					at, t.FlowStartNs[f]+t.FlowFCTNs[f])
			}
			seen[f] = 3
		default:
			return fmt.Errorf("ev_kind: event %d: %d, want 0 (arrival) or 1 (departure)", e, t.EvKind[e])
		}
		found := false
		for k := t.EvActivePtr[e]; k < t.EvActivePtr[e+1]; k++ {
			a, r := t.EvActiveFlow[k], t.EvActiveRemaining[k]
			if a < 0 || int(a) >= F || seen[a] != 1 {
				return fmt.Errorf("ev_active_flow: event %d: flow %d is not active", e, a)
			}
			if listed[a] == e+1 {
				return fmt.Errorf("ev_active_flow: event %d: flow %d is listed twice", e, a)
			}
			listed[a] = e + 1
			if !(r >= 0) || r > float32(t.FlowSize[a]) { // float32: sizes above 2^24 round
				return fmt.Errorf("ev_active_remaining: event %d: flow %d has %g of its %d bytes left", e, a, r,
					t.FlowSize[a])
			}
			if a == f {
				found = true
				if r != float32(t.FlowSize[a]) {
					return fmt.Errorf("ev_active_remaining: event %d: flow %d arrives with %g of its %d bytes left", e,
						a, r, t.FlowSize[a])
				}
			}
		}
		if found != (t.EvKind[e] == Arrival) {
			return fmt.Errorf("ev_active_flow: event %d: flow %d arriving (kind 0) must be active, departing must not",
				e, f)
		}
		for k := t.EvQueuePtr[e]; k < t.EvQueuePtr[e+1]; k++ {
			l, b := t.EvQueueLink[k], t.EvQueueBytes[k]
			if l < 0 || int(l) >= L {
				return fmt.Errorf("ev_queue_link: event %d: link %d, want 0..%d", e, l, L-1)
			}
			if !(b > 0) || math.IsInf(float64(b), 0) {
				return fmt.Errorf("ev_queue_bytes: event %d: link %d: %g bytes", e, l, b)
			}
		}
	}
	for f, s := range seen {
		if s != 3 {
			return fmt.Errorf("ev_flow: flow %d has no arrival and departure", f)
		}
	}
	return nil
}

// checkPtr checks a CSR offset array over n entries: starts at 0, never
// decreases, ends at n.
func checkPtr(name string, p []int64, n int) error {
	if p[0] != 0 {
		return fmt.Errorf("%s: starts at %d, want 0", name, p[0])
	}
	for i := 1; i < len(p); i++ {
		if p[i] < p[i-1] {
			return fmt.Errorf("%s: entry %d (%d) is below entry %d (%d)", name, i, p[i], i-1, p[i-1])
		}
	}
	if p[len(p)-1] != int64(n) {
		return fmt.Errorf("%s: ends at %d, want %d (the entries it indexes)", name, p[len(p)-1], n)
	}
	return nil
}
