package eval

import (
	"fmt"
	"io"
	"time"

	"github.com/m4sim/m4/pipeline/aggregate"
	"github.com/m4sim/m4/pipeline/infer"
	"github.com/m4sim/m4/pipeline/model"
	"github.com/m4sim/m4/pipeline/workload"
)

// Case is one workload of an evaluation suite.
type Case struct {
	Name string
	Spec *workload.Spec
}

// DefaultSuite varies the embedded default workload (256-host fabric,
// cluster A matrix, lognormal arrivals) over flow-size distributions, loads
// and congestion-control algorithms: 3 x 2 x 4 = 24 workloads.
func DefaultSuite(flows int) ([]Case, error) {
	var out []Case
	for _, dist := range []string{"webserver", "hadoop", "cachefollower"} {
		for _, load := range []float64{0.3, 0.6} {
			for _, cc := range []string{"dctcp", "dcqcn", "hpcc", "timely"} {
				s, err := infer.DefaultSpec()
				if err != nil {
					return nil, err
				}
				s.Sizes.Dist = dist
				s.MaxLoad = load
				s.CC = workload.CCSpec{Algorithm: cc, BufferKB: 300, WindowBytes: 18000, PFC: true}
				if flows > 0 {
					s.Flows = flows
				}
				name := fmt.Sprintf("%s/load%.1f/%s", dist, load, cc)
				s.File = name
				if err := s.Validate(); err != nil {
					return nil, fmt.Errorf("suite case %s: %w", name, err)
				}
				out = append(out, Case{Name: name, Spec: s})
			}
		}
	}
	return out, nil
}

// CaseResult is the error of m4 and flowsim on one workload.
type CaseResult struct {
	Case                      Case
	Flows                     int
	Rows                      []Row // estimators: 0 = m4, 1 = flowsim
	EstimateSec, TruthSec     float64
	MeanErrM4, MeanErrFlowsim float64 // over buckets x quantiles
}

// RunCase estimates one workload with est and checks it against the packet
// simulator's ground truth.
func RunCase(c Case, est *model.Estimator, paths int, seed uint64, threads int) (*CaseResult, error) {
	w, err := workload.Generate(c.Spec)
	if err != nil {
		return nil, err
	}
	cfg, err := infer.ConfigOf(c.Spec.CC)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	r, err := infer.Run(w, cfg, est, infer.Options{Paths: paths, Seed: seed, Workers: threads})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.Name, err)
	}
	t1 := time.Now()
	tr, err := GroundTruth(w, cfg, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.Name, err)
	}
	res := &CaseResult{Case: c, Flows: w.Flows.Len(), EstimateSec: t1.Sub(t0).Seconds(), TruthSec: time.Since(t1).Seconds()}
	res.Rows = Compare(tr.Dist, []*aggregate.Distribution{r.Model, r.Flowsim}, Quantiles)
	n := 0
	for _, row := range res.Rows {
		if row.Bucket == aggregate.NumBuckets {
			continue
		}
		res.MeanErrM4 += row.RelErr(0)
		res.MeanErrFlowsim += row.RelErr(1)
		n++
	}
	if n > 0 {
		res.MeanErrM4 /= float64(n)
		res.MeanErrFlowsim /= float64(n)
	}
	return res, nil
}

// WriteSuiteTable prints one line per workload: the mean relative error of
// p50/p90/p99 over size buckets, and the all-size p99 error, for m4 and flowsim.
func WriteSuiteTable(w io.Writer, rs []*CaseResult) {
	fmt.Fprintln(w, "| workload | flows | m4 mean err | flowsim mean err | m4 p99 err (all) | flowsim p99 err (all) | estimate s | truth s |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	var m4, fs, m4p99, fsp99 float64
	for _, r := range rs {
		var e0, e1 float64
		for _, row := range r.Rows {
			if row.Bucket == aggregate.NumBuckets && row.Q == 0.99 {
				e0, e1 = row.RelErr(0), row.RelErr(1)
			}
		}
		fmt.Fprintf(w, "| %s | %d | %.1f%% | %.1f%% | %.1f%% | %.1f%% | %.1f | %.1f |\n", r.Case.Name, r.Flows,
			100*r.MeanErrM4, 100*r.MeanErrFlowsim, 100*e0, 100*e1, r.EstimateSec, r.TruthSec)
		m4 += r.MeanErrM4
		fs += r.MeanErrFlowsim
		m4p99 += e0
		fsp99 += e1
	}
	if n := float64(len(rs)); n > 0 {
		fmt.Fprintf(w, "| **mean of %d** | | **%.1f%%** | **%.1f%%** | **%.1f%%** | **%.1f%%** | | |\n", len(rs),
			100*m4/n, 100*fs/n, 100*m4p99/n, 100*fsp99/n)
	}
}
