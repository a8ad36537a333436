package train

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/m4sim/m4/pipeline/dataset"
	"github.com/m4sim/m4/pipeline/features"
)

// TestPoolByFlows: network paths pool by flows within their bin of
// foreground flows, and each pooled quantile is read off the weighted
// mixture; parking lots stay out.
func TestPoolByFlows(t *testing.T) {
	fill := func(v [4]float32) []float32 { // every percentile of bucket b is v[b]
		out := make([]float32, features.OutputLen)
		for i := range out {
			out[i] = v[i/100]
		}
		return out
	}
	type path struct {
		s                *dataset.Sample
		truth, est, flow [4]float32
	}
	paths := []path{
		{&dataset.Sample{Network: true, Foreground: 1, BucketFlows: [4]int{1, 0, 0, 0}}, [4]float32{2}, [4]float32{2}, [4]float32{1}},
		{&dataset.Sample{Network: true, Foreground: 3, BucketFlows: [4]int{1, 2, 0, 0}}, [4]float32{3, 4}, [4]float32{3.3, 2}, [4]float32{3, 4}},
		{&dataset.Sample{Network: true, Foreground: 2, BucketFlows: [4]int{0, 2, 0, 0}}, [4]float32{0, 8}, [4]float32{0, 8}, [4]float32{0, 8}},
		{&dataset.Sample{Foreground: 300, BucketFlows: [4]int{100, 100, 100, 0}}, [4]float32{9, 9, 9}, [4]float32{1, 1, 1}, [4]float32{1, 1, 1}},
		{&dataset.Sample{Network: true, Foreground: 12, BucketFlows: [4]int{12, 0, 0, 0}}, [4]float32{5}, [4]float32{4}, [4]float32{5}},
	}
	var samples []*dataset.Sample
	var est, fe [][]float32
	for _, p := range paths {
		p.s.Target = fill(p.truth)
		samples, est, fe = append(samples, p.s), append(est, fill(p.est)), append(fe, fill(p.flow))
	}
	rows, err := poolByFlows(samples, est, fe)
	if err != nil {
		t.Fatal(err)
	}
	nan := math.NaN()
	want := []PooledRow{
		{Lo: 1, Hi: 1, Paths: 1, Flows: 1,
			Model:   [4][3]float64{{0, 0, 0}, {nan, nan, nan}, {nan, nan, nan}, {nan, nan, nan}},
			Flowsim: [4][3]float64{{-0.5, -0.5, -0.5}, {nan, nan, nan}, {nan, nan, nan}, {nan, nan, nan}}},
		// bucket 1 pools 4 and 8 (two flows each): truth p50 4, p90 8; the
		// model's 2 and 8
		{Lo: 2, Hi: 3, Paths: 2, Flows: 5,
			Model:   [4][3]float64{{0.1, 0.1, 0.1}, {-0.5, 0, 0}, {nan, nan, nan}, {nan, nan, nan}},
			Flowsim: [4][3]float64{{0, 0, 0}, {0, 0, 0}, {nan, nan, nan}, {nan, nan, nan}}},
		{Lo: 10, Hi: 0, Paths: 1, Flows: 12,
			Model:   [4][3]float64{{-0.2, -0.2, -0.2}, {nan, nan, nan}, {nan, nan, nan}, {nan, nan, nan}},
			Flowsim: [4][3]float64{{0, 0, 0}, {nan, nan, nan}, {nan, nan, nan}, {nan, nan, nan}}},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d: %+v", len(rows), len(want), rows)
	}
	same := func(a, b float64) bool { return math.IsNaN(a) && math.IsNaN(b) || math.Abs(a-b) < 1e-6 }
	for i, w := range want {
		g := rows[i]
		if g.Lo != w.Lo || g.Hi != w.Hi || g.Paths != w.Paths || g.Flows != w.Flows {
			t.Errorf("row %d: %d-%d, %d paths, %d flows; want %d-%d, %d, %d", i, g.Lo, g.Hi, g.Paths, g.Flows, w.Lo, w.Hi, w.Paths, w.Flows)
		}
		for b := range w.Model {
			for j := range w.Model[b] {
				if !same(g.Model[b][j], w.Model[b][j]) || !same(g.Flowsim[b][j], w.Flowsim[b][j]) {
					t.Errorf("row %d bucket %d q%g: model %g flowsim %g, want %g %g", i, b, PooledQuantiles[j],
						g.Model[b][j], g.Flowsim[b][j], w.Model[b][j], w.Flowsim[b][j])
				}
			}
		}
	}
	var buf bytes.Buffer
	(&Report{ByFlows: rows}).WriteMarkdown(&buf)
	for _, line := range []string{
		"| 2-3 | 2 | 5 | model | +10.0 / +10.0 / +10.0% | -50.0 / +0.0 / +0.0% | - | - |",
		"| >= 10 | 1 | 12 | model | -20.0 / -20.0 / -20.0% | - | - | - |",
		"| 1 | 1 | 1 | flowsim | -50.0 / -50.0 / -50.0% | - | - | - |",
	} {
		if !strings.Contains(buf.String(), line) {
			t.Errorf("markdown lacks %q:\n%s", line, buf.String())
		}
	}
}
