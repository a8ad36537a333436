package infer

import "math"

// DepartureFactor is how far, as a ratio either way, a path's model
// estimate may depart from flowsim's on the same path before the path
// counts as departing (Departures). The shipped model corrects flowsim by
// less: on every path of the default workload (17,313) the largest ratio
// is 1.5x at the median, 4.1x at the 99th percentile and 8.3x at most
// (docs/reliability.md). A path 10x away is one the model extrapolates
// on, or a sign of a damaged or mismatched checkpoint.
const DepartureFactor = 10

// Departures counts the paths whose model estimate departs from flowsim's
// by more than factor: in some output bucket with foreground flows, the
// model's p50 or p99 over flowsim's, or its inverse, exceeds factor. It
// returns the count and the largest such ratio over all paths (1 when the
// paths have no model estimate).
func Departures(paths []PathResult, factor float64) (n int, worst float64) {
	worst = 1
	for i := range paths {
		p := &paths[i]
		if p.Model == nil || p.Flowsim == nil {
			continue
		}
		far := false
		for b, flows := range p.Flows {
			if flows == 0 {
				continue
			}
			for _, k := range []int{49, 98} { // p50, p99
				r := p.Model[b][k] / p.Flowsim[b][k]
				r = math.Max(r, 1/r)
				if math.IsNaN(r) {
					r = math.Inf(1)
				}
				worst = math.Max(worst, r)
				far = far || r > factor
			}
		}
		if far {
			n++
		}
	}
	return n, worst
}
