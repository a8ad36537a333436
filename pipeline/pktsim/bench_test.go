package pktsim

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/m4sim/m4/pipeline/cc"
)

// BenchmarkReference runs 3 reference scenarios of every path length per
// CC mode with their flows repeated 10x (m4 bench pktsim prints the same
// with more options), reporting flows/s and events/s.
func BenchmarkReference(b *testing.B) {
	ref := referenceDir(b)
	needNative(b)
	groups, err := ReferenceSample(filepath.Join(ref, "ns3-paths"), 1)
	if err != nil {
		b.Fatal(err)
	}
	for _, cc := range []int{1, 3, 7, 8} {
		b.Run(CCName(cc), func(b *testing.B) {
			var flows, events int
			var secs float64
			for i := 0; i < b.N; i++ {
				r, err := BenchShards("ref", groups[cc], 10, 1)
				if err != nil {
					b.Fatal(err)
				}
				flows += r.Flows
				events += int(r.Events)
				secs += r.Seconds
			}
			b.ReportMetric(float64(flows)/secs, "flows/s")
			b.ReportMetric(float64(events)/secs, "events/s")
		})
	}
}

// BenchmarkFabric runs 10^4 Poisson flows on the 256-host fabric cluster.
func BenchmarkFabric(b *testing.B) {
	needNative(b)
	topo, err := Fabric(BenchFabric)
	if err != nil {
		b.Fatal(err)
	}
	for _, load := range []float64{0.3, 0.7} {
		fl, err := PoissonWorkload(topo, 10000, load, 20000, Rate(BenchFabric.HostGbps*1e9), 1)
		if err != nil {
			b.Fatal(err)
		}
		for _, a := range cc.All() {
			b.Run(fmt.Sprintf("%s/load=%.1f", a, load), func(b *testing.B) {
				c, _ := TemplateConfig(a)
				c.EnablePFC = true
				var events int
				var secs float64
				for i := 0; i < b.N; i++ {
					r, err := Bench("fabric", c, topo, fl, 1)
					if err != nil {
						b.Fatal(err)
					}
					events += int(r.Events)
					secs += r.Seconds
				}
				b.ReportMetric(float64(b.N*fl.Len())/secs, "flows/s")
				b.ReportMetric(float64(events)/secs, "events/s")
			})
		}
	}
}
