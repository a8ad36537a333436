package eval

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/m4sim/m4/pipeline/aggregate"
	"github.com/m4sim/m4/pipeline/atomicfile"
	"github.com/m4sim/m4/pipeline/infer"
	"github.com/m4sim/m4/pipeline/plot"
)

// Files of m4 eval's output folder.
const (
	FileJSON     = "eval.json"
	FileCSV      = "eval.csv"
	FileErrorPNG = "error_cdf.png"
	FileErrorSVG = "error_cdf.svg"
)

// CSVHeader is eval.csv's first line: one row per workload, size bucket
// and quantile.
const CSVHeader = "workload,cc,flows,bucket,quantile,truth,m4,flowsim,m4_rel_err,flowsim_rel_err"

// rowJSON is one bucket and quantile of a workload in eval.json.
type rowJSON struct {
	Bucket     string  `json:"bucket"`
	Quantile   float64 `json:"quantile"`
	Truth      float64 `json:"truth"`
	M4         float64 `json:"m4"`
	Flowsim    float64 `json:"flowsim"`
	M4Err      float64 `json:"m4_rel_err"`
	FlowsimErr float64 `json:"flowsim_rel_err"`
}

// caseJSON is one workload in eval.json.
type caseJSON struct {
	Workload          string    `json:"workload"`
	NS3Config         string    `json:"ns3_config,omitempty"`
	CC                string    `json:"cc"`
	Checkpoint        string    `json:"checkpoint,omitempty"`
	Flows             int       `json:"flows"`
	MeanErrM4         float64   `json:"mean_err_m4"`
	MeanErrFlowsim    float64   `json:"mean_err_flowsim"`
	CellErrM4         float64   `json:"cell_err_m4"`
	CellErrFlowsim    float64   `json:"cell_err_flowsim"`
	PerFlowErrM4      *float64  `json:"per_flow_err_m4,omitempty"`
	PerFlowErrFlowsim *float64  `json:"per_flow_err_flowsim,omitempty"`
	OutOfRange        []string  `json:"out_of_range"`
	BusiestLoad       float64   `json:"busiest_load"`
	EstimateSeconds   float64   `json:"estimate_seconds"`
	TruthSeconds      float64   `json:"truth_seconds"`
	Rows              []rowJSON `json:"rows"`
}

// finite replaces NaN and infinities (JSON has none) by -1.
func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return -1
	}
	return v
}

// WriteJSON writes the results to path with meta as the "run" object: per
// workload its errors and, per size bucket and quantile, the true value
// and each estimator's (a value JSON cannot hold, such as NaN, is -1).
func WriteJSON(path string, meta any, rs []*CaseResult) error {
	cases := []caseJSON{}
	for _, r := range rs {
		c := caseJSON{Workload: r.Case.Name, NS3Config: r.Case.NS3, CC: r.CC, Checkpoint: r.Checkpoint, Flows: r.Flows,
			MeanErrM4: finite(r.MeanErrM4), MeanErrFlowsim: finite(r.MeanErrFlowsim),
			CellErrM4: finite(r.CellErrM4), CellErrFlowsim: finite(r.CellErrFlowsim),
			OutOfRange: []string{}, BusiestLoad: r.BusiestLoad, EstimateSeconds: r.EstimateSec, TruthSeconds: r.TruthSec}
		if r.PerFlow {
			m, f := r.PerFlowErrM4, r.PerFlowErrFlowsim
			c.PerFlowErrM4, c.PerFlowErrFlowsim = &m, &f
		}
		for _, o := range r.OutOfRange {
			c.OutOfRange = append(c.OutOfRange, o.String())
		}
		for _, row := range r.Rows {
			c.Rows = append(c.Rows, rowJSON{Bucket: aggregate.BucketName(row.Bucket), Quantile: row.Q, Truth: finite(row.Truth),
				M4: finite(row.Estimates[0]), Flowsim: finite(row.Estimates[1]), M4Err: finite(row.RelErr(0)), FlowsimErr: finite(row.RelErr(1))})
		}
		cases = append(cases, c)
	}
	b, err := json.MarshalIndent(map[string]any{"run": meta, "workloads": cases}, "", "  ")
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return atomicfile.WriteBytes(path, append(b, '\n'))
}

// WriteCSV writes the rows of eval.json as eval.csv (CSVHeader; a value
// that is not a number is left empty).
func WriteCSV(path string, rs []*CaseResult) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		fmt.Fprintln(bw, CSVHeader)
		num := func(b []byte, v float64) []byte {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return b
			}
			return strconv.AppendFloat(b, v, 'g', -1, 64)
		}
		var line []byte
		for _, r := range rs {
			for _, row := range r.Rows {
				line = append(line[:0], csvField(r.Case.Name)...)
				line = append(line, ',')
				line = append(line, csvField(r.CC)...)
				line = append(line, ',')
				line = strconv.AppendInt(line, int64(r.Flows), 10)
				line = append(line, ',')
				line = append(line, aggregate.BucketName(row.Bucket)...)
				for _, v := range []float64{row.Q, row.Truth, row.Estimates[0], row.Estimates[1], row.RelErr(0), row.RelErr(1)} {
					line = append(line, ',')
					line = num(line, v)
				}
				line = append(line, '\n')
				bw.Write(line)
			}
		}
		return bw.Flush()
	})
}

// csvField quotes s if it holds a comma, a quote or a line break.
func csvField(s string) string {
	for _, c := range s {
		if c == ',' || c == '"' || c == '\n' || c == '\r' {
			return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
		}
	}
	return s
}

// WritePerFlowTable prints, per workload whose per-flow errors were
// measured, the mean per-flow error of m4 and of flowsim.
func WritePerFlowTable(w io.Writer, rs []*CaseResult) {
	var m4, fs float64
	n := 0
	for _, r := range rs {
		if !r.PerFlow {
			continue
		}
		if n == 0 {
			fmt.Fprintln(w, "| workload | cc | flows | m4 per-flow err | flowsim per-flow err |")
			fmt.Fprintln(w, "|---|---|---|---|---|")
		}
		fmt.Fprintf(w, "| %s | %s | %d | %.1f%% | %.1f%% |\n", r.Case.Name, r.CC, r.Flows, 100*r.PerFlowErrM4, 100*r.PerFlowErrFlowsim)
		m4 += r.PerFlowErrM4
		fs += r.PerFlowErrFlowsim
		n++
	}
	if n > 0 {
		fmt.Fprintf(w, "| **mean of %d** | | | **%.1f%%** | **%.1f%%** |\n", n, 100*m4/float64(n), 100*fs/float64(n))
	}
}

// PlotErrorCDF draws, as Parsimon's and m3's evaluations show accuracy, the
// CDF over workloads and size buckets (all sizes included) of m4's and
// flowsim's |relative error|, in percent, of the p50, p90 and p99 slowdown:
// one panel per quantile, and one of every cell.
func PlotErrorCDF(path, title string, rs []*CaseResult) error {
	ests := []string{infer.M4, infer.Flowsim} // estimators 0 and 1 of the rows
	var panels []plot.Panel
	for _, q := range append(append([]float64(nil), Quantiles...), 0) {
		pn := plot.Panel{Title: fmt.Sprintf("p%g over workloads and buckets", q*100), XLabel: "|relative error| (%)"}
		if q == 0 {
			pn.Title = "every cell (p50, p90, p99)"
		}
		for k, e := range ests {
			var v []float64
			for _, r := range rs {
				for _, row := range r.Rows {
					if q == 0 || row.Q == q {
						v = append(v, 100*row.RelErr(k))
					}
				}
			}
			if len(v) == 0 {
				continue
			}
			sort.Float64s(v)
			y := make([]float64, len(v))
			for i := range v {
				y[i] = float64(i+1) / float64(len(v))
			}
			c, dashed := infer.Style(e)
			pn.Series = append(pn.Series, plot.Series{Name: e, X: v, Y: y, Color: c, Dashed: dashed})
		}
		panels = append(panels, pn)
	}
	return plot.CDFs(path, title, panels)
}
