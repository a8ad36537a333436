package infer

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"path/filepath"

	"github.com/m4sim/m4/pipeline/aggregate"
	"github.com/m4sim/m4/pipeline/atomicfile"
	"github.com/m4sim/m4/pipeline/plot"
)

// Named is an estimator's network-wide distribution with its label, and
// its bootstrap interval over the path sample (nil: none).
type Named struct {
	Name string
	Dist *aggregate.Distribution
	CI   *Interval
}

// bucketJSON is one bucket of one estimator in estimate.json.
type bucketJSON struct {
	Bucket      string    `json:"bucket"`
	Weight      float64   `json:"flows"`
	Percentiles []float64 `json:"slowdown_percentiles"`  // p1..p100
	Lo          []float64 `json:"slowdown_lo,omitempty"` // the interval's bounds, p1..p100
	Hi          []float64 `json:"slowdown_hi,omitempty"`
}

// WriteJSON writes every estimator's percentiles 1..100 per bucket (and for
// all sizes) to path, atomically, with meta as the "run" object.
func WriteJSON(path string, meta any, ests []Named) error {
	doc := map[string]any{"run": meta}
	est := map[string][]bucketJSON{}
	for _, e := range ests {
		var bs []bucketJSON
		for b := 0; b <= aggregate.NumBuckets; b++ {
			w := e.Dist.All
			if b < aggregate.NumBuckets {
				w = e.Dist.Weight[b]
			}
			if w == 0 {
				continue
			}
			bj := bucketJSON{Bucket: aggregate.BucketName(b), Weight: w}
			for k := 1; k <= aggregate.NumPercentiles; k++ {
				bj.Percentiles = append(bj.Percentiles, e.Dist.Quantile(b, float64(k)/100))
			}
			if e.CI != nil {
				bj.Lo, bj.Hi = e.CI.Lo[b][:], e.CI.Hi[b][:]
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

// Plot draws every estimator's CDF per bucket into path (.png or .svg).
func Plot(path, title string, ests []Named) error {
	var panels []plot.Panel
	for b := 0; b <= aggregate.NumBuckets; b++ {
		pn := plot.Panel{Title: "flows " + aggregate.BucketName(b)}
		for _, e := range ests {
			x, y := e.Dist.CDF(b)
			if len(x) > 0 {
				pn.Series = append(pn.Series, plot.Series{Name: e.Name, X: x, Y: y})
			}
		}
		if len(pn.Series) > 0 {
			panels = append(panels, pn)
		}
	}
	return plot.CDFs(path, title, panels)
}

// WriteTable prints p50/p90/p99 per bucket for each estimator, and when the
// first estimator is named "truth", each other's relative error against it.
func WriteTable(w io.Writer, ests []Named) {
	qs := []float64{0.5, 0.9, 0.99}
	fmt.Fprintf(w, "| size bucket | flows |")
	for _, e := range ests {
		fmt.Fprintf(w, " %s p50 | p90 | p99 |", e.Name)
	}
	truth := len(ests) > 1 && ests[0].Name == "truth"
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
		n := ests[0].Dist.All
		if b < aggregate.NumBuckets {
			n = ests[0].Dist.Weight[b]
		}
		if n == 0 {
			continue
		}
		fmt.Fprintf(w, "| %s | %.0f |", aggregate.BucketName(b), n)
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

// Files names the outputs of a run in dir.
func Files(dir string) (jsonPath, pngPath, svgPath string) {
	return filepath.Join(dir, "estimate.json"), filepath.Join(dir, "slowdown_cdf.png"), filepath.Join(dir, "slowdown_cdf.svg")
}
