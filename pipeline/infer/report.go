package infer

import (
	"bufio"
	"encoding/json"
	"fmt"
	"image/color"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/m4sim/m4/pipeline/aggregate"
	"github.com/m4sim/m4/pipeline/atomicfile"
	"github.com/m4sim/m4/pipeline/plot"
	"github.com/m4sim/m4/pipeline/workload"
)

// The estimators a run reports, by name.
const (
	Truth   = "truth"   // the packet-level ground truth
	M4      = "m4"      // flowsim corrected by the model
	Flowsim = "flowsim" // flowsim alone
)

// Files of a run's output folder (the whole set; flows.csv only with
// per-flow estimates).
const (
	FileEstimateJSON = "estimate.json"
	FileEstimateCSV  = "estimate.csv"
	FileFlowsCSV     = "flows.csv"
	FilePlotPNG      = "slowdown_cdf.png"
	FilePlotSVG      = "slowdown_cdf.svg"
)

// OutputFiles lists every file a run may write into its output folder.
var OutputFiles = []string{FileEstimateJSON, FileEstimateCSV, FileFlowsCSV, FilePlotPNG, FilePlotSVG}

// Named is an estimator's network-wide distribution with its label, and
// its bootstrap interval over the path sample (nil: none).
type Named struct {
	Name string
	Dist *aggregate.Distribution
	CI   *Interval
}

// interval returns e's interval bounds for bucket b, p1..p100, if it has
// finite ones.
func (e *Named) interval(b int) (lo, hi []float64, ok bool) {
	if e.CI == nil {
		return nil, nil, false
	}
	for k := range e.CI.Lo[b] {
		if math.IsNaN(e.CI.Lo[b][k]) || math.IsNaN(e.CI.Hi[b][k]) || math.IsInf(e.CI.Lo[b][k], 0) || math.IsInf(e.CI.Hi[b][k], 0) {
			return nil, nil, false
		}
	}
	return e.CI.Lo[b][:], e.CI.Hi[b][:], true
}

// WriteIntervals prints, for each estimator with an interval, its p99's
// interval per bucket (the level as CI.Level says), and what the interval
// covers: which paths were drawn, not the model's own error. Nothing for
// estimators without one (every path estimated, or --bootstrap 0).
func WriteIntervals(w io.Writer, ests []Named, counts [aggregate.NumBuckets + 1]int) {
	printed := false
	for i := range ests {
		e := &ests[i]
		if e.CI == nil {
			continue
		}
		var parts []string
		for b := 0; b <= aggregate.NumBuckets; b++ {
			lo, hi, ok := e.interval(b)
			if counts[b] == 0 || !ok {
				continue
			}
			parts = append(parts, fmt.Sprintf("%s %.3f-%.3f", aggregate.BucketName(b), lo[98], hi[98]))
		}
		if len(parts) == 0 {
			continue
		}
		fmt.Fprintf(w, "%s p99, %.0f%% interval over the path sample: %s\n", e.Name, 100*e.CI.Level, strings.Join(parts, ", "))
		printed = true
	}
	if printed {
		fmt.Fprintln(w, "(intervals cover which paths were drawn, not the model's own error (below where m4 knows it); estimate.csv has every percentile's)")
	}
}

// Cells are slowdown percentiles 1..100 per output bucket, all sizes last.
type Cells [aggregate.NumBuckets + 1][aggregate.NumPercentiles]float64

// Percentiles reads percentiles 1..100 of every bucket off d; has[b] is
// false for a bucket d has no weight in (its cells are NaN).
func Percentiles(d *aggregate.Distribution) (c Cells, has [aggregate.NumBuckets + 1]bool) {
	for b := range c {
		w := d.All
		if b < aggregate.NumBuckets {
			w = d.Weight[b]
		}
		has[b] = w > 0
		for k := range c[b] {
			c[b][k] = math.NaN()
			if has[b] {
				c[b][k] = d.Quantile(b, float64(k+1)/aggregate.NumPercentiles)
			}
		}
	}
	return c, has
}

// bucketJSON is one bucket of one estimator in estimate.json.
type bucketJSON struct {
	Bucket      string    `json:"bucket"`
	Flows       int       `json:"flows"`                 // the workload's flows in the bucket
	Percentiles []float64 `json:"slowdown_percentiles"`  // p1..p100
	Lo          []float64 `json:"slowdown_lo,omitempty"` // the interval's bounds, p1..p100
	Hi          []float64 `json:"slowdown_hi,omitempty"`
}

// WriteJSON writes every estimator's percentiles 1..100 per bucket (and for
// all sizes) to path, with meta as the "run" object; counts are the
// workload's flows per bucket (BucketCounts). A bucket without flows, or
// without weight in an estimator's distribution, is left out.
func WriteJSON(path string, meta any, ests []Named, counts [aggregate.NumBuckets + 1]int) error {
	doc := map[string]any{"run": meta}
	est := map[string][]bucketJSON{}
	for _, e := range ests {
		c, has := Percentiles(e.Dist)
		bs := []bucketJSON{}
		for b := range c {
			if counts[b] == 0 || !has[b] {
				continue
			}
			bj := bucketJSON{Bucket: aggregate.BucketName(b), Flows: counts[b], Percentiles: c[b][:]}
			if lo, hi, ok := e.interval(b); ok {
				bj.Lo, bj.Hi = lo, hi
			}
			bs = append(bs, bj)
		}
		est[e.Name] = bs
	}
	doc["estimates"] = est
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return atomicfile.WriteBytes(path, append(b, '\n'))
}

// EstimateCSVHeader is estimate.csv's first line.
const EstimateCSVHeader = "bucket,estimator,percentile,slowdown,slowdown_lo,slowdown_hi"

// WriteCSV writes the cells of estimate.json as rows of estimate.csv: per
// bucket (all sizes last), estimator and percentile 1..100, the slowdown
// and its interval (empty where the estimator has none). Buckets are left
// out as in WriteJSON.
func WriteCSV(path string, ests []Named, counts [aggregate.NumBuckets + 1]int) error {
	cells := make([]Cells, len(ests))
	has := make([][aggregate.NumBuckets + 1]bool, len(ests))
	for i, e := range ests {
		cells[i], has[i] = Percentiles(e.Dist)
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		fmt.Fprintln(bw, EstimateCSVHeader)
		var line []byte
		for b := 0; b <= aggregate.NumBuckets; b++ {
			for i, e := range ests {
				if counts[b] == 0 || !has[i][b] {
					continue
				}
				lo, hi, ok := e.interval(b)
				for k := range aggregate.NumPercentiles {
					line = append(line[:0], aggregate.BucketName(b)...)
					line = append(line, ',')
					line = append(line, e.Name...)
					line = append(line, ',')
					line = strconv.AppendInt(line, int64(k+1), 10)
					line = append(line, ',')
					line = strconv.AppendFloat(line, cells[i][b][k], 'g', -1, 64)
					line = append(line, ',')
					if ok {
						line = strconv.AppendFloat(line, lo[k], 'g', -1, 64)
						line = append(line, ',')
						line = strconv.AppendFloat(line, hi[k], 'g', -1, 64)
					} else {
						line = append(line, ',')
					}
					line = append(line, '\n')
					bw.Write(line)
				}
			}
		}
		return bw.Flush()
	})
}

// FlowsCSVHeader is flows.csv's first line; TruthColumn is added with
// ground truth.
const (
	FlowsCSVHeader = "flow_id,src,dst,size_bytes,start_ns,ideal_fct_ns,flowsim_fct_ns,m4_fct_ns"
	TruthColumn    = "truth_fct_ns"
)

// FlowTable is what flows.csv holds, one row per workload flow.
type FlowTable struct {
	ID      []uint32 // the input's flow ids (nil: 0, 1, ...)
	Flows   *workload.Flows
	IdealNs []int64 // the fork's ideal FCT of each flow
	PerFlow *PerFlow
	TruthNs []int64 // packet-level FCTs (nil: no truth column)
}

// FCTOf is the absolute FCT (ns) of a slowdown: max(slowdown, 1) x ideal,
// rounded.
func FCTOf(slowdown float64, idealNs int64) int64 {
	return int64(math.Round(math.Max(slowdown, 1) * float64(idealNs)))
}

// FCTsOf is FCTOf of every flow's slowdown and ideal FCT.
func FCTsOf(slowdown []float64, idealNs []int64) []int64 {
	out := make([]int64, len(slowdown))
	for i, s := range slowdown {
		out[i] = FCTOf(s, idealNs[i])
	}
	return out
}

// WriteFlowsCSV writes flows.csv: per flow, in the workload's order, its id,
// hosts, size, start, ideal FCT and each estimator's FCT (FCTOf its
// slowdown), all in ns.
func WriteFlowsCSV(path string, t *FlowTable) error {
	f := t.Flows
	n := f.Len()
	if len(t.IdealNs) != n || len(t.PerFlow.Flowsim) != n || len(t.PerFlow.Model) != n ||
		(t.ID != nil && len(t.ID) != n) || (t.TruthNs != nil && len(t.TruthNs) != n) {
		return fmt.Errorf("%s: columns of different lengths for %d flows", path, n)
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<20)
		bw.WriteString(FlowsCSVHeader)
		if t.TruthNs != nil {
			bw.WriteString("," + TruthColumn)
		}
		bw.WriteByte('\n')
		var line []byte
		for i := range n {
			id := uint64(i)
			if t.ID != nil {
				id = uint64(t.ID[i])
			}
			line = strconv.AppendUint(line[:0], id, 10)
			for _, v := range []int64{int64(f.Src[i]), int64(f.Dst[i]), f.Size[i], f.StartNs[i], t.IdealNs[i],
				FCTOf(t.PerFlow.Flowsim[i], t.IdealNs[i]), FCTOf(t.PerFlow.Model[i], t.IdealNs[i])} {
				line = append(line, ',')
				line = strconv.AppendInt(line, v, 10)
			}
			if t.TruthNs != nil {
				line = append(line, ',')
				if t.TruthNs[i] >= 0 {
					line = strconv.AppendInt(line, t.TruthNs[i], 10)
				}
			}
			line = append(line, '\n')
			if _, err := bw.Write(line); err != nil {
				return err
			}
		}
		return bw.Flush()
	})
}

// Styles: each estimator keeps its colour (and dashes) in every plot.
var styles = map[string]struct {
	color  color.Color
	dashed bool
}{
	Truth:   {color.RGBA{A: 0xff}, false},                            // black
	M4:      {color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}, false}, // blue
	Flowsim: {color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}, true},  // orange
}

// Style returns estimator name's colour and whether it is dashed: the same
// in every plot m4 draws.
func Style(name string) (color.Color, bool) {
	st := styles[name]
	return st.color, st.dashed
}

// plotPoints bounds the points drawn per curve (the CDFs are thinned to
// it), which bounds the SVG's size whatever the number of paths.
const plotPoints = 300

// Plot draws every estimator's CDF per bucket, each estimator in its own
// colour, into each of paths (.png or .svg).
func Plot(title string, ests []Named, paths ...string) error {
	var panels []plot.Panel
	for b := 0; b <= aggregate.NumBuckets; b++ {
		pn := plot.Panel{Title: "flows " + aggregate.BucketName(b)}
		for _, e := range ests {
			x, y := e.Dist.CDF(b, plotPoints)
			if len(x) > 0 {
				st := styles[e.Name]
				pn.Series = append(pn.Series, plot.Series{Name: e.Name, X: x, Y: y, Color: st.color, Dashed: st.dashed})
			}
		}
		if len(pn.Series) > 0 {
			panels = append(panels, pn)
		}
	}
	for _, p := range paths {
		if err := plot.CDFs(p, title, panels); err != nil {
			return err
		}
	}
	return nil
}

// WriteTable prints p50/p90/p99 per bucket for each estimator, with the
// workload's flow counts, and when the first estimator is named "truth",
// each other's relative error against it.
func WriteTable(w io.Writer, ests []Named, counts [aggregate.NumBuckets + 1]int) {
	qs := []float64{0.5, 0.9, 0.99}
	fmt.Fprintf(w, "| size bucket | flows |")
	for _, e := range ests {
		fmt.Fprintf(w, " %s p50 | p90 | p99 |", e.Name)
	}
	truth := len(ests) > 1 && ests[0].Name == Truth
	if truth {
		for _, e := range ests[1:] {
			fmt.Fprintf(w, " %s err p50 | p90 | p99 |", e.Name)
		}
	}
	fmt.Fprintln(w)
	cols := 2 + 3*len(ests)
	if truth {
		cols += 3 * (len(ests) - 1)
	}
	for range cols {
		fmt.Fprint(w, "|---")
	}
	fmt.Fprintln(w, "|")
	for b := 0; b <= aggregate.NumBuckets; b++ {
		if counts[b] == 0 {
			continue
		}
		fmt.Fprintf(w, "| %s | %d |", aggregate.BucketName(b), counts[b])
		for _, e := range ests {
			for _, q := range qs {
				fmt.Fprintf(w, " %.3f |", e.Dist.Quantile(b, q))
			}
		}
		if truth {
			for _, e := range ests[1:] {
				for _, q := range qs {
					t := ests[0].Dist.Quantile(b, q)
					fmt.Fprintf(w, " %.1f%% |", 100*math.Abs(e.Dist.Quantile(b, q)/t-1))
				}
			}
		}
		fmt.Fprintln(w)
	}
}
