package workload

import (
	"fmt"
	"testing"
)

// BenchmarkGenerate times generating the 6144-host fabric's workload
// (Meta cluster B matrix, WebServer sizes, lognormal arrivals), and
// Summarize (routing every flow to measure the offered loads).
func BenchmarkGenerate(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		s, err := ParseSpec("bench.yaml", fmt.Appendf(nil,
			"topology: {kind: fabric, pods: 8, fabs_per_pod: 4, racks_per_pod: 48, hosts_per_rack: 16}\n"+
				"sizes: {dist: webserver}\ntraffic: {matrix: cluster_b}\nmax_load: 0.5\nflows: %d\nseed: 1\n", n))
		if err != nil {
			b.Fatal(err)
		}
		var w *Workload
		b.Run(fmt.Sprintf("6144hosts/%.0e/generate", float64(n)), func(b *testing.B) {
			for b.Loop() {
				if w, err = Generate(s); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "flows/s")
		})
		b.Run(fmt.Sprintf("6144hosts/%.0e/summarize", float64(n)), func(b *testing.B) {
			for b.Loop() {
				w.Summarize()
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "flows/s")
		})
	}
}
