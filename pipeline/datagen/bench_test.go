package datagen

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/m4sim/m4/bindings"
)

// BenchmarkDatagen makes scenarios of the default spec (3-, 5- and 7-host
// paths; one op = one traffic draw = 3 scenarios) on one worker: sampling,
// flowsim, the packet-level simulator (truth=pktsim) or none, feature maps,
// and the reference layout on disk. It reports shards per core-hour.
func BenchmarkDatagen(b *testing.B) {
	for _, c := range []struct {
		truth string
		fpp   int
	}{{"none", 300}, {"none", 3000}, {"pktsim", 300}} {
		b.Run(fmt.Sprintf("truth=%s/flows_per_pair=%d", c.truth, c.fpp), func(b *testing.B) {
			if !bindings.Native {
				b.Skip(bindings.ErrNoNative)
			}
			spec := DefaultSpec()
			spec.FlowsPerPair = c.fpp
			spec.Shards = ShardRange{First: 0, Count: b.N}
			var sim Simulator
			if c.truth == "pktsim" {
				sim = Pktsim{MaxWallSeconds: 600}
			}
			b.ResetTimer()
			t0 := time.Now()
			r, err := Run(context.Background(), &spec, Options{Out: b.TempDir(), Workers: 1, Sim: sim})
			if err != nil || len(r.Failed) > 0 || r.Done != spec.Scenarios() {
				b.Fatalf("%+v %v", r, err)
			}
			el := time.Since(t0)
			b.ReportMetric(float64(r.Done)/el.Hours(), "shards/core-hour")
			b.ReportMetric(float64(r.FlowsMade)/float64(r.Done), "flows/shard")
			b.ReportMetric(r.SimTime.Seconds()/r.BusyTime.Seconds(), "sim-share")
		})
	}
}
