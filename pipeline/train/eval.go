package train

import (
	"fmt"
	"io"
	"sort"

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
// congestion control.
type Report struct {
	All   ReportRow
	ByH   []ReportRow
	ByCC  []ReportRow
	Model []float64 // per scenario, in input order
	Flow  []float64
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
	for i, s := range samples {
		fe := s.Flowsim
		if fe == nil {
			if fe, err = dataset.FlowsimEstimate(s.Dir, s.Hosts); err != nil {
				return nil, err
			}
		}
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
}
