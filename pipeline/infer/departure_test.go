package infer

import (
	"math"
	"testing"

	"github.com/m4sim/m4/pipeline/aggregate"
)

// TestDepartures: a path counts when, in a bucket with flows, the model's
// p50 or p99 is more than factor away from flowsim's either way; buckets
// without flows and paths without a model estimate never count.
func TestDepartures(t *testing.T) {
	type q = [aggregate.NumBuckets][aggregate.NumPercentiles]float64
	flat := func(v float64) *q {
		var x q
		for b := range x {
			for k := range x[b] {
				x[b][k] = v
			}
		}
		return &x
	}
	withP99 := func(v float64) *q { x := flat(2); x[1][98] = v; return x }
	paths := []PathResult{
		{Flows: [4]int{3, 1, 0, 0}, Model: flat(2), Flowsim: flat(2)},      // same
		{Flows: [4]int{3, 1, 0, 0}, Model: flat(703), Flowsim: flat(1)},    // 703x above
		{Flows: [4]int{0, 1, 0, 0}, Model: withP99(0.1), Flowsim: flat(2)}, // 20x below at p99
		{Flows: [4]int{0, 0, 5, 0}, Model: withP99(100), Flowsim: flat(2)}, // far, but in a bucket without flows
		{Flows: [4]int{1, 0, 0, 0}, Model: nil, Flowsim: flat(2)},          // flowsim only
		{Flows: [4]int{1, 0, 0, 0}, Model: flat(19), Flowsim: flat(2)},     // 9.5x: within 10
	}
	n, worst := Departures(paths, DepartureFactor)
	if n != 2 || worst != 703 {
		t.Errorf("%d departing paths, worst %gx; want 2, 703x", n, worst)
	}
	if n, _ := Departures(paths, 5); n != 3 {
		t.Errorf("factor 5: %d departing paths, want 3", n)
	}
	if n, worst := Departures(nil, 10); n != 0 || worst != 1 || math.IsNaN(worst) {
		t.Errorf("no paths: %d, %g", n, worst)
	}
}
