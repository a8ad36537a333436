package dynamics

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/pipeline/dyntrace"
	"github.com/m4sim/m4/pipeline/features"
	"github.com/m4sim/m4/pipeline/infer"
	"github.com/m4sim/m4/pipeline/netdata"
	"github.com/m4sim/m4/pipeline/pktsim"
	"github.com/m4sim/m4/pipeline/truth"
	"github.com/m4sim/m4/pipeline/workload"
)

// FromTrace returns a dynamics.npz's content as the model reads it (the
// slices are shared, not copied; the link endpoints are left out).
func FromTrace(t *dyntrace.Trace) *bindings.DynTrace {
	return &bindings.DynTrace{
		DynWorkload: bindings.DynWorkload{FlowSize: t.FlowSize, FlowStartNs: t.FlowStartNs, FlowIdealNs: t.FlowIdealNs,
			FlowRoutePtr: t.FlowRoutePtr, FlowRoute: t.FlowRoute, LinkGbps: t.LinkGbps, LinkDelayNs: t.LinkDelayNs},
		FlowFCTNs: t.FlowFCTNs,
		EvTimeNs:  t.EvTimeNs, EvKind: t.EvKind, EvFlow: t.EvFlow,
		EvActivePtr: t.EvActivePtr, EvActiveFlow: t.EvActiveFlow, EvActiveRemaining: t.EvActiveRemaining,
		EvQueuePtr: t.EvQueuePtr, EvQueueLink: t.EvQueueLink, EvQueueBytes: t.EvQueueBytes,
	}
}

// TracePaths lists the dynamics.npz files of dirs: a folder holding one
// (a workload folder of m4 datagen --dynamics) gives it, any other folder
// those of its immediate subfolders, in name order. A folder with none is an
// error naming it.
func TracePaths(dirs []string) ([]string, error) {
	var out []string
	for _, d := range dirs {
		p := filepath.Join(d, dyntrace.FileName)
		if _, err := os.Stat(p); err == nil {
			out = append(out, p)
			continue
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		ents, err := os.ReadDir(d)
		if err != nil {
			return nil, err
		}
		var found []string
		for _, e := range ents {
			if !e.IsDir() {
				continue
			}
			p := filepath.Join(d, e.Name(), dyntrace.FileName)
			if _, err := os.Stat(p); err == nil {
				found = append(found, p)
			}
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("%s: no %s in it or in its subfolders (make them with m4 datagen --dynamics)", d, dyntrace.FileName)
		}
		sort.Strings(found)
		out = append(out, found...)
	}
	return out, nil
}

// LoadTraces reads the traces at paths (dyntrace.Read checks each) and
// what the model cfg reads beside them from the workload folder's record
// (netdata.ReadWorkload): with cfg.NParams, its configuration
// (ConfigFeatures) as Params; with cfg.Prior, flowsim's slowdown of every
// flow (FlowsimPrior, on threads workers) as Prior. It also returns, per
// trace, the ranges it covers (its configuration, hosts and link rates).
func LoadTraces(paths []string, cfg bindings.DynConfig, threads int) ([]*bindings.DynTrace, []*Ranges, error) {
	out, seen := make([]*bindings.DynTrace, len(paths)), make([]*Ranges, len(paths))
	for i, p := range paths {
		t, err := dyntrace.Read(p)
		if err != nil {
			return nil, nil, err
		}
		out[i] = FromTrace(t)
		wl, err := netdata.ReadWorkload(filepath.Dir(p))
		if err != nil {
			return nil, nil, fmt.Errorf("%s: the record of its workload: %w", p, err)
		}
		if wl.W == nil {
			return nil, nil, fmt.Errorf("%s: its workload is unusable (%s)", filepath.Dir(p), wl.Unusable)
		}
		seen[i] = &Ranges{}
		seen[i].Add(wl.Config, len(wl.W.Topo.Hosts()), out[i].LinkGbps)
		if cfg.NParams > 0 {
			if out[i].Params, err = ConfigFeatures(wl.Config); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", filepath.Dir(p), err)
			}
		}
		if cfg.Prior != 0 {
			if wl.W.Flows.Len() != len(t.FlowSize) {
				return nil, nil, fmt.Errorf("%s: its workload record does not hold the trace's %d flows", filepath.Dir(p), len(t.FlowSize))
			}
			for j, sz := range t.FlowSize {
				if int64(wl.W.Flows.Size[j]) != sz {
					return nil, nil, fmt.Errorf("%s: flow %d is %d bytes in the trace, %d in the workload record", filepath.Dir(p), j, sz, int64(wl.W.Flows.Size[j]))
				}
			}
			if out[i].Prior, err = FlowsimPrior(wl.W, wl.Config, threads); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", filepath.Dir(p), err)
			}
		}
	}
	return out, seen, nil
}

// FlowsimPrior is the prior of a model with DynConfig.Prior: flowsim's
// slowdown of each flow of w, in w's order, from every path of w's
// decomposition (infer.Run with PerFlow, no path model: the same values as
// flows.csv's flowsim column).
func FlowsimPrior(w *workload.Workload, cfg features.Config, threads int) ([]float32, error) {
	r, err := infer.Run(w, cfg, nil, infer.Options{Workers: threads, PerFlow: true, Lean: true})
	if err != nil {
		return nil, fmt.Errorf("flowsim prior: %w", err)
	}
	return Prior(r.PerFlow.Flowsim), nil
}

// Prior converts flowsim's per-flow slowdowns to a model's prior (at least
// 1, as the model requires).
func Prior(flowsim []float64) []float32 {
	out := make([]float32, len(flowsim))
	for i, s := range flowsim {
		out[i] = float32(math.Max(s, 1))
	}
	return out
}

// WorkloadOf is a packet-level case as the model's event loop reads it: its
// flows in order, their routes over the directed links as the packet
// simulator would send them (pktsim.RoutesOf: the same ECMP choices), the
// links' rates and delays, the fork's ideal FCTs as the slowdown
// denominators, with nparams > 0 the configuration cfg (ConfigFeatures;
// nparams must be NumConfigFeatures), and prior (nil, or one per flow) as
// the flows' prior slowdowns.
func WorkloadOf(c *truth.Case, cfg features.Config, nparams int, prior []float32) (*bindings.DynWorkload, error) {
	var params []float32
	switch nparams {
	case 0:
	case NumConfigFeatures:
		var err error
		if params, err = ConfigFeatures(cfg); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("a model reading %d configuration values (m4 encodes %d)", nparams, NumConfigFeatures)
	}
	rt, err := pktsim.RoutesOf(c.Config, c.Topo, c.Flows)
	if err != nil {
		return nil, err
	}
	ideal, err := c.IdealFCTs()
	if err != nil {
		return nil, err
	}
	n := c.Flows.Len()
	if prior != nil && len(prior) != n {
		return nil, fmt.Errorf("%d prior slowdowns for %d flows", len(prior), n)
	}
	w := &bindings.DynWorkload{FlowSize: make([]int64, n), FlowStartNs: make([]int64, n), FlowIdealNs: ideal,
		FlowRoutePtr: rt.RoutePtr, FlowRoute: rt.Route, Params: params, Prior: prior}
	for i := range n {
		w.FlowSize[i] = int64(c.Flows.SizeBytes[i])
		w.FlowStartNs[i] = int64(c.Flows.StartNs[i])
	}
	lk := rt.Links
	w.LinkGbps, w.LinkDelayNs = make([]float64, len(lk.From)), make([]int64, len(lk.From))
	for l := range lk.From {
		w.LinkGbps[l] = float64(lk.RateBps[l]) / 1e9
		w.LinkDelayNs[l] = int64(lk.DelayNs[l])
	}
	return w, nil
}
