package netdata

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/pipeline/dyntrace"
	"github.com/m4sim/m4/pipeline/pktsim"
	"github.com/m4sim/m4/pipeline/truth"
	"github.com/m4sim/m4/pipeline/workload"
)

// TestDynamics: a workload on a 64-host fabric built with the dynamics
// trace. Its truth.npz is byte for byte the one built without the trace
// (the trace leaves every FCT as it is); its dynamics.npz reads back valid
// (every flow arrives at its start and departs at start + FCT), holds the
// routes computed without simulating (and by pipeline/workload's routing,
// whose channels are its directed links), queues only at switch ports, and
// each flow's remaining bytes never grow.
func TestDynamics(t *testing.T) {
	if !bindings.Native {
		t.Skip(bindings.ErrNoNative)
	}
	spec := tinySpec()
	with, without := t.TempDir(), t.TempDir()
	sum, err := Build(spec, 1, Options{Dynamics: true}, with, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Build(spec, 1, Options{}, without, time.Now()); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(filepath.Join(with, TruthFile))
	b, _ := os.ReadFile(filepath.Join(without, TruthFile))
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Fatal("truth.npz differs with the dynamics trace on")
	}
	if _, err := os.Stat(filepath.Join(without, dyntrace.FileName)); err == nil {
		t.Error("a dynamics trace without Options.Dynamics")
	}
	tr, err := dyntrace.Read(filepath.Join(with, dyntrace.FileName))
	if err != nil {
		t.Fatal(err)
	}
	F := len(tr.FlowSize)
	if F != sum.Flows || len(tr.EvTimeNs) != 2*F || sum.DynamicsEvents != 2*F || sum.DynamicsBytes <= 0 {
		t.Fatalf("%d flows, %d events; summary %+v", F, len(tr.EvTimeNs), sum)
	}
	dr, _ := spec.Draw(1)
	wl, err := workload.Generate(dr.Spec)
	if err != nil {
		t.Fatal(err)
	}
	c, err := truth.Input(wl, dr.Config)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := pktsim.RoutesOf(c.Config, c.Topo, c.Flows)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rt.RoutePtr, tr.FlowRoutePtr) || !slices.Equal(rt.Route, tr.FlowRoute) {
		t.Error("routes in the trace differ from pktsim.RoutesOf's")
	}
	// the same routes from pipeline/workload's model of the fork's ECMP (its
	// channel c is directed link c): m4 run's paths are the data's
	sports := workload.Sports(wl.Flows.Src, wl.Flows.Dst)
	var buf []int32
	for f := range F {
		buf = wl.Routing.AppendRoute(buf[:0], wl.Flows.Src[f], wl.Flows.Dst[f], sports[f])
		if got := tr.FlowRoute[tr.FlowRoutePtr[f]:tr.FlowRoutePtr[f+1]]; !slices.Equal(got, buf) {
			t.Fatalf("flow %d: route %v in the trace, %v by workload.Routing", f, got, buf)
		}
	}
	if len(tr.LinkFrom) != wl.Topo.NumChannels() {
		t.Fatalf("%d directed links, %d channels", len(tr.LinkFrom), wl.Topo.NumChannels())
	}
	for l := range tr.LinkFrom {
		if from, to, _ := wl.Topo.Channel(int32(l)); from != tr.LinkFrom[l] || to != tr.LinkTo[l] {
			t.Fatalf("link %d: %d -> %d, channel %d: %d -> %d", l, tr.LinkFrom[l], tr.LinkTo[l], l, from, to)
		}
		if tr.LinkGbps[l] != 10 && tr.LinkGbps[l] != 40 || tr.LinkDelayNs[l] != 1000 {
			t.Fatalf("link %d: %g Gbps, %d ns", l, tr.LinkGbps[l], tr.LinkDelayNs[l])
		}
	}
	queued := 0
	for k, l := range tr.EvQueueLink {
		if !wl.Topo.IsSwitch[tr.LinkFrom[l]] {
			t.Fatalf("queue entry %d: link %d leaves host %d", k, l, tr.LinkFrom[l])
		}
		queued++
	}
	if queued == 0 {
		t.Error("no queue anywhere in the whole workload")
	}
	last := make([]float32, F)
	for f := range last {
		last[f] = float32(tr.FlowSize[f])
	}
	for k, f := range tr.EvActiveFlow {
		if r := tr.EvActiveRemaining[k]; r > last[f] {
			t.Fatalf("active entry %d: flow %d has %g bytes left, %g before", k, f, r, last[f])
		}
		last[f] = tr.EvActiveRemaining[k]
	}
	for f := range F {
		if d := tr.FlowStartNs[f] - wl.Flows.StartNs[f]; d < -1 || d > 0 {
			t.Fatalf("flow %d starts at %d ns in the trace, %d in the workload", f, tr.FlowStartNs[f], wl.Flows.StartNs[f])
		}
	}
}

// TestDynamicsFolder: a folder of dynamics data and one without refuse each
// other's runs, and a dynamics run resumes like any other.
func TestDynamicsFolder(t *testing.T) {
	if !bindings.Native {
		t.Skip(bindings.ErrNoNative)
	}
	spec := tinySpec()
	spec.Workloads.Count = 1
	out := t.TempDir()
	ctx := context.Background()
	r, err := Run(ctx, spec, Options{Out: out, Workers: 1, Dynamics: true})
	if err != nil || r.Done != 1 {
		t.Fatalf("first run: %+v, %v", r, err)
	}
	if _, err := dyntrace.Read(filepath.Join(WorkloadDir(out, 0), dyntrace.FileName)); err != nil {
		t.Fatal(err)
	}
	if r, err = Run(ctx, spec, Options{Out: out, Workers: 1, Dynamics: true}); err != nil || r.Skipped != 1 || r.Done != 0 {
		t.Fatalf("rerun: %+v, %v", r, err)
	}
	if _, err := Run(ctx, spec, Options{Out: out}); err == nil || !strings.Contains(err.Error(), "another spec") {
		t.Errorf("a run without the trace into a dynamics folder: %v", err)
	}
}

// TestShippedDynamicsSpecs: the dynamics families in ckpts/data load, and
// their draws stay within what they promise: 16 to 256 hosts, small
// clusters the most likely, 1000 to 4000 flows, loads 0.2 to 0.9, PFC on.
func TestShippedDynamicsSpecs(t *testing.T) {
	small, total := 0, 0
	for _, name := range []string{"dynamics.yaml", "dynamics-fattree.yaml"} {
		s, err := LoadSpec(filepath.Join("..", "..", "ckpts", "data", name))
		if err != nil {
			t.Fatal(err)
		}
		for w := range 200 {
			d, err := s.Draw(w)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			topo, _, err := workload.BuildTopology(d.Spec)
			if err != nil {
				t.Fatalf("%s: workload %d: %v", name, w, err)
			}
			hosts := 0
			for _, sw := range topo.IsSwitch {
				if !sw {
					hosts++
				}
			}
			ws := d.Spec
			if hosts < 16 || hosts > 256 || ws.Flows < 1000 || ws.Flows > 4000 || ws.MaxLoad < 0.2 || ws.MaxLoad > 0.9 ||
				!d.Config.PFC {
				t.Errorf("%s: workload %d: %d hosts, %d flows, load %.2f, PFC %v", name, w, hosts, ws.Flows, ws.MaxLoad,
					d.Config.PFC)
			}
			if hosts <= 64 {
				small++
			}
			total++
		}
	}
	if small*2 < total {
		t.Errorf("%d of %d draws on 64 hosts or fewer, want most", small, total)
	}
}
