package features

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/m4sim/m4/pipeline/cc"
)

// ConfigOfV1 reads the configuration back from a V1 parameter block (the
// NumParams values after a row's slowdown cells), the inverse of
// ParamVector but for the sample index.
func ConfigOfV1(block []float32) (Config, error) {
	if len(block) != NumParams {
		return Config{}, fmt.Errorf("parameter block of %d values, want %d", len(block), NumParams)
	}
	v := func(i int) float64 { return float64(block[i]) }
	ri := func(x float64) int { return int(math.Round(x)) }
	var algo cc.CC
	for k, c := range cc.All() {
		if block[8+k] == 1 {
			algo = c
		}
	}
	if algo == "" {
		return Config{}, fmt.Errorf("parameter block names no congestion control")
	}
	c := DefaultConfig(algo, ri(v(4)*10), ri(v(5)*1000), block[6] == 1)
	switch algo {
	case cc.DCTCP:
		c.DCTCPK = ri(v(12))
	case cc.DCQCN:
		c.DCQCNKmin, c.DCQCNKmax = ri(v(13)), ri(v(14))
	case cc.HPCC:
		c.HPCCUTarget, c.HPCCAI = math.Round(v(15)*1e4)/1e6, ri(v(16)*10)
	case cc.TIMELY:
		c.TimelyTLow, c.TimelyTHigh = ri(v(17)*1000), ri(v(18)*1000)
	}
	c.CCName = c.ForkName()
	return c, nil
}

// Ranges are the inputs a model was trained on: the congestion-control
// algorithms, PFC settings and kinds of path seen, and the range of every
// numeric configuration value (a CC's parameters over the scenarios that
// ran it). Nil ranges (Lo > Hi) were never seen.
type Ranges struct {
	CC      []cc.CC `json:"cc"`
	PFC     []bool  `json:"pfc"`
	Network []bool  `json:"network"` // paths cut from a network (true) or m3's parking lots (false)
	// NetworkPFC lists the PFC settings seen on paths cut from a network
	// (PFC lists them over both kinds). Nil in records written before
	// 2026-12-08, which did not keep it: then nothing is checked by it.
	NetworkPFC []bool `json:"network_pfc,omitempty"`
	Hosts      []int  `json:"hosts"`
	// Numeric values by the keys of the configuration record
	// (buffer_kb, window_bytes, dctcp_k, ...): [lo, hi].
	Values map[string][2]float64 `json:"values"`
}

// Add widens r to cover a scenario of c on a hosts-host path.
func (r *Ranges) Add(c Config, hosts int, network bool) {
	r.CC = union(r.CC, c.CC)
	slices.Sort(r.CC)
	r.PFC = union(r.PFC, c.PFC)
	r.Network = union(r.Network, network)
	if network {
		r.NetworkPFC = union(r.NetworkPFC, c.PFC)
	}
	r.Hosts = union(r.Hosts, hosts)
	slices.Sort(r.Hosts)
	if r.Values == nil {
		r.Values = map[string][2]float64{}
	}
	for k, v := range c.Values() {
		r.widen(k, [2]float64{v, v})
	}
}

// Merge widens r to cover everything o covers (a fine-tuned model answers
// for its base's data and its own).
func (r *Ranges) Merge(o *Ranges) {
	if o == nil {
		return
	}
	r.CC = union(r.CC, o.CC...)
	slices.Sort(r.CC)
	r.PFC = union(r.PFC, o.PFC...)
	r.Network = union(r.Network, o.Network...)
	r.NetworkPFC = union(r.NetworkPFC, o.NetworkPFC...)
	r.Hosts = union(r.Hosts, o.Hosts...)
	slices.Sort(r.Hosts)
	if r.Values == nil && len(o.Values) > 0 {
		r.Values = map[string][2]float64{}
	}
	for k, v := range o.Values {
		r.widen(k, v)
	}
}

// union appends to s each of vs it does not hold yet, in order.
func union[T comparable](s []T, vs ...T) []T {
	for _, v := range vs {
		if !slices.Contains(s, v) {
			s = append(s, v)
		}
	}
	return s
}

// widen makes key's range cover lh.
func (r *Ranges) widen(key string, lh [2]float64) {
	if old, ok := r.Values[key]; ok {
		lh = [2]float64{min(old[0], lh[0]), max(old[1], lh[1])}
	}
	r.Values[key] = lh
}

// OnNetwork returns c as a model trained on r reads it on a path cut from
// a network: c itself, except for a PFC setting seen on m3's parking lots
// only (NetworkPFC), which reads as the setting its network paths had. PFC
// off and on are the same network until a switch buffer fills and a pause
// (or, without PFC, a drop) happens, which the fork's runs of realistic
// buffers rarely reach; a model that saw PFC off only on parking lots reads
// it as those lots' drops (docs/accuracy.md, "Corner fork runs": m4 off by
// 15% with PFC off, 5-8% read as on, on workloads whose truth is the same
// either way). substituted tells whether it changed c.
func (r *Ranges) OnNetwork(c Config) (read Config, substituted bool) {
	if r == nil || len(r.NetworkPFC) != 1 || r.NetworkPFC[0] == c.PFC || !slices.Contains(r.PFC, c.PFC) {
		return c, false
	}
	c.PFC = r.NetworkPFC[0]
	return c, true
}

// OutOfRange is one input outside the trained range.
type OutOfRange struct {
	Name  string // the configuration key ("buffer_kb", "cc", ...)
	Value string
	Range string // what was trained on
}

func (o OutOfRange) String() string {
	return fmt.Sprintf("%s = %s is outside the trained range %s", o.Name, o.Value, o.Range)
}

// RangeEdge is how far past a trained range's edge, as a fraction of the
// edge, a value still counts as inside. The edges are the extremes of
// random draws (a K drawn log-uniformly from 10-200 KB ends at 199), so a
// value at the range the data spec drew from (K 200) is as trained as the
// draws beside it. libm4's M4_RANGE_EDGE is the same number.
const RangeEdge = 0.025

// Check lists the inputs of c (on network paths when network is set)
// outside r (past RangeEdge), in a fixed order. A nil r (a checkpoint that
// does not record its ranges) checks nothing.
func (r *Ranges) Check(c Config, network bool) []OutOfRange {
	if r == nil {
		return nil
	}
	var out []OutOfRange
	if !slices.Contains(r.CC, c.CC) {
		var names []string
		for _, x := range r.CC {
			names = append(names, string(x))
		}
		return []OutOfRange{{"cc", string(c.CC), "{" + strings.Join(names, ", ") + "}"}}
	}
	if !slices.Contains(r.PFC, c.PFC) {
		out = append(out, OutOfRange{"pfc", fmt.Sprint(c.PFC), fmt.Sprint(r.PFC)})
	} else if network {
		if read, ok := r.OnNetwork(c); ok {
			out = append(out, OutOfRange{"pfc", fmt.Sprint(c.PFC), fmt.Sprintf("%v on paths cut from a network (%v on m3's parking lots only; the model reads it as %v, the same network until a switch buffer fills)",
				r.NetworkPFC, c.PFC, read.PFC)})
		}
	}
	if !slices.Contains(r.Network, network) {
		kind := "paths of m3's parking lots"
		if network {
			kind = "paths cut from a network"
		}
		out = append(out, OutOfRange{"path kind", kind, "the other kind only"})
	}
	vals := c.Values()
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := vals[k]
		lh, ok := r.Values[k]
		if !ok {
			out = append(out, OutOfRange{k, fmt.Sprint(v), "none (never trained on)"})
		} else if v < lh[0]*(1-RangeEdge) || v > lh[1]*(1+RangeEdge) {
			out = append(out, OutOfRange{k, fmt.Sprint(v), fmt.Sprintf("[%g, %g]", lh[0], lh[1])})
		}
	}
	return out
}
