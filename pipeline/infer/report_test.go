package infer

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/m4sim/m4/pipeline/aggregate"
	"github.com/m4sim/m4/pipeline/workload"
)

// bigEstimates are three estimators over n random paths, the last with a
// bootstrap interval.
func bigEstimates(t testing.TB, n int) []Named {
	r := rand.New(rand.NewPCG(1, 2))
	var ests []Named
	for e, name := range []string{Truth, M4, Flowsim} {
		paths := make([]aggregate.PathEstimate, n)
		for i := range paths {
			for b := range aggregate.NumBuckets {
				lo := 1 + r.ExpFloat64()*0.1*float64(e+1)
				for k := range paths[i].Percentiles[b] {
					paths[i].Percentiles[b][k] = lo * math.Exp(float64(k)/40*r.Float64())
				}
				paths[i].Weight[b] = float64(r.IntN(3))
			}
		}
		d, err := aggregate.Combine(paths)
		if err != nil {
			t.Fatal(err)
		}
		ests = append(ests, Named{Name: name, Dist: d})
	}
	ci := &Interval{Level: 0.9}
	c, _ := Percentiles(ests[2].Dist)
	for b := range c {
		for k := range c[b] {
			ci.Lo[b][k], ci.Hi[b][k] = c[b][k]*0.9, c[b][k]*1.1
		}
	}
	ests[2].CI = ci
	return ests
}

// The SVG stays under 300 KB however many paths (and CDF points) there are.
func TestPlotSVGSizeBound(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []int{10, 5000} {
		ests := bigEstimates(t, n)
		p := filepath.Join(dir, "cdf.svg")
		start := time.Now()
		if err := Plot("a title", ests, p); err != nil {
			t.Fatal(err)
		}
		el := time.Since(start)
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%d paths (%d CDF values per bucket): SVG %d KB in %v", n, 100*n, st.Size()/1024, el)
		if st.Size() > 300<<10 {
			t.Errorf("%d paths: SVG of %d KB, over 300 KB", n, st.Size()/1024)
		}
		b, _ := os.ReadFile(p)
		if !strings.Contains(string(b), "a title") {
			t.Error("the SVG lacks its title")
		}
		// each estimator in its own colour, whichever come first
		for name, st := range styles {
			r, g, bl, _ := st.color.RGBA()
			hex := fmt.Sprintf("stroke:#%02X%02X%02X;stroke-width:1.6", r>>8, g>>8, bl>>8)
			if !strings.Contains(string(b), hex) {
				t.Errorf("%s's colour %s is not in the SVG", name, hex)
			}
		}
	}
}

func BenchmarkPlot(b *testing.B) {
	ests := bigEstimates(b, 5000)
	dir := b.TempDir()
	for _, files := range [][]string{{"cdf.png"}, {"cdf.svg"}, {"cdf.png", "cdf.svg"}} {
		b.Run(strings.Join(files, "+"), func(b *testing.B) {
			var paths []string
			for _, f := range files {
				paths = append(paths, filepath.Join(dir, f))
			}
			for b.Loop() {
				if err := Plot("title", ests, paths...); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// estimate.csv: the header, one row per bucket, estimator and percentile
// in that order, the interval only where the estimator has one; estimate.json
// holds the same cells and the true counts.
func TestWriteCSVAndJSON(t *testing.T) {
	ests := bigEstimates(t, 50)
	counts := [aggregate.NumBuckets + 1]int{0, 5, 6, 7, 18} // no flows below 1 KB
	dir := t.TempDir()
	csvPath, jsonPath := filepath.Join(dir, FileEstimateCSV), filepath.Join(dir, FileEstimateJSON)
	if err := WriteCSV(csvPath, ests, counts); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(jsonPath, map[string]any{"x": 1}, ests, counts); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(csvPath)
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if lines[0] != "bucket,estimator,percentile,slowdown,slowdown_lo,slowdown_hi" {
		t.Fatalf("header %q", lines[0])
	}
	if want := 1 + 4*3*100; len(lines) != want {
		t.Fatalf("%d lines, want %d (4 buckets with flows x 3 estimators x 100)", len(lines), want)
	}
	var doc struct {
		Estimates map[string][]struct {
			Bucket      string    `json:"bucket"`
			Flows       int       `json:"flows"`
			Percentiles []float64 `json:"slowdown_percentiles"`
			Lo          []float64 `json:"slowdown_lo"`
		} `json:"estimates"`
	}
	jb, _ := os.ReadFile(jsonPath)
	if err := json.Unmarshal(jb, &doc); err != nil {
		t.Fatal(err)
	}
	i := 1
	for b := 1; b <= aggregate.NumBuckets; b++ {
		for e, est := range ests {
			js := doc.Estimates[est.Name][b-1]
			if js.Bucket != aggregate.BucketName(b) || js.Flows != counts[b] {
				t.Fatalf("estimate.json %s bucket %d: %s with %d flows", est.Name, b, js.Bucket, js.Flows)
			}
			for k := 1; k <= 100; k++ {
				f := strings.Split(lines[i], ",")
				i++
				if f[0] != aggregate.BucketName(b) || f[1] != est.Name || f[2] != strconv.Itoa(k) {
					t.Fatalf("line %d: %q, want bucket %s, %s, p%d", i, lines[i-1], aggregate.BucketName(b), est.Name, k)
				}
				v, _ := strconv.ParseFloat(f[3], 64)
				if v != est.Dist.Quantile(b, float64(k)/100) || v != js.Percentiles[k-1] {
					t.Fatalf("line %d: slowdown %v, quantile %v, JSON %v", i, v, est.Dist.Quantile(b, float64(k)/100), js.Percentiles[k-1])
				}
				if hasCI := e == 2; hasCI != (f[4] != "" && f[5] != "") || hasCI != (len(js.Lo) == 100) {
					t.Fatalf("line %d: interval %q..%q, JSON %d values; want one: %v", i, f[4], f[5], len(js.Lo), hasCI)
				}
			}
		}
	}
}

// flows.csv: the header, one row per flow in the workload's order with the
// input's ids, FCTs as slowdown x ideal.
func TestWriteFlowsCSV(t *testing.T) {
	f := &workload.Flows{Src: []int32{0, 3, 5}, Dst: []int32{1, 0, 2}, Size: []int64{100, 20000, 3}, StartNs: []int64{10, 20, 20}}
	tab := &FlowTable{ID: []uint32{7, 3, 9}, Flows: f, IdealNs: []int64{1000, 20000, 999},
		PerFlow: &PerFlow{Flowsim: []float64{1, 1.5, 2.0005}, Model: []float64{1.25, 0.9, 3}}}
	dir := t.TempDir()
	p := filepath.Join(dir, FileFlowsCSV)
	if err := WriteFlowsCSV(p, tab); err != nil {
		t.Fatal(err)
	}
	want := "flow_id,src,dst,size_bytes,start_ns,ideal_fct_ns,flowsim_fct_ns,m4_fct_ns\n" +
		"7,0,1,100,10,1000,1000,1250\n" +
		"3,3,0,20000,20,20000,30000,20000\n" + // a slowdown below 1 is 1
		"9,5,2,3,20,999,1998,2997\n"
	if b, _ := os.ReadFile(p); string(b) != want {
		t.Errorf("flows.csv:\n%s\nwant\n%s", b, want)
	}
	tab.ID, tab.TruthNs = nil, []int64{1100, -1, 5000}
	if err := WriteFlowsCSV(p, tab); err != nil {
		t.Fatal(err)
	}
	want = "flow_id,src,dst,size_bytes,start_ns,ideal_fct_ns,flowsim_fct_ns,m4_fct_ns,truth_fct_ns\n" +
		"0,0,1,100,10,1000,1000,1250,1100\n" +
		"1,3,0,20000,20,20000,30000,20000,\n" + // unfinished: empty
		"2,5,2,3,20,999,1998,2997,5000\n"
	if b, _ := os.ReadFile(p); string(b) != want {
		t.Errorf("flows.csv with truth:\n%s\nwant\n%s", b, want)
	}
	tab.IdealNs = tab.IdealNs[:2]
	if err := WriteFlowsCSV(p, tab); err == nil {
		t.Error("columns of different lengths accepted")
	}
}

// WriteIntervals prints the p99 interval of each estimator that has one,
// per bucket with flows, and what it covers; nothing without intervals.
func TestWriteIntervals(t *testing.T) {
	ests := bigEstimates(t, 50)
	counts := [aggregate.NumBuckets + 1]int{3, 0, 2, 1, 6}
	var b strings.Builder
	WriteIntervals(&b, ests, counts)
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "flowsim p99, 90% interval over the path sample: <1KB ") ||
		strings.Contains(lines[0], "1KB-10KB") || !strings.Contains(lines[1], "not the model's own error") {
		t.Fatalf("output:\n%s", b.String())
	}
	c, _ := Percentiles(ests[2].Dist)
	if want := fmt.Sprintf("all %.3f-%.3f", c[aggregate.NumBuckets][98]*0.9, c[aggregate.NumBuckets][98]*1.1); !strings.HasSuffix(lines[0], want) {
		t.Errorf("line %q, want it to end %q", lines[0], want)
	}
	b.Reset()
	WriteIntervals(&b, ests[:2], counts)
	if b.Len() != 0 {
		t.Errorf("no interval, yet: %q", b.String())
	}
}
