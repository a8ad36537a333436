package netdata

import (
	"fmt"
	"os"

	"github.com/m4sim/m4/pipeline/dyntrace"
	"github.com/m4sim/m4/pipeline/truth"
	"github.com/m4sim/m4/pipeline/workload"
)

// DynamicsTrace assembles a workload's dynamics.npz content from its flows
// and its packet-level run with the trace on (truth.Options.Dynamics): the
// flows in workload order, their routes over the directed links, the link
// table, and the run's events. A flow's start is the one the simulator ran
// (its arrival event's time: the workload's, or up to 1 ns earlier through
// the fork's "%.9f" seconds), so that its departure is at start + FCT.
func DynamicsTrace(f *workload.Flows, tr *truth.Result) (*dyntrace.Trace, error) {
	d := tr.Dynamics
	n := f.Len()
	if d == nil || d.Trace == nil || d.Routes == nil {
		return nil, fmt.Errorf("dynamics: the packet-level run recorded no trace")
	}
	if len(tr.FCTNs) != n || len(tr.IdealNs) != n || len(d.RoutePtr) != n+1 {
		return nil, fmt.Errorf("dynamics: %d FCTs, %d ideal FCTs and %d route offsets for %d flows", len(tr.FCTNs),
			len(tr.IdealNs), len(d.RoutePtr), n)
	}
	ev, lk := d.Trace, d.Links
	t := &dyntrace.Trace{
		FlowSize: f.Size, FlowStartNs: make([]int64, n), FlowFCTNs: tr.FCTNs, FlowIdealNs: tr.IdealNs,
		FlowRoutePtr: d.RoutePtr, FlowRoute: d.Route,
		LinkFrom: lk.From, LinkTo: lk.To, LinkGbps: make([]float64, len(lk.From)), LinkDelayNs: make([]int64, len(lk.From)),
		EvTimeNs: ev.TimeNs, EvKind: ev.Kind, EvFlow: ev.Flow,
		EvActivePtr: ev.ActivePtr, EvActiveFlow: ev.ActiveFlow, EvActiveRemaining: ev.ActiveRemaining,
		EvQueuePtr: ev.QueuePtr, EvQueueLink: ev.QueueLink, EvQueueBytes: ev.QueueBytes,
	}
	for l := range lk.From {
		t.LinkGbps[l] = float64(lk.RateBps[l]) / 1e9
		t.LinkDelayNs[l] = int64(lk.DelayNs[l])
	}
	for i := range t.FlowStartNs {
		t.FlowStartNs[i] = -1
	}
	for e, k := range ev.Kind {
		if k == dyntrace.Arrival && ev.Flow[e] >= 0 && int(ev.Flow[e]) < n {
			t.FlowStartNs[ev.Flow[e]] = ev.TimeNs[e]
		}
	}
	return t, nil
}

// writeDynamics writes the dynamics trace of a finished run to path
// (dyntrace.Write checks every rule of the format first) and notes its
// events and size in sum.
func writeDynamics(path string, f *workload.Flows, tr *truth.Result, sum *Summary) error {
	t, err := DynamicsTrace(f, tr)
	if err != nil {
		return err
	}
	if err := dyntrace.Write(path, t); err != nil {
		return err
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	sum.DynamicsEvents, sum.DynamicsBytes = len(t.EvTimeNs), st.Size()
	return nil
}
