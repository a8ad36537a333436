package pktsim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/pipeline/workload"
)

// RepeatFlows returns k back-to-back copies of f (k >= 1): copy j starts
// j * period later, period being f's span plus one mean gap, so the load
// stays what it was. Ids are renumbered 0..k*n-1.
func RepeatFlows(f *NS3Flows, k int) *NS3Flows {
	n := f.Len()
	out := &NS3Flows{Name: fmt.Sprintf("%s x%d", f.Name, k)}
	if n == 0 || k < 1 {
		return out
	}
	span := int64(f.StartNs[n-1] - f.StartNs[0])
	gap := int64(1000)
	if n > 1 {
		gap = max(span/int64(n-1), 1)
	}
	period := span + gap
	for j := 0; j < k; j++ {
		for i := 0; i < n; i++ {
			out.Add(uint32(j*n+i), f.Src[i], f.Dst[i], f.SizeBytes[i], int64(f.StartNs[i])+int64(j)*period)
			out.PG[len(out.PG)-1] = f.PG[i]
			out.DPort[len(out.DPort)-1] = f.DPort[i]
		}
	}
	return out
}

// BenchFabric is the 256-host cluster of the benchmarks: 2 pods x 2 fabric
// switches x 16 racks x 8 hosts, 16 spines per plane (1:1), 10 Gbps host
// links, 40 Gbps elsewhere, 1 us per link.
var BenchFabric = workload.FabricSpec{Pods: 2, FabsPerPod: 2, RacksPerPod: 16, HostsPerRack: 8, SpinesPerPlane: 16,
	HostGbps: 10, FabricGbps: 40, DelayNs: 1000}

// PoissonWorkload draws n flows between uniformly random distinct hosts of
// t, with exponential sizes of the given mean (bytes, at least 1) and
// Poisson arrivals from 1 s on, at a rate that loads every host link at
// `load` on average (wire bytes: payload + 48 B per packet). seed fixes
// the draw (PCG).
func PoissonWorkload(t *NS3Topology, n int, load, meanBytes float64, hostRate Rate, seed uint64) (*NS3Flows, error) {
	hosts := t.Hosts()
	if len(hosts) < 2 {
		return nil, fmt.Errorf("%s: fewer than 2 hosts", t.Name)
	}
	if !(load > 0 && load <= 1) || !(meanBytes >= 1) {
		return nil, fmt.Errorf("poisson workload: load %v must be in (0, 1], mean size %v >= 1", load, meanBytes)
	}
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	meanWire := meanBytes + math.Ceil(meanBytes/1000)*48
	rate := load * float64(len(hosts)) * float64(hostRate) / (8 * meanWire) // flows per second
	f := &NS3Flows{Name: fmt.Sprintf("poisson-%s-load%.2f-n%d", t.Name, load, n)}
	at := 1.0
	for i := 0; i < n; i++ {
		at += rng.ExpFloat64() / rate
		src := hosts[rng.IntN(len(hosts))]
		dst := hosts[rng.IntN(len(hosts)-1)]
		if dst >= src {
			dst = hosts[indexOf(hosts, dst)+1]
		}
		size := uint64(max(1, math.Round(rng.ExpFloat64()*meanBytes)))
		f.Add(uint32(i), src, dst, size, SecondsToNs(at))
	}
	return f, nil
}

func indexOf(v []int32, x int32) int {
	for i, y := range v {
		if y == x {
			return i
		}
	}
	return -1
}

// BenchResult is one timed run.
type BenchResult struct {
	Name    string
	CC      string
	Flows   int
	Events  uint64
	Packets uint64
	SimNs   int64   // simulated time from the first start to the last event
	Seconds float64 // wall time of the run (best of the repetitions)
	Stats   bindings.PktsimStats
}

// FlowsPerSec is flows simulated per wall-clock second.
func (b *BenchResult) FlowsPerSec() float64 { return float64(b.Flows) / b.Seconds }

// EventsPerSec is events executed per wall-clock second.
func (b *BenchResult) EventsPerSec() float64 { return float64(b.Events) / b.Seconds }

// Bench times Simulate(cfg, topo, flows) reps times and keeps the best.
// The stop time is moved to 100 s after the last start so that repeated
// or long workloads can finish.
func Bench(name string, cfg *Config, topo *NS3Topology, flows *NS3Flows, reps int) (*BenchResult, error) {
	b := &BenchResult{Name: name, CC: CCName(cfg.CCMode), Flows: flows.Len(), Seconds: math.Inf(1)}
	c := *cfg
	if n := flows.Len(); n > 0 {
		c.SimulatorStopTime = max(c.SimulatorStopTime, float64(flows.StartNs[n-1])*1e-9+100)
	}
	for r := 0; r < max(reps, 1); r++ {
		t0 := time.Now()
		res, err := Simulate(&c, topo, flows)
		el := time.Since(t0).Seconds()
		if err != nil {
			return nil, err
		}
		if el < b.Seconds {
			b.Seconds = el
		}
		b.Events = res.Stats.Events
		b.Packets = res.Stats.Packets
		b.Stats = res.Stats
		if flows.Len() > 0 {
			b.SimNs = int64(res.Stats.EndNs) - int64(flows.StartNs[0])
		}
	}
	return b, nil
}

// ReferenceSample picks, from the shard folders under dir (FindShards),
// up to perGroup scenarios (in name order) of every CC mode and path
// length, and returns them grouped by CC mode.
func ReferenceSample(dir string, perGroup int) (map[int][]*Shard, error) {
	dirs, err := FindShards(dir)
	if err != nil {
		return nil, err
	}
	type key struct{ cc, h int }
	count := map[key]int{}
	out := map[int][]*Shard{}
	for _, d := range dirs {
		sh, err := LoadShard(d, 0)
		if err != nil {
			return nil, err
		}
		k := key{sh.Config.CCMode, sh.Path.Hosts}
		if count[k] >= perGroup {
			continue
		}
		count[k]++
		out[k.cc] = append(out[k.cc], sh)
	}
	return out, nil
}

// BenchShards runs each shard's flows repeated `repeat` times (best of
// reps runs) and sums flows, events and wall time (one core, serially).
func BenchShards(name string, shards []*Shard, repeat, reps int) (*BenchResult, error) {
	total := &BenchResult{Name: name}
	for _, sh := range shards {
		b, err := Bench(sh.Dir, sh.Config, sh.Topology, RepeatFlows(sh.Flows, repeat), reps)
		if err != nil {
			return nil, err
		}
		total.CC = b.CC
		total.Flows += b.Flows
		total.Events += b.Events
		total.Packets += b.Packets
		total.SimNs += b.SimNs
		total.Seconds += b.Seconds
	}
	return total, nil
}
