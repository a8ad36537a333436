package eval

import (
	"math"
	"testing"

	"github.com/m4sim/m4/internal/workloadtest"
	"github.com/m4sim/m4/pipeline/aggregate"
	"github.com/m4sim/m4/pipeline/features"
	"github.com/m4sim/m4/pipeline/truth"
	"github.com/m4sim/m4/pipeline/workload"
)

func generate(t *testing.T, spec string) (*workload.Workload, features.Config) {
	t.Helper()
	w, s := workloadtest.Generate(t, spec)
	return w, features.DefaultConfig(s.CC.Algorithm, 300, 18000, true)
}

func TestGroundTruthAndCompare(t *testing.T) {
	w, cfg := generate(t, `
topology: {kind: fattree, k: 4}
sizes: {dist: webserver}
traffic: {matrix: uniform}
max_load: 0.5
flows: 2000
seed: 6
cc: {algorithm: dctcp, window_bytes: 18000, pfc: true}
`)
	tr, err := truth.Simulate(w, cfg, truth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if tr.Dist.All != 2000 {
		t.Fatalf("truth has %v flows, want 2000", tr.Dist.All)
	}
	slower := 0
	for i, s := range tr.Slowdown {
		if !(s >= 1) || math.IsInf(s, 0) {
			t.Fatalf("flow %d: slowdown %v", i, s)
		}
		if s > 1.01 {
			slower++
		}
	}
	if slower == 0 {
		t.Fatal("no flow slowed down at 50% load")
	}
	// Compare against two estimators with known errors: every slowdown 10%
	// high (relative error 0.1 in every row), and every flow at its ideal
	// (error 1 - 1/truth).
	high, ideal := make([]float64, len(tr.Slowdown)), make([]float64, len(tr.Slowdown))
	for i, s := range tr.Slowdown {
		high[i], ideal[i] = 1.1*s, 1
	}
	var ests []*aggregate.Distribution
	for _, sl := range [][]float64{high, ideal} {
		d, err := aggregate.FromSamples(tr.Bucket, sl)
		if err != nil {
			t.Fatal(err)
		}
		ests = append(ests, d)
	}
	var want []int // the non-empty buckets, then all sizes
	for b := range aggregate.NumBuckets {
		if tr.Dist.Weight[b] > 0 {
			want = append(want, b)
		}
	}
	want = append(want, aggregate.NumBuckets)
	rows := Compare(tr.Dist, ests, Quantiles)
	if len(rows) != len(want)*len(Quantiles) {
		t.Fatalf("%d rows, want %d buckets x %d quantiles", len(rows), len(want), len(Quantiles))
	}
	for i, r := range rows {
		b, q := want[i/len(Quantiles)], Quantiles[i%len(Quantiles)]
		if r.Bucket != b || r.Q != q || len(r.Estimates) != 2 {
			t.Fatalf("row %d: bucket %d, q %v, %d estimates; want bucket %d, q %v, 2", i, r.Bucket, r.Q, len(r.Estimates), b, q)
		}
		if e := r.RelErr(0); math.Abs(e-0.1) > 1e-12 {
			t.Errorf("row %d (bucket %d, q %v): 10%% high estimate has error %v", i, b, q, e)
		}
		if e := r.RelErr(1); math.Abs(e-(1-1/r.Truth)) > 1e-12 {
			t.Errorf("row %d (bucket %d, q %v): ideal estimate has error %v, truth %v", i, b, q, e, r.Truth)
		}
	}
}

// TestScore: the headline numbers by hand for two workloads.
func TestScore(t *testing.T) {
	row := func(b int, q, truth, m4, fs float64) Row {
		return Row{Bucket: b, Q: q, Truth: truth, Estimates: []float64{m4, fs}}
	}
	rs := []*CaseResult{
		{CC: "dctcp", CellErrM4: 0.1, CellErrFlowsim: 0.3, Rows: []Row{
			row(0, 0.99, 4, 4.2, 2), // m4 5% (within 10%), flowsim 50%
			row(0, 0.5, 1, 1, 1),
			row(aggregate.NumBuckets, 0.99, 2, 3, 2), // all sizes: not a bucket's p99
		}},
		{CC: "hpcc", CellErrM4: 0.2, CellErrFlowsim: 0.1, Rows: []Row{
			row(3, 0.99, 10, 12, 10.5), // m4 20%, flowsim 5%
		}},
	}
	s := Score(rs)
	want := (0.05 + 0 + 0.5 + 0.2) / 4
	if math.Abs(s.MeanCellErr[0]-want) > 1e-12 || math.Abs(s.MeanCellErr[1]-(0.5+0+0+0.05)/4) > 1e-12 {
		t.Errorf("mean cell errors %v, want m4 %v", s.MeanCellErr, want)
	}
	if s.P99Cells != 2 || s.P99Within10 != [2]int{1, 1} {
		t.Errorf("p99 cells %d, within 10%% %v", s.P99Cells, s.P99Within10)
	}
	if s.ByCC["dctcp"] != [2]float64{0.1, 0.3} || s.CCWorkloads["hpcc"] != 1 {
		t.Errorf("per CC %v %v", s.ByCC, s.CCWorkloads)
	}
}
