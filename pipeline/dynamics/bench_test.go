//go:build cgo

package dynamics

import (
	"fmt"
	"testing"

	"github.com/m4sim/m4/bindings"
)

// benchTrace is a fluid trace of 400 flows among 16 hosts at 10 Gbit/s
// (about 20 flows active at a time).
func benchTrace(b *testing.B) *bindings.DynTrace {
	tr, err := Fluid(star(21, 400, 16, 10, 1500))
	if err != nil {
		b.Fatal(err)
	}
	return tr
}

// meanActive is the mean number of flows active after an event.
func meanActive(tr *bindings.DynTrace) float64 {
	return float64(len(tr.EvActiveFlow)) / float64(len(tr.EvTimeNs))
}

// BenchmarkTrainEvents times forward + backward + AdamW over the first 256
// events of benchTrace, per event: the paper's size, the shipped one on 1
// and 2 threads, a small one.
func BenchmarkTrainEvents(b *testing.B) {
	tr := benchTrace(b)
	for _, c := range []struct {
		name    string
		cfg     bindings.DynConfig
		threads int
	}{{"default", bindings.DefaultDynConfig(), 1}, {"shipped", shipped(), 1}, {"shipped-2threads", shipped(), 2},
		{"small", small(), 1}} {
		b.Run(c.name, func(b *testing.B) {
			d, err := bindings.NewDyn(c.cfg, true)
			if err != nil {
				b.Fatal(err)
			}
			defer d.Close()
			if err := d.SetThreads(c.threads); err != nil {
				b.Fatal(err)
			}
			const win = 256
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := d.Forward(tr, 0, win); err != nil {
					b.Fatal(err)
				}
				if err := d.Backward(); err != nil {
					b.Fatal(err)
				}
				if err := d.AdamW(1e-4, 0.9, 0.999, 1e-8, 0, i+1); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*win), "ns/event")
			b.ReportMetric(meanActive(tr), "active")
		})
	}
}

// shipped is the shape of ckpts/dynamics.safetensors (its prior aside).
func shipped() bindings.DynConfig {
	c := bindings.DefaultDynConfig()
	c.Hidden, c.GNNWidth, c.MLPHidden = 64, 96, 64
	return c
}

// BenchmarkRun times the event loop over benchTrace's workload (2 events
// per flow), per flow: the paper's size, the shipped one on 1 and 2
// threads (an event's rows shared out), a small one.
func BenchmarkRun(b *testing.B) {
	tr := benchTrace(b)
	for _, c := range []struct {
		name    string
		cfg     bindings.DynConfig
		threads int
	}{{"default", bindings.DefaultDynConfig(), 1}, {"shipped", shipped(), 1}, {"shipped-2threads", shipped(), 2},
		{"small", small(), 1}} {
		b.Run(c.name, func(b *testing.B) {
			d, err := bindings.NewDyn(c.cfg, false)
			if err != nil {
				b.Fatal(err)
			}
			defer d.Close()
			if err := d.SetThreads(c.threads); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := d.Run(&tr.DynWorkload); err != nil {
					b.Fatal(err)
				}
			}
			n := len(tr.FlowSize)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/flow")
			b.ReportMetric(float64(n), "flows")
		})
	}
}

func ExampleFluid() {
	w := &bindings.DynWorkload{FlowSize: []int64{10000, 10000}, FlowStartNs: []int64{0, 0},
		FlowRoutePtr: []int64{0, 1, 2}, FlowRoute: []int32{0, 0}, LinkGbps: []float64{10}, LinkDelayNs: []int64{1000}}
	tr, _ := Fluid(w)
	// two flows share one link: each takes twice its time alone
	fmt.Println(tr.FlowIdealNs, tr.FlowFCTNs)
	// Output: [9384 9384] [17768 17768]
}
