package features

import (
	"fmt"
	"testing"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/pipeline/flowsim"
	"github.com/m4sim/m4/pipeline/scenario"
)

// BenchmarkBuildInput times the input feature map of generated paths (flowsim
// run once outside the timer): slowdowns, bucketing, sorting, percentiles.
func BenchmarkBuildInput(b *testing.B) {
	if !bindings.Native {
		b.Skip(bindings.ErrNoNative)
	}
	for _, c := range []struct{ hosts, flows int }{{3, 10000}, {7, 10000}, {7, 100000}} {
		b.Run(fmt.Sprintf("hosts=%d/flows=%d", c.hosts, c.flows), func(b *testing.B) {
			p, err := scenario.Generate(scenario.GenSpec{Hosts: c.hosts, Flows: c.flows, Load: 0.6, MeanBytes: 20000, Seed: 1})
			if err != nil {
				b.Fatal(err)
			}
			res, err := flowsim.Run(p)
			if err != nil {
				b.Fatal(err)
			}
			var params [NumParams]float64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := BuildInput(p, res.FCTNs, params); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(c.flows)*float64(b.N)/b.Elapsed().Seconds(), "flows/s")
		})
	}
}
