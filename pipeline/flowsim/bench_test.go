package flowsim

import (
	"fmt"
	"testing"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/pipeline/scenario"
)

// BenchmarkFlowsim runs flowsim on generated 3-host paths at load 0.6 with
// 1e4, 1e5 and 1e6 flows, reporting flows/s and ns per event. Cost per flow
// should stay flat as flows grow (no quadratic term).
func BenchmarkFlowsim(b *testing.B) {
	if !bindings.Native {
		b.Skip(bindings.ErrNoNative)
	}
	for _, n := range []int{1e4, 1e5, 1e6} {
		for _, h := range []int{3, 7} {
			b.Run(fmt.Sprintf("hosts%d/%.0e", h, float64(n)), func(b *testing.B) {
				p, err := scenario.Generate(BenchSpec(h, n, 0.6))
				if err != nil {
					b.Fatal(err)
				}
				var events uint64
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					res, err := Run(p)
					if err != nil {
						b.Fatal(err)
					}
					events = res.Stats.Events
				}
				sec := b.Elapsed().Seconds() / float64(b.N)
				b.ReportMetric(float64(n)/sec, "flows/s")
				b.ReportMetric(sec*1e9/float64(events), "ns/event")
			})
		}
	}
}
