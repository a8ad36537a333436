package flowsim

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/m4sim/m4/pipeline/npyfile"
	"github.com/m4sim/m4/pipeline/scenario"
)

// BenchRow is one measured flowsim run.
type BenchRow struct {
	Hosts, Flows      int
	Load              float64
	Seconds           float64
	Events, MaxActive uint64
}

// FlowsPerSec is the throughput of the run.
func (r BenchRow) FlowsPerSec() float64 { return float64(r.Flows) / r.Seconds }

// NsPerEvent is the cost of one arrival or completion.
func (r BenchRow) NsPerEvent() float64 { return r.Seconds * 1e9 / float64(r.Events) }

// BenchSpec returns the generated scenario the benchmarks use: exponential
// sizes with a 20 kB mean, Poisson arrivals, seed 1.
func BenchSpec(hosts, flows int, load float64) scenario.GenSpec {
	return scenario.GenSpec{Hosts: hosts, Flows: flows, Load: load, MeanBytes: 20000, Seed: 1}
}

// Bench times one flowsim run (best of reps) on the generated scenario.
func Bench(hosts, flows int, load float64, reps int) (BenchRow, error) {
	p, err := scenario.Generate(BenchSpec(hosts, flows, load))
	if err != nil {
		return BenchRow{}, err
	}
	row := BenchRow{Hosts: hosts, Flows: flows, Load: load}
	for r := 0; r < max(reps, 1); r++ {
		start := time.Now()
		res, err := Run(p)
		if err != nil {
			return row, err
		}
		s := time.Since(start).Seconds()
		if r == 0 || s < row.Seconds {
			row.Seconds = s
		}
		row.Events, row.MaxActive = res.Stats.Events, res.Stats.MaxActive
	}
	return row, nil
}

// WriteShard writes p in the reference shard layout (fat.npy int64,
// fsize.npy int64, fsd.npy int32 (n, 2)) under dir, so other tools (m3's
// flowsim, ns-3 generators) can run the same flows.
func WriteShard(dir string, p *scenario.Path) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	n := p.Len()
	fat := make([]int64, n)
	fsize := make([]int64, n)
	fsd := make([]int32, 2*n)
	for i := 0; i < n; i++ {
		fat[i] = int64(p.ArrivalNs[i])
		fsize[i] = int64(p.SizeBytes[i])
		fsd[2*i], fsd[2*i+1] = p.Src[i], p.Dst[i]
	}
	if err := npyfile.Write(filepath.Join(dir, "fat.npy"), fat, nil); err != nil {
		return err
	}
	if err := npyfile.Write(filepath.Join(dir, "fsize.npy"), fsize, nil); err != nil {
		return err
	}
	if err := npyfile.Write(filepath.Join(dir, "fsd.npy"), fsd, []int{n, 2}); err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	return nil
}
