package infer

import (
	"fmt"
	"math"
	"sort"

	"github.com/m4sim/m4/pipeline/aggregate"
	"github.com/m4sim/m4/pipeline/cc"
	"github.com/m4sim/m4/pipeline/features"
)

// PerFlow holds one slowdown per workload flow, in the workload's order.
type PerFlow struct {
	// Flowsim is flowsim's slowdown of the flow on its own path's scenario
	// (features.Slowdowns: (fct + d) / (ideal + d) with m3's base delay d,
	// at least 1).
	Flowsim []float64
	// Model is m4's: a weighted geometric mean of the model's value for
	// the flow (its flowsim rank among its path's foreground flows of its
	// size bucket, read off the model's slowdown percentiles for that path
	// and bucket: ModelSlowdowns) and its flowsim slowdown, by the
	// workload's algorithm's rule (PerFlowRule.Flow). Nil without a model.
	Model []float64
}

// perFlow gathers the per-flow estimates of paths: every path of the
// workload whose flow sizes are given, each with FlowIDs, under algorithm c.
func perFlow(paths []PathResult, sizes []int64, c cc.CC) (*PerFlow, error) {
	rule := PerFlowRuleFor(c)
	n := len(sizes)
	pf := &PerFlow{Flowsim: make([]float64, n)}
	withModel := len(paths) > 0 && paths[0].Model != nil
	if withModel {
		pf.Model = make([]float64, n)
	}
	seen := make([]bool, n)
	var buckets []int
	for i := range paths {
		p := &paths[i]
		if len(p.FlowIDs) != len(p.FlowsimSlowdown) || len(p.FlowIDs) != len(p.Isolated) {
			return nil, fmt.Errorf("infer: path %d: %d flows, %d flowsim slowdowns, %d isolation flags", p.Path, len(p.FlowIDs), len(p.FlowsimSlowdown), len(p.Isolated))
		}
		buckets = buckets[:0]
		var inBucket [aggregate.NumBuckets]int
		for j, f := range p.FlowIDs {
			if seen[f] {
				return nil, fmt.Errorf("infer: flow %d is in the foreground of two paths", f)
			}
			seen[f] = true
			pf.Flowsim[f] = p.FlowsimSlowdown[j]
			b := features.OutputBucket(float64(sizes[f]))
			buckets = append(buckets, b)
			inBucket[b]++
		}
		if !withModel {
			continue
		}
		if p.Model == nil {
			return nil, fmt.Errorf("infer: path %d has no model estimate", p.Path)
		}
		for j, v := range ModelSlowdowns(p.FlowsimSlowdown, buckets, p.Model) {
			pf.Model[p.FlowIDs[j]] = rule.Flow(v, p.FlowsimSlowdown[j], inBucket[buckets[j]] == 1, p.Isolated[j])
		}
	}
	for f, ok := range seen {
		if !ok {
			return nil, fmt.Errorf("infer: flow %d is in no estimated path's foreground", f)
		}
	}
	return pf, nil
}

// PerFlowRule is how m4's per-flow slowdown is made from the model's value
// for a flow (ModelSlowdowns) and flowsim's, for one algorithm
// (PerFlowRuleFor).
type PerFlowRule struct {
	// Lone and Shared weigh the model's value in Blend.
	Lone, Shared float64
	// IsolatedAtIdeal: a flow that met no other flow of its lot in flowsim
	// (PathResult.Isolated; flowsim's slowdown 1 there) gets slowdown 1. The
	// algorithm runs a flow alone on its path at exactly its ideal FCT in
	// m4's packet simulator, as in the fork: DCTCP and DCQCN do (slowdown
	// 0.999-1.000 for 40 flows of 0.3 KB-27 MB, 0.05 s apart), TIMELY's
	// pacing (1.003-1.007) and HPCC's INT header (1.02-1.09) do not, and
	// there the model's value, which carries them, is kept.
	IsolatedAtIdeal bool
}

// Flow returns m4's slowdown of one flow: 1 for an isolated flow where the
// rule says so, else Blend.
func (r PerFlowRule) Flow(model, flowsim float64, lone, isolated bool) float64 {
	if isolated && r.IsolatedAtIdeal {
		return 1
	}
	return r.Blend(model, flowsim, lone)
}

// Blend is model^w x flowsim^(1-w). A flow alone in its path and size
// bucket (lone; most flows) gets the model's median for that path and
// bucket, which carries the queueing max-min sharing leaves out, and w is
// Lone. A flow among others of its bucket is placed in the model's
// distribution by flowsim's order of those flows, which the packet-level
// run often does not keep: the model's extremes then go to the wrong
// flows, so w is Shared, smaller, and its own flowsim value counts more.
// Both inputs are at least 1, and so is the blend; within a path and
// bucket it keeps flowsim's order, as both do (and so does Flow, up to
// flowsim's rounding at slowdown 1: an isolated flow's 1 is the least there
// is).
func (r PerFlowRule) Blend(model, flowsim float64, lone bool) float64 {
	w := r.Shared
	if lone {
		w = r.Lone
	}
	return math.Pow(model, w) * math.Pow(flowsim, 1-w)
}

// PerFlowRuleFor returns algorithm c's rule. The weights were chosen per
// algorithm (a grid of 0.4-1.0 x 0-0.5) on 16 workloads of m4's own
// generator (its packet simulator as truth) and 24 fork runs, then checked
// once on 32 fork-style runs made after (docs/accuracy.md, "Per-flow rules
// per algorithm"): DCTCP and DCQCN lean on flowsim for flows among others,
// HPCC more on the model. Another algorithm gets the weights
// chosen for all four together (0.8, 0.3) and no isolated-flow rule.
func PerFlowRuleFor(c cc.CC) PerFlowRule {
	switch c {
	case cc.DCTCP, cc.DCQCN:
		return PerFlowRule{0.8, 0.1, true}
	case cc.HPCC:
		return PerFlowRule{0.8, 0.5, false}
	case cc.TIMELY:
		return PerFlowRule{0.9, 0.3, false}
	}
	return PerFlowRule{0.8, 0.3, false}
}

// ModelSlowdowns turns a path's estimated slowdown distribution into one
// slowdown per foreground flow. Within each size bucket the n flows are
// ranked by their flowsim slowdown (ties share their mean rank); rank r
// (from 0) stands at quantile (r + 1/2) / n, the middle of its share of the
// distribution, and the flow's slowdown is the model's percentile curve
// there, linear between percentiles and p1 below the first (a lone flow
// takes the median). So a bucket's flows keep flowsim's order and spread
// over the model's distribution: with many flows their slowdowns follow it;
// a path's only flow gets its median, the point estimate. The model does not
// force its percentiles to ascend; they are sorted first (where they cross,
// this is the monotone curve with the same values).
func ModelSlowdowns(flowsim []float64, bucket []int, model *[aggregate.NumBuckets][aggregate.NumPercentiles]float64) []float64 {
	out := make([]float64, len(flowsim))
	var idx [aggregate.NumBuckets][]int
	for i, b := range bucket {
		idx[b] = append(idx[b], i)
	}
	for b, fl := range idx {
		n := len(fl)
		if n == 0 {
			continue
		}
		sort.SliceStable(fl, func(i, j int) bool { return flowsim[fl[i]] < flowsim[fl[j]] })
		curve := model[b]
		sort.Float64s(curve[:])
		for lo := 0; lo < n; {
			hi := lo + 1
			for hi < n && flowsim[fl[hi]] == flowsim[fl[lo]] {
				hi++
			}
			q := (float64(lo+hi-1)/2 + 0.5) / float64(n)
			v := math.Max(1, percentileAt(&curve, q))
			for _, i := range fl[lo:hi] {
				out[i] = v
			}
			lo = hi
		}
	}
	return out
}

// percentileAt reads percentiles 1..100 (at quantiles 0.01..1) at quantile
// q, linearly between them, the first below 0.01.
func percentileAt(p *[aggregate.NumPercentiles]float64, q float64) float64 {
	x := q*aggregate.NumPercentiles - 1 // index into p
	if x <= 0 {
		return p[0]
	}
	k := int(x)
	if k >= aggregate.NumPercentiles-1 {
		return p[aggregate.NumPercentiles-1]
	}
	f := x - float64(k)
	return p[k]*(1-f) + p[k+1]*f
}
