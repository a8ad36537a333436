// Package eval measures estimates against packet-level ground truth: the
// outcome of m4's packet simulator on a whole datacenter workload
// (pipeline/truth) or the ns-3 fork's own FCT output (pipeline/ns3), as
// slowdown distributions per output size bucket; it compares estimated
// quantiles with the true ones.
package eval

import (
	"fmt"
	"math"

	"github.com/m4sim/m4/pipeline/aggregate"
	"github.com/m4sim/m4/pipeline/features"
	"github.com/m4sim/m4/pipeline/workload"
)

// PerFlowError is the mean over flows of |max(est/ideal, 1) / slowdown - 1|
// with slowdown = max(fct, ideal) / ideal: how far each flow's estimated
// slowdown is from its true one. est, fct and ideal are per flow, in ns.
func PerFlowError(est, fct, ideal []int64) (float64, error) {
	if len(est) != len(fct) || len(ideal) != len(fct) || len(fct) == 0 {
		return 0, fmt.Errorf("per-flow error: %d estimates, %d FCTs, %d ideal FCTs", len(est), len(fct), len(ideal))
	}
	sum := 0.0
	for i := range fct {
		if fct[i] < 0 || ideal[i] <= 0 {
			return 0, fmt.Errorf("per-flow error: flow %d: FCT %d ns, ideal %d ns", i, fct[i], ideal[i])
		}
		id := float64(ideal[i])
		sum += math.Abs(math.Max(float64(est[i])/id, 1)/(math.Max(float64(fct[i]), id)/id) - 1)
	}
	return sum / float64(len(fct)), nil
}

// TruthOf is the slowdown distribution of w's flows given each flow's FCT
// and ideal FCT (ns): max(fct, ideal) / ideal per flow, bucketed by size.
func TruthOf(w *workload.Workload, fctNs, idealNs []int64) (*aggregate.Distribution, error) {
	n := w.Flows.Len()
	if len(fctNs) != n || len(idealNs) != n {
		return nil, fmt.Errorf("truth: %d FCTs and %d ideal FCTs for %d flows", len(fctNs), len(idealNs), n)
	}
	bucket, sl := make([]int, n), make([]float64, n)
	for i := range n {
		if fctNs[i] < 0 || idealNs[i] <= 0 {
			return nil, fmt.Errorf("truth: flow %d: FCT %d ns, ideal %d ns", i, fctNs[i], idealNs[i])
		}
		bucket[i] = features.OutputBucket(float64(w.Flows.Size[i]))
		sl[i] = float64(max(fctNs[i], idealNs[i])) / float64(idealNs[i])
	}
	return aggregate.FromSamples(bucket, sl)
}

// Quantiles compared by default: median, p90, p99.
var Quantiles = []float64{0.5, 0.9, 0.99}

// Row is one bucket and quantile: the true value and each estimator's.
type Row struct {
	Bucket    int // aggregate.NumBuckets for all sizes
	Q         float64
	Truth     float64
	Estimates []float64 // in the order of the estimators given to Compare
}

// RelErr is |est/truth - 1| of estimator i.
func (r Row) RelErr(i int) float64 { return math.Abs(r.Estimates[i]/r.Truth - 1) }

// Compare lines up estimators against the truth for every non-empty bucket.
func Compare(truth *aggregate.Distribution, est []*aggregate.Distribution, qs []float64) []Row {
	var rows []Row
	for b := 0; b <= aggregate.NumBuckets; b++ {
		if b < aggregate.NumBuckets && truth.Weight[b] == 0 {
			continue
		}
		for _, q := range qs {
			r := Row{Bucket: b, Q: q, Truth: truth.Quantile(b, q)}
			for _, e := range est {
				r.Estimates = append(r.Estimates, e.Quantile(b, q))
			}
			rows = append(rows, r)
		}
	}
	return rows
}
