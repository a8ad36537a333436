package train

import (
	"fmt"
	"io"
	"math"
	"sort"

	"github.com/m4sim/m4/pipeline/aggregate"
	"github.com/m4sim/m4/pipeline/dataset"
	"github.com/m4sim/m4/pipeline/model"
)

// ReportRow is the mean loss of the model and of flowsim over a group of
// scenarios.
type ReportRow struct {
	Group       string
	N           int
	ModelLoss   float64
	FlowsimLoss float64
}

// Ratio is the model's loss relative to flowsim's (the target is <= 0.8).
func (r ReportRow) Ratio() float64 { return r.ModelLoss / r.FlowsimLoss }

// Report is an evaluation: all scenarios, then per path length, then per
// congestion control, and the network paths pooled by their flow counts.
type Report struct {
	All     ReportRow
	ByH     []ReportRow
	ByCC    []ReportRow
	ByFlows []PooledRow // network paths only; empty without them
	Model   []float64   // per scenario, in input order
	Flow    []float64
}

// PooledQuantiles are the quantiles a PooledRow compares.
var PooledQuantiles = [3]float64{0.5, 0.9, 0.99}

// pooledBins are the lower ends of PooledRow's ranges of foreground flows.
var pooledBins = []int{1, 2, 4, 10}

// PooledRow compares, over the paths cut from workloads whose foreground
// flows lie in [Lo, Hi] (Hi 0: no upper end), the mixture of their
// estimates with the mixture of their truths, each path weighted by its
// flows per size bucket as m4 run mixes paths (aggregate.Combine). Loss
// counts each path once; this counts each flow once, so it shows what a
// network-wide answer inherits, e.g. small-flow tails that only busy host
// pairs have. The mixture is the network's when every path of a workload
// is in (m4 train --paths-per-workload 0); paths drawn by flows weigh busy
// ones twice over. Model[b][j] is the model's PooledQuantiles[j] of bucket b over
// the truth's, minus 1 (NaN where the bucket has no flows); Flowsim is
// flowsim's.
type PooledRow struct {
	Lo, Hi         int
	Paths, Flows   int
	Model, Flowsim [aggregate.NumBuckets][len(PooledQuantiles)]float64
}

// poolByFlows builds Report.ByFlows from the samples and the model's and
// flowsim's estimates (est[i], fe[i]: OutputLen percentiles each).
func poolByFlows(samples []*dataset.Sample, est, fe [][]float32) ([]PooledRow, error) {
	type pool struct {
		truth, model, flow aggregate.Builder
		paths, flows       int
	}
	pools := make([]pool, len(pooledBins))
	var vals [3][aggregate.NumPercentiles]float64
	for i, s := range samples {
		if !s.Network || s.Foreground < pooledBins[0] {
			continue
		}
		g := sort.SearchInts(pooledBins, s.Foreground+1) - 1
		p := &pools[g]
		p.paths++
		p.flows += s.Foreground
		for b := 0; b < aggregate.NumBuckets; b++ {
			w := float64(s.BucketFlows[b])
			if w == 0 {
				continue
			}
			for k := range vals[0] {
				o := b*aggregate.NumPercentiles + k
				vals[0][k], vals[1][k], vals[2][k] = float64(s.Target[o]), float64(est[i][o]), float64(fe[i][o])
			}
			for j, bl := range []*aggregate.Builder{&p.truth, &p.model, &p.flow} {
				if err := bl.Add(b, &vals[j], w); err != nil {
					return nil, fmt.Errorf("evaluate: %s: %w", s.Name(), err)
				}
			}
		}
	}
	var rows []PooledRow
	for g := range pools {
		p := &pools[g]
		if p.paths == 0 {
			continue
		}
		r := PooledRow{Lo: pooledBins[g], Paths: p.paths, Flows: p.flows}
		if g+1 < len(pooledBins) {
			r.Hi = pooledBins[g+1] - 1
		}
		t, m, f := p.truth.Distribution(), p.model.Distribution(), p.flow.Distribution()
		for b := 0; b < aggregate.NumBuckets; b++ {
			for j, q := range PooledQuantiles {
				tq := t.Quantile(b, q)
				r.Model[b][j], r.Flowsim[b][j] = m.Quantile(b, q)/tq-1, f.Quantile(b, q)/tq-1
			}
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// Evaluate runs ck on samples and compares its loss (SampleLoss with
// rule) with flowsim's own estimate's (dataset.FlowsimEstimate, or the
// sample's Flowsim) on the same cells.
func Evaluate(ck *model.Checkpoint, samples []*dataset.Sample, batch, threads int, rule QuantileRule) (*Report, error) {
	if len(samples) == 0 {
		return nil, fmt.Errorf("evaluate: no scenarios")
	}
	est, err := Predict(ck, samples, batch, threads)
	if err != nil {
		return nil, err
	}
	r := &Report{Model: make([]float64, len(samples)), Flow: make([]float64, len(samples))}
	byH, byCC := map[string]*acc{}, map[string]*acc{}
	all := &acc{}
	fes := make([][]float32, len(samples))
	for i, s := range samples {
		fe := s.Flowsim
		if fe == nil {
			if fe, err = dataset.FlowsimEstimate(s.Dir, s.Hosts); err != nil {
				return nil, err
			}
		}
		fes[i] = fe
		r.Model[i] = SampleLoss(est[i], s, rule)
		r.Flow[i] = SampleLoss(fe, s, rule)
		cc := s.CC
		if cc == "" {
			cc = "unknown"
		}
		kind := "" // m3's parking lots
		if s.Network {
			kind = "network paths "
		}
		for _, a := range []*acc{all, get(byH, kind+"H="+fmt.Sprint(s.Hosts)), get(byCC, kind+cc)} {
			a.n++
			a.m += r.Model[i]
			a.f += r.Flow[i]
		}
	}
	row := func(g string, a *acc) ReportRow {
		return ReportRow{Group: g, N: a.n, ModelLoss: a.m / float64(a.n), FlowsimLoss: a.f / float64(a.n)}
	}
	r.All = row("all", all)
	for _, m := range []struct {
		src map[string]*acc
		dst *[]ReportRow
	}{{byH, &r.ByH}, {byCC, &r.ByCC}} {
		var keys []string
		for k := range m.src {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			*m.dst = append(*m.dst, row(k, m.src[k]))
		}
	}
	if r.ByFlows, err = poolByFlows(samples, est, fes); err != nil {
		return nil, err
	}
	return r, nil
}

type acc struct {
	n    int
	m, f float64
}

func get(m map[string]*acc, k string) *acc {
	if m[k] == nil {
		m[k] = &acc{}
	}
	return m[k]
}

// WriteMarkdown writes the report as a markdown table.
func (r *Report) WriteMarkdown(w io.Writer) {
	fmt.Fprintf(w, "| scenarios | n | model loss | flowsim loss | model / flowsim |\n|---|---|---|---|---|\n")
	rows := append(append([]ReportRow{r.All}, r.ByH...), r.ByCC...)
	for _, x := range rows {
		fmt.Fprintf(w, "| %s | %d | %.4f | %.4f | %.2f |\n", x.Group, x.N, x.ModelLoss, x.FlowsimLoss, x.Ratio())
	}
	if len(r.ByFlows) == 0 {
		return
	}
	fmt.Fprintf(w, "\nNetwork paths by their foreground flows, pooled by flows: estimate / truth - 1 at p50, p90, p99\n\n")
	fmt.Fprintf(w, "| foreground flows | paths | flows | estimator | <1KB | 1KB-10KB | 10KB-50KB | >=50KB |\n|---|---|---|---|---|---|---|---|\n")
	cell := func(v [len(PooledQuantiles)]float64) string {
		if math.IsNaN(v[0]) {
			return "-"
		}
		return fmt.Sprintf("%+.1f / %+.1f / %+.1f%%", 100*v[0], 100*v[1], 100*v[2])
	}
	for _, x := range r.ByFlows {
		span := fmt.Sprintf("%d-%d", x.Lo, x.Hi)
		if x.Hi == 0 {
			span = fmt.Sprintf(">= %d", x.Lo)
		} else if x.Hi == x.Lo {
			span = fmt.Sprint(x.Lo)
		}
		for _, e := range []struct {
			name string
			v    *[aggregate.NumBuckets][len(PooledQuantiles)]float64
		}{{"model", &x.Model}, {"flowsim", &x.Flowsim}} {
			fmt.Fprintf(w, "| %s | %d | %d | %s | %s | %s | %s | %s |\n", span, x.Paths, x.Flows, e.name,
				cell(e.v[0]), cell(e.v[1]), cell(e.v[2]), cell(e.v[3]))
		}
	}
}
