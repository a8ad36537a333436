package truth

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/pipeline/features"
	"github.com/m4sim/m4/pipeline/workload"
)

// BenchmarkDynamicsTrace: the packet-level run of a whole workload with the
// dynamics trace off and on (pktsim's m4_pktsim_set_trace; docs/perf.md),
// on the dynamics family's smallest cluster (32 hosts, 2000 flows) and the
// 256-host one (4000 flows), DCTCP at 60% load. Reports the trace's events
// and its bytes per event in memory (= in dynamics.npz, less the flows'
// and links' arrays and the zip's headers), and the process's CPU time per
// run (cpu-ms/op: on a shared machine, steadier than the wall time).
func BenchmarkDynamicsTrace(b *testing.B) {
	if !bindings.Native {
		b.Skip(bindings.ErrNoNative)
	}
	for _, c := range []struct {
		name, topo string
		flows      int
	}{
		{"32hosts", "{kind: fabric, pods: 2, fabs_per_pod: 2, racks_per_pod: 16, hosts_per_rack: 1, oversubscription: 2}", 2000},
		{"256hosts", "{kind: fabric, pods: 2, fabs_per_pod: 2, racks_per_pod: 16, hosts_per_rack: 8, oversubscription: 2}", 4000},
	} {
		s, err := workload.ParseSpec("bench.yaml", []byte(fmt.Sprintf(`
topology: %s
sizes: {dist: webserver}
traffic: {matrix: cluster_b}
max_load: 0.6
flows: %d
seed: 7
cc: {algorithm: dctcp, window_bytes: 18000, pfc: true}
`, c.topo, c.flows)))
		if err != nil {
			b.Fatal(err)
		}
		w, err := workload.Generate(s)
		if err != nil {
			b.Fatal(err)
		}
		cfg := features.DefaultConfig(s.CC.Algorithm, 300, 18000, true)
		for _, on := range []bool{false, true} {
			name := c.name + "/off"
			if on {
				name = c.name + "/on"
			}
			b.Run(name, func(b *testing.B) {
				var r *Result
				cpu0 := cpuTime()
				for range b.N {
					if r, err = Simulate(w, cfg, Options{Dynamics: on}); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(cpuTime()-cpu0)/1e6/float64(b.N), "cpu-ms/op")
				b.ReportMetric(float64(r.Events), "sim-events")
				if !on {
					return
				}
				t := r.Dynamics.Trace
				e := len(t.TimeNs)
				bytes := 8*e + e + 4*e + 2*8*(e+1) + 8*len(t.ActiveFlow) + 8*len(t.QueueLink)
				b.ReportMetric(float64(e), "trace-events")
				b.ReportMetric(float64(bytes)/float64(e), "B/trace-event")
				b.ReportMetric(float64(len(t.ActiveFlow))/float64(e), "active/event")
				b.ReportMetric(float64(len(t.QueueLink))/float64(e), "queues/event")
			})
		}
	}
}

// cpuTime is the process's user + system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
