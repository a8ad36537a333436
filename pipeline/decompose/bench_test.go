package decompose

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/m4sim/m4/pipeline/workload"
)

// benchWorkload is the 6144-host fabric (8 pods x 4 fabs x 48 racks x 16
// hosts, 1:1) with Meta cluster B's rack matrix, WebServer sizes and
// lognormal(sigma 1) arrivals at 50% max load.
func benchWorkload(b *testing.B, flows int) *workload.Workload {
	b.Helper()
	s, err := workload.ParseSpec("bench.yaml", fmt.Appendf(nil,
		"topology: {kind: fabric, pods: 8, fabs_per_pod: 4, racks_per_pod: 48, hosts_per_rack: 16}\n"+
			"sizes: {dist: webserver}\ntraffic: {matrix: cluster_b}\nmax_load: 0.5\nflows: %d\nseed: 1\n", flows))
	if err != nil {
		b.Fatal(err)
	}
	w, err := workload.Generate(s)
	if err != nil {
		b.Fatal(err)
	}
	return w
}

// BenchmarkNew times the decomposition index (routing every flow on its
// ns-3 ECMP path, grouping by path and by channel).
func BenchmarkNew(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		w := benchWorkload(b, n)
		b.Run(fmt.Sprintf("6144hosts/%.0e", float64(n)), func(b *testing.B) {
			var d *Decomposition
			for b.Loop() {
				var err error
				if d, err = New(w.Routing, &w.Flows); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "flows/s")
			b.ReportMetric(float64(d.NumPaths()), "paths")
		})
	}
}

// BenchmarkScenario times building the parking lots of 500 paths sampled
// as m3 samples them, on the 10^6-flow workload.
func BenchmarkScenario(b *testing.B) {
	w := benchWorkload(b, 1_000_000)
	d, err := New(w.Routing, &w.Flows)
	if err != nil {
		b.Fatal(err)
	}
	paths, _ := d.Sample(500, rand.New(rand.NewPCG(1, 1)))
	b.Run("6144hosts/1e6/500paths", func(b *testing.B) {
		flows := 0
		for b.Loop() {
			flows = 0
			for _, p := range paths {
				s, err := d.Scenario(p)
				if err != nil {
					b.Fatal(err)
				}
				flows += s.Len()
			}
		}
		b.ReportMetric(float64(flows)/float64(len(paths)), "flows/scenario")
		b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)/float64(len(paths))*1e6, "us/scenario")
	})
}
