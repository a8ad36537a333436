package eval

import (
	"math"
	"testing"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/pipeline/features"
	"github.com/m4sim/m4/pipeline/truth"
	"github.com/m4sim/m4/pipeline/workload"
)

// TestWholeEstimator: a whole-workload estimator in the m4 column, checked
// with two whose errors are known: an oracle (the packet simulator itself:
// every error 0) and one 10% slow on every flow (per-flow error 0.1, and
// 0.1 on every quantile cell); flowsim's column is filled either way.
func TestWholeEstimator(t *testing.T) {
	if !bindings.Native {
		t.Skip(bindings.ErrNoNative)
	}
	s, err := workload.ParseSpec("whole.yaml", []byte(`
topology: {kind: fattree, k: 4}
sizes: {dist: webserver}
traffic: {matrix: uniform}
max_load: 0.4
flows: 400
seed: 8
cc: {algorithm: dctcp, buffer_kb: 300, window_bytes: 18000, dctcp_k: 20, pfc: true}
`))
	if err != nil {
		t.Fatal(err)
	}
	scaled := func(k float64) WholeEstimator {
		return func(c *truth.Case, _ features.Config, _ []float64) ([]float64, error) {
			r, err := c.Simulate(truth.Options{})
			if err != nil {
				return nil, err
			}
			out := make([]float64, len(r.FCTNs))
			for i, f := range r.FCTNs {
				// slowdown k x the truth's (never below 1, as estimates)
				out[i] = math.Max(k*float64(f), float64(r.IdealNs[i]))
			}
			return out, nil
		}
	}
	for i, c := range []struct {
		k       float64
		perFlow float64
	}{{1, 0}, {1.1, 0.1}} {
		r, err := RunCaseWith(Case{Name: "whole", Spec: s}, nil, CaseOptions{Seed: 1, Threads: 1, Whole: scaled(c.k)})
		if err != nil {
			t.Fatal(err)
		}
		if !r.PerFlow || math.Abs(r.PerFlowErrM4-c.perFlow) > 0.02 {
			t.Errorf("case %d: per-flow error %v (measured %v), want %v", i, r.PerFlowErrM4, r.PerFlow, c.perFlow)
		}
		if c.k == 1 && (r.MeanErrM4 > 1e-6 || r.CellErrM4 > 1e-6) {
			t.Errorf("case %d: the oracle's quantile errors %v, %v", i, r.MeanErrM4, r.CellErrM4)
		}
		if !(r.PerFlowErrFlowsim > 0) || !(r.MeanErrFlowsim > 0) {
			t.Errorf("case %d: flowsim's column is empty (%v, %v)", i, r.PerFlowErrFlowsim, r.MeanErrFlowsim)
		}
	}
}
