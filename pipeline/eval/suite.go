package eval

import (
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	"github.com/m4sim/m4/pipeline/aggregate"
	"github.com/m4sim/m4/pipeline/cc"
	"github.com/m4sim/m4/pipeline/features"
	"github.com/m4sim/m4/pipeline/infer"
	"github.com/m4sim/m4/pipeline/model"
	"github.com/m4sim/m4/pipeline/ns3"
	"github.com/m4sim/m4/pipeline/pktsim"
	"github.com/m4sim/m4/pipeline/truth"
	"github.com/m4sim/m4/pipeline/workload"
)

// Case is one workload of an evaluation suite: a spec, whose truth m4's
// packet simulator makes, or a run of the ns-3 fork (its config file), whose
// truth is the fork's own FCT output.
type Case struct {
	Name string
	Spec *workload.Spec
	NS3  string // the fork's config file
}

// DefaultSuite varies the embedded default workload (256-host fabric,
// cluster A matrix, lognormal arrivals) over flow-size distributions, loads
// and congestion-control algorithms: 3 x 2 x 4 = 24 workloads.
func DefaultSuite(flows int) ([]Case, error) {
	var out []Case
	for _, dist := range []string{"webserver", "hadoop", "cachefollower"} {
		for _, load := range []float64{0.3, 0.6} {
			for _, algo := range cc.All() {
				s, err := infer.DefaultSpec()
				if err != nil {
					return nil, err
				}
				s.Sizes.Dist = dist
				s.MaxLoad = load
				s.CC = workload.CCSpec{Algorithm: algo, BufferKB: 300, WindowBytes: 18000, PFC: true}
				if flows > 0 {
					s.Flows = flows
				}
				name := fmt.Sprintf("%s/load%.1f/%s", dist, load, algo)
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
	CC                        string
	Rows                      []Row // estimators: 0 = m4, 1 = flowsim
	EstimateSec, TruthSec     float64
	MeanErrM4, MeanErrFlowsim float64 // over the size buckets x quantiles
	// CellErrM4, CellErrFlowsim: the mean over every cell, the size
	// buckets and all sizes x quantiles (15 cells with every bucket).
	CellErrM4, CellErrFlowsim float64
	// OutOfRange lists the workload's inputs outside the checkpoint's
	// trained ranges.
	OutOfRange []features.OutOfRange
	// PerFlow tells whether the per-flow errors were measured (every path
	// estimated); PerFlowErrM4 and PerFlowErrFlowsim are then the mean of
	// |estimated / true slowdown - 1| over flows (PerFlowError).
	PerFlow                         bool
	PerFlowErrM4, PerFlowErrFlowsim float64
	// Checkpoint names what estimated the m4 column (set by the caller,
	// which chose it; "" when not recorded).
	Checkpoint string
	// BusiestLoad is the load of the workload's busiest link by flow count
	// (infer.Description.BusiestByCount): what the held-out table's load
	// bands split on.
	BusiestLoad float64
}

// CaseOptions control RunCaseWith.
type CaseOptions struct {
	Paths   int // paths drawn (0: all)
	Seed    uint64
	Threads int
	// PerFlow estimates every path and measures each flow's error.
	PerFlow bool
	// Whole, when set, is the estimator of the m4 column instead of the
	// path model (RunCaseWith's est is then nil; flowsim still fills its
	// column, on every path): one that estimates every flow of a workload
	// at once, such as m4's flow-level dynamics model. Both are then also
	// measured flow by flow.
	Whole WholeEstimator
	// WholeRanges, with Whole, lists the workload's inputs outside what the
	// whole-workload estimator was trained on (into CaseResult.OutOfRange).
	WholeRanges func(c *truth.Case, cfg features.Config) []features.OutOfRange
	// For, when set, gives the path estimator for the workload's
	// congestion control, in place of RunCaseWith's est (m4 eval picks
	// the shipped specialist of each workload's algorithm this way).
	For func(cc.CC) (*model.Estimator, error)
}

// WholeEstimator estimates every flow of a workload at once: c is the
// workload as the packet simulator takes it, cfg its configuration and
// flowsim flowsim's slowdown of each flow (every path; infer.PerFlow), which
// it may take as a prior; it returns each flow's FCT (ns) in c's order.
type WholeEstimator func(c *truth.Case, cfg features.Config, flowsim []float64) ([]float64, error)

// RunCaseWith estimates one workload with est and checks it against its
// ground truth: the fork's FCT output for an ns-3 case, else m4's packet
// simulator.
func RunCaseWith(c Case, est *model.Estimator, o CaseOptions) (*CaseResult, error) {
	var (
		w         *workload.Workload
		cfg       features.Config
		getTruth  func() (td *aggregate.Distribution, fct, ideal []int64, err error)
		untrained []features.OutOfRange
		sim       func() (*truth.Case, error)
		err       error
	)
	if c.NS3 != "" {
		run, err := ns3.Load(c.NS3)
		if err != nil {
			return nil, err
		}
		if cfg, err = run.ModelConfig(); err != nil {
			return nil, err
		}
		if untrained, err = ns3.Untrained(run.Config, cfg, run.HostGbps, run.FabricGbps); err != nil {
			return nil, err
		}
		w = run.Workload
		sim = func() (*truth.Case, error) {
			return &truth.Case{Config: run.Config, Topo: run.Topo, Flows: run.Flows}, nil
		}
		getTruth = func() (*aggregate.Distribution, []int64, []int64, error) {
			fct, err := run.ReadFCT(run.FCTFile)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("%s: FCT_OUTPUT_FILE: %w", c.NS3, err)
			}
			ideal := fct.IdealNs
			if pktsim.IdealCap(run.Topo) > pktsim.ForkIdealCap { // m4's slowdowns are not capped as the fork's ideal is
				sc, err := sim()
				if err != nil {
					return nil, nil, nil, err
				}
				if ideal, err = sc.IdealFCTs(); err != nil {
					return nil, nil, nil, err
				}
			}
			td, err := TruthOf(w, fct.FCTNs, ideal)
			return td, fct.FCTNs, ideal, err
		}
	} else {
		if w, err = workload.Generate(c.Spec); err != nil {
			return nil, err
		}
		if cfg, err = infer.ConfigOf(c.Spec.CC); err != nil {
			return nil, err
		}
		sim = func() (*truth.Case, error) { return truth.Input(w, cfg) }
		getTruth = func() (*aggregate.Distribution, []int64, []int64, error) {
			tr, err := truth.Simulate(w, cfg, truth.Options{})
			if err != nil {
				return nil, nil, nil, err
			}
			return tr.Dist, tr.FCTNs, tr.IdealNs, nil
		}
	}
	if o.For != nil && o.Whole == nil {
		if est, err = o.For(cfg.CC); err != nil {
			return nil, fmt.Errorf("%s: %w", c.Name, err)
		}
	}
	t0 := time.Now()
	paths, perFlow := o.Paths, o.PerFlow || o.Whole != nil // a whole-workload estimator is compared flow by flow
	if perFlow {
		paths = 0
	}
	r, err := infer.Run(w, cfg, est, infer.Options{Paths: paths, Seed: o.Seed, Workers: o.Threads, PerFlow: perFlow, Lean: true})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.Name, err)
	}
	var whole []float64 // the whole-workload estimator's FCTs
	var wholeIdeal []int64
	if o.Whole != nil {
		sc, err := sim()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.Name, err)
		}
		if wholeIdeal, err = sc.IdealFCTs(); err != nil {
			return nil, fmt.Errorf("%s: %w", c.Name, err)
		}
		var fs []float64
		if r.PerFlow != nil {
			fs = r.PerFlow.Flowsim
		}
		if whole, err = o.Whole(sc, cfg, fs); err != nil {
			return nil, fmt.Errorf("%s: %w", c.Name, err)
		}
		if o.WholeRanges != nil {
			untrained = append(untrained, o.WholeRanges(sc, cfg)...)
		}
		if len(whole) != w.Flows.Len() {
			return nil, fmt.Errorf("%s: %d estimates for %d flows", c.Name, len(whole), w.Flows.Len())
		}
		bucket, sl := make([]int, len(whole)), make([]float64, len(whole))
		for i, f := range whole {
			bucket[i] = features.OutputBucket(float64(w.Flows.Size[i]))
			sl[i] = math.Max(f/float64(wholeIdeal[i]), 1)
		}
		if r.Model, err = aggregate.FromSamples(bucket, sl); err != nil {
			return nil, fmt.Errorf("%s: %w", c.Name, err)
		}
	}
	t1 := time.Now()
	td, fct, ideal, err := getTruth()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.Name, err)
	}
	res := &CaseResult{Case: c, Flows: w.Flows.Len(), CC: string(cfg.CC), EstimateSec: t1.Sub(t0).Seconds(), TruthSec: time.Since(t1).Seconds(),
		BusiestLoad: infer.Describe(c.Name, w, cfg).BusiestByCount.LoadByCount}
	if est != nil {
		res.OutOfRange = infer.OutOfRange(est.Checkpoint(), w, cfg)
	}
	res.OutOfRange = append(res.OutOfRange, untrained...)
	res.Rows = Compare(td, []*aggregate.Distribution{r.Model, r.Flowsim}, Quantiles)
	res.MeanErrM4, res.MeanErrFlowsim = meanErr(res.Rows, false)
	res.CellErrM4, res.CellErrFlowsim = meanErr(res.Rows, true)
	if o.Whole != nil {
		res.PerFlow = true
		est := make([]int64, len(whole))
		for i, f := range whole {
			est[i] = int64(math.Round(f))
		}
		if res.PerFlowErrM4, err = PerFlowError(est, fct, ideal); err != nil {
			return nil, fmt.Errorf("%s: %w", c.Name, err)
		}
		if r.PerFlow != nil && r.PerFlow.Flowsim != nil {
			if res.PerFlowErrFlowsim, err = PerFlowError(infer.FCTsOf(r.PerFlow.Flowsim, ideal), fct, ideal); err != nil {
				return nil, fmt.Errorf("%s: %w", c.Name, err)
			}
		}
	} else if o.PerFlow && r.PerFlow.Model != nil {
		res.PerFlow = true
		for _, e := range []struct {
			sl  []float64
			err *float64
		}{{r.PerFlow.Model, &res.PerFlowErrM4}, {r.PerFlow.Flowsim, &res.PerFlowErrFlowsim}} {
			if *e.err, err = PerFlowError(infer.FCTsOf(e.sl, ideal), fct, ideal); err != nil {
				return nil, fmt.Errorf("%s: %w", c.Name, err)
			}
		}
	}
	return res, nil
}

// meanErr is the mean relative error of estimators 0 and 1 over the rows of
// the size buckets, and of all sizes too when withAll.
func meanErr(rows []Row, withAll bool) (e0, e1 float64) {
	n := 0
	for _, row := range rows {
		if row.Bucket == aggregate.NumBuckets && !withAll {
			continue
		}
		e0 += row.RelErr(0)
		e1 += row.RelErr(1)
		n++
	}
	if n == 0 {
		return math.NaN(), math.NaN()
	}
	return e0 / float64(n), e1 / float64(n)
}

// WriteSuiteTable prints one line per workload: the mean relative error of
// p50/p90/p99 over size buckets, and the all-size p99 error, for m4 and flowsim.
func WriteSuiteTable(w io.Writer, rs []*CaseResult) {
	fmt.Fprintln(w, "| workload | flows | m4 mean err | flowsim mean err | m4 15-cell err | flowsim 15-cell err | m4 p99 err (all) | flowsim p99 err (all) | estimate s | truth s |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|")
	var m4, fs, m4c, fsc, m4p99, fsp99 float64
	for _, r := range rs {
		var e0, e1 float64
		for _, row := range r.Rows {
			if row.Bucket == aggregate.NumBuckets && row.Q == 0.99 {
				e0, e1 = row.RelErr(0), row.RelErr(1)
			}
		}
		fmt.Fprintf(w, "| %s | %d | %.1f%% | %.1f%% | %.1f%% | %.1f%% | %.1f%% | %.1f%% | %.1f | %.1f |\n", r.Case.Name, r.Flows,
			100*r.MeanErrM4, 100*r.MeanErrFlowsim, 100*r.CellErrM4, 100*r.CellErrFlowsim, 100*e0, 100*e1, r.EstimateSec, r.TruthSec)
		m4 += r.MeanErrM4
		fs += r.MeanErrFlowsim
		m4c += r.CellErrM4
		fsc += r.CellErrFlowsim
		m4p99 += e0
		fsp99 += e1
	}
	if n := float64(len(rs)); n > 0 {
		fmt.Fprintf(w, "| **mean of %d** | | **%.1f%%** | **%.1f%%** | **%.1f%%** | **%.1f%%** | **%.1f%%** | **%.1f%%** | | |\n", len(rs),
			100*m4/n, 100*fs/n, 100*m4c/n, 100*fsc/n, 100*m4p99/n, 100*fsp99/n)
	}
}

// WriteBucketTable prints, per workload and size bucket (and all sizes), the
// true p50/p90/p99 slowdowns and the relative error of m4 and flowsim on each.
func WriteBucketTable(w io.Writer, rs []*CaseResult) {
	fmt.Fprintln(w, "| workload | cc | bucket | truth p50 | p90 | p99 | m4 err p50 | p90 | p99 | flowsim err p50 | p90 | p99 |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range rs {
		for b := 0; b <= aggregate.NumBuckets; b++ {
			var cells []Row
			for _, row := range r.Rows {
				if row.Bucket == b {
					cells = append(cells, row)
				}
			}
			if len(cells) != len(Quantiles) {
				continue
			}
			fmt.Fprintf(w, "| %s | %s | %s |", r.Case.Name, r.CC, aggregate.BucketName(b))
			for _, c := range cells {
				fmt.Fprintf(w, " %.3f |", c.Truth)
			}
			for e := 0; e < 2; e++ {
				for _, c := range cells {
					fmt.Fprintf(w, " %.1f%% |", 100*c.RelErr(e))
				}
			}
			fmt.Fprintln(w)
		}
	}
}

// Scores are the headline numbers of an evaluation: per estimator (0 m4,
// 1 flowsim) the mean |relative error| over every cell (p50, p90, p99 of
// each size bucket and of all sizes) of every workload, and how many of
// the size buckets' p99 cells are within 10% of the truth.
type Scores struct {
	MeanCellErr [2]float64
	P99Within10 [2]int
	P99Cells    int
	ByCC        map[string][2]float64 // mean cell error per congestion control
	CCWorkloads map[string]int
}

// Score sums up rs.
func Score(rs []*CaseResult) Scores {
	s := Scores{ByCC: map[string][2]float64{}, CCWorkloads: map[string]int{}}
	n := 0
	for _, r := range rs {
		e := s.ByCC[r.CC]
		e[0] += r.CellErrM4
		e[1] += r.CellErrFlowsim
		s.ByCC[r.CC] = e
		s.CCWorkloads[r.CC]++
		for _, row := range r.Rows {
			for e := range 2 {
				s.MeanCellErr[e] += row.RelErr(e)
			}
			n++
			if row.Bucket < aggregate.NumBuckets && row.Q == 0.99 {
				s.P99Cells++
				for e := range 2 {
					if row.RelErr(e) <= 0.1 {
						s.P99Within10[e]++
					}
				}
			}
		}
	}
	for e := range 2 {
		s.MeanCellErr[e] /= float64(max(n, 1))
	}
	for k, v := range s.ByCC {
		s.ByCC[k] = [2]float64{v[0] / float64(s.CCWorkloads[k]), v[1] / float64(s.CCWorkloads[k])}
	}
	return s
}

// WriteScores prints the headline numbers.
func WriteScores(w io.Writer, rs []*CaseResult) {
	s := Score(rs)
	fmt.Fprintf(w, "mean |error| over every cell of %d workloads: m4 %.1f%%, flowsim %.1f%%; size-bucket p99 cells within 10%%: m4 %d of %d, flowsim %d of %d\n",
		len(rs), 100*s.MeanCellErr[0], 100*s.MeanCellErr[1], s.P99Within10[0], s.P99Cells, s.P99Within10[1], s.P99Cells)
	ccs := make([]string, 0, len(s.ByCC))
	for k := range s.ByCC {
		ccs = append(ccs, k)
	}
	slices.Sort(ccs)
	for _, k := range ccs {
		fmt.Fprintf(w, "  %s (%d workloads): m4 %.1f%%, flowsim %.1f%%\n", k, s.CCWorkloads[k], 100*s.ByCC[k][0], 100*s.ByCC[k][1])
	}
}
