package infer

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/m4sim/m4/pipeline/cc"
	"github.com/m4sim/m4/pipeline/features"
	"github.com/m4sim/m4/pipeline/workload"
)

// Description says what a run estimated, whatever the workload came from
// (a spec, or a run of the ns-3 fork): the summary line, the plots' title
// and estimate.json's "workload" all come from it.
type Description struct {
	Name     string `json:"name"` // the spec or config file
	Topology string `json:"topology"`
	Hosts    int    `json:"hosts"`
	Flows    int    `json:"flows"`
	CC       string `json:"cc"`
	// SizeDist names the flow-size distribution ("" when the flows come
	// from a file); TargetLoad is the spec's target load of the busiest
	// link (0 without a spec).
	SizeDist   string  `json:"size_dist,omitempty"`
	TargetLoad float64 `json:"target_load,omitempty"`
	// Busiest is the channel with the highest realized load: the payload
	// the flows crossing it carry over the span of the flows' starts, per
	// capacity (workload.OfferedLoads). Overloaded lists every channel
	// offered more than its capacity (with packet headers), busiest first.
	Busiest workload.ChannelLoad `json:"busiest_link"`
	// BusiestByCount is the channel with the highest load by flow count
	// (ChannelLoad.LoadByCount): the steadier measure of how loaded the
	// workload is, which m4's held-out error is banded by.
	BusiestByCount workload.ChannelLoad   `json:"busiest_link_by_count"`
	Overloaded     []workload.ChannelLoad `json:"overloaded_links"`
	// OverloadedHostLinks counts the entries of Overloaded that are links
	// of a host.
	OverloadedHostLinks int `json:"overloaded_host_links"`
}

// Describe describes workload w, named name, run under cfg.
func Describe(name string, w *workload.Workload, cfg features.Config) *Description {
	d := &Description{Name: name, Topology: w.Topo.Name, Hosts: len(w.Topo.Hosts()), Flows: w.Flows.Len(), CC: CCText(cfg),
		Overloaded: []workload.ChannelLoad{}}
	if w.Sizes != nil {
		d.SizeDist = w.Sizes.Name()
	}
	if w.Spec != nil {
		d.TargetLoad = w.Spec.MaxLoad
	}
	loads := workload.OfferedLoads(w.Routing, &w.Flows)
	for _, l := range loads {
		if l.Load > d.Busiest.Load {
			d.Busiest = l
		}
		if l.LoadByCount > d.BusiestByCount.LoadByCount {
			d.BusiestByCount = l
		}
		if l.LoadWire > 1 {
			d.Overloaded = append(d.Overloaded, l)
		}
	}
	sort.SliceStable(d.Overloaded, func(i, j int) bool { return d.Overloaded[i].Load > d.Overloaded[j].Load })
	for _, l := range d.Overloaded {
		if !w.Topo.IsSwitch[l.From] || !w.Topo.IsSwitch[l.To] {
			d.OverloadedHostLinks++
		}
	}
	return d
}

// CCText is a congestion-control configuration in words.
func CCText(c features.Config) string {
	var k string
	switch c.CC {
	case cc.DCTCP:
		k = fmt.Sprintf(" (K %d KB)", c.DCTCPK)
	case cc.DCQCN:
		k = fmt.Sprintf(" (Kmin %d KB, Kmax %d KB)", c.DCQCNKmin, c.DCQCNKmax)
	case cc.HPCC:
		k = fmt.Sprintf(" (eta %g, AI %d Mb/s)", c.HPCCUTarget, c.HPCCAI)
	case cc.TIMELY:
		k = fmt.Sprintf(" (T_low %d ns, T_high %d ns)", c.TimelyTLow, c.TimelyTHigh)
	}
	pfc := "off"
	if c.PFC {
		pfc = "on"
	}
	return fmt.Sprintf("%s%s, buffer %d KB, window %d B, PFC %s", c.CC.Upper(), k, c.BufferKB, c.WindowBytes, pfc)
}

// Title is a one-line name of the workload, for plots.
func (d *Description) Title() string {
	s := fmt.Sprintf("%s: %d hosts, %d flows", d.Name, d.Hosts, d.Flows)
	if d.SizeDist != "" {
		s += ", " + d.SizeDist + " sizes"
	}
	if d.TargetLoad > 0 {
		s += fmt.Sprintf(", %.0f%% load", 100*d.TargetLoad)
	}
	cc, _, _ := strings.Cut(d.CC, " ")
	return s + ", " + strings.TrimSuffix(cc, ",")
}

// linkText names a channel and its rate.
func linkText(l workload.ChannelLoad) string {
	return fmt.Sprintf("%d -> %d, %g Gbps", l.From, l.To, l.Gbps)
}

// WriteSummary prints what the workload is and the load it offers, with a
// warning line per kind of overloaded link.
func (d *Description) WriteSummary(w io.Writer) {
	fmt.Fprintf(w, "workload: %s: %s, %d hosts, %d flows", d.Name, d.Topology, d.Hosts, d.Flows)
	if d.SizeDist != "" {
		fmt.Fprintf(w, ", %s sizes", d.SizeDist)
	} else {
		fmt.Fprint(w, ", sizes from the flow file")
	}
	fmt.Fprintf(w, "; %s\n", d.CC)
	fmt.Fprint(w, "load: ")
	if d.TargetLoad > 0 {
		fmt.Fprintf(w, "target %.0f%% on the busiest link (in expectation); ", 100*d.TargetLoad)
	}
	fmt.Fprintf(w, "busiest link realized %.0f%% (%.0f%% with headers) on %s; by flow count at the mean size %.0f%% on %s\n",
		100*d.Busiest.Load, 100*d.Busiest.LoadWire, linkText(d.Busiest), 100*d.BusiestByCount.LoadByCount, linkText(d.BusiestByCount))
	if len(d.Overloaded) == 0 {
		return
	}
	top := d.Overloaded[0]
	fmt.Fprintf(w, "warning: %d links (%d of them host links) are offered more than their capacity over the run, up to %.0f%% (%.0f%% with headers) on %s: queues there grow while the flows arrive, and those flows' FCTs depend on how long the run lasts\n",
		len(d.Overloaded), d.OverloadedHostLinks, 100*top.Load, 100*top.LoadWire, linkText(top))
}
