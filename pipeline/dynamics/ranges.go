package dynamics

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/m4sim/m4/pipeline/features"
	"github.com/m4sim/m4/pipeline/truth"
)

// Ranges is what a dynamics model was trained on, recorded in its
// checkpoint so that m4 run and m4 eval can say which inputs of a workload
// lie outside it (a model extrapolates silently otherwise): the
// configuration (congestion control, PFC and each value, as the path
// model's features.Ranges), the networks' host counts and their link
// rates.
type Ranges struct {
	Config   features.Ranges `json:"config"`
	Hosts    [2]int          `json:"hosts"`     // fewest and most hosts of a training network
	LinkGbps []float64       `json:"link_gbps"` // every link rate of the training networks
}

// Add widens r to cover a workload of cfg on hosts hosts with links of
// the rates linkGbps.
func (r *Ranges) Add(cfg features.Config, hosts int, linkGbps []float64) {
	r.Config.Add(cfg, hosts, true)
	r.widen([2]int{hosts, hosts}, linkGbps)
}

// widen makes r's hosts cover hosts ({0, 0}: none) and its rates include
// linkGbps.
func (r *Ranges) widen(hosts [2]int, linkGbps []float64) {
	if r.Hosts == [2]int{} {
		r.Hosts = hosts
	} else if hosts != [2]int{} {
		r.Hosts = [2]int{min(r.Hosts[0], hosts[0]), max(r.Hosts[1], hosts[1])}
	}
	for _, g := range linkGbps {
		if !slices.Contains(r.LinkGbps, g) {
			r.LinkGbps = append(r.LinkGbps, g)
		}
	}
	slices.Sort(r.LinkGbps)
}

// Merge widens r to cover o (a fine-tuned model answers for its start's
// data and its own).
func (r *Ranges) Merge(o *Ranges) {
	if o == nil {
		return
	}
	r.Config.Merge(&o.Config)
	r.widen(o.Hosts, o.LinkGbps)
}

// Check lists the inputs of a workload outside r: its configuration's
// (features.Ranges.Check), then its host count, then each link rate never
// trained on. A nil r checks nothing.
func (r *Ranges) Check(cfg features.Config, hosts int, linkGbps []float64) []features.OutOfRange {
	if r == nil {
		return nil
	}
	out := r.Config.Check(cfg, true)
	if hosts < r.Hosts[0] || hosts > r.Hosts[1] {
		out = append(out, features.OutOfRange{Name: "hosts", Value: fmt.Sprint(hosts),
			Range: fmt.Sprintf("[%d, %d]", r.Hosts[0], r.Hosts[1])})
	}
	var unseen []string
	for _, g := range linkGbps {
		s := fmt.Sprintf("%g Gbps", g)
		if !slices.Contains(r.LinkGbps, g) && !slices.Contains(unseen, s) {
			unseen = append(unseen, s)
		}
	}
	if len(unseen) > 0 {
		var seen []string
		for _, g := range r.LinkGbps {
			seen = append(seen, fmt.Sprintf("%g", g))
		}
		out = append(out, features.OutOfRange{Name: "link rate", Value: strings.Join(unseen, ", "),
			Range: "{" + strings.Join(seen, ", ") + "} Gbps"})
	}
	return out
}

// String is r in one line, as the card shows it.
func (r *Ranges) String() string {
	var parts []string
	var ccs []string
	for _, c := range r.Config.CC {
		ccs = append(ccs, string(c))
	}
	parts = append(parts, "CC {"+strings.Join(ccs, ", ")+"}", fmt.Sprintf("PFC %v", r.Config.PFC),
		fmt.Sprintf("%d-%d hosts", r.Hosts[0], r.Hosts[1]))
	var gs []string
	for _, g := range r.LinkGbps {
		gs = append(gs, fmt.Sprintf("%g", g))
	}
	parts = append(parts, "links {"+strings.Join(gs, ", ")+"} Gbps")
	keys := make([]string, 0, len(r.Config.Values))
	for k := range r.Config.Values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := r.Config.Values[k]
		parts = append(parts, k+" "+short(v[0])+"-"+short(v[1]))
	}
	return strings.Join(parts, "; ")
}

// OutOfRange lists the inputs of workload sc (configuration cfg) outside
// what ck was trained on; nil when ck records no ranges (see HasRanges).
func (ck *Checkpoint) OutOfRange(sc *truth.Case, cfg features.Config) []features.OutOfRange {
	var rates []float64
	for _, l := range sc.Topo.Links {
		if g := float64(l.Rate) / 1e9; !slices.Contains(rates, g) {
			rates = append(rates, g)
		}
	}
	slices.Sort(rates)
	return ck.Training.Ranges.Check(cfg, len(sc.Topo.Hosts()), rates)
}

// HasRanges says whether ck records its trained ranges (checkpoints written
// before 2026-12-07 do not, unless given them since).
func (ck *Checkpoint) HasRanges() bool { return ck.Training.Ranges != nil }

// short writes an integer as one, anything else to 4 significant digits.
func short(x float64) string {
	if x == math.Trunc(x) && math.Abs(x) < 1e15 {
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return strconv.FormatFloat(x, 'g', 4, 64)
}
