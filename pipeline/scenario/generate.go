package scenario

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// GenSpec describes a synthetic path scenario: Poisson arrivals over all
// host pairs (each pair equally likely), exponential flow sizes, scaled so the
// busiest link of the default path carries Load of its capacity.
type GenSpec struct {
	Hosts     int
	Flows     int
	Load      float64 // target utilisation of the busiest link, (0, 1)
	MeanBytes float64 // mean flow size (payload)
	Seed      uint64
}

// Generate draws a scenario from spec. It is deterministic for a seed.
func Generate(spec GenSpec) (*Path, error) {
	h := spec.Hosts
	switch {
	case h < 2:
		return nil, fmt.Errorf("generate: hosts = %d, want >= 2", h)
	case spec.Flows < 0:
		return nil, fmt.Errorf("generate: flows = %d, want >= 0", spec.Flows)
	case !(spec.Load > 0 && spec.Load < 1):
		return nil, fmt.Errorf("generate: load = %v, want in (0, 1)", spec.Load)
	case !(spec.MeanBytes >= 1):
		return nil, fmt.Errorf("generate: mean size = %v bytes, want >= 1", spec.MeanBytes)
	}
	type pair struct{ s, d int32 }
	var pairs []pair
	for s := 0; s < h; s++ {
		for d := 0; d < h; d++ {
			if s != d {
				pairs = append(pairs, pair{int32(s), int32(d)})
			}
		}
	}
	// Share of all flows crossing each directed link, and its capacity.
	worst := 0.0
	for dir := 0; dir < 2; dir++ {
		for l := 0; l < h-1; l++ {
			share := 0.0
			for _, p := range pairs {
				lo, hi := min(p.s, p.d), max(p.s, p.d)
				if (p.s < p.d) == (dir == 0) && int(lo) <= l && l < int(hi) {
					share += 1 / float64(len(pairs))
				}
			}
			gbps := 40.0
			if l == 0 || l == h-2 {
				gbps = 10
			}
			worst = max(worst, share/gbps)
		}
	}
	wireBits := (spec.MeanBytes + math.Ceil(spec.MeanBytes/1000)*48) * 8
	// flows/ns such that worst-link load = Load
	rate := spec.Load / (worst * wireBits)

	rng := rand.New(rand.NewPCG(spec.Seed, 0x6d34))
	p := &Path{
		Name:      fmt.Sprintf("gen_nhosts%d_n%d_load%.2f_s%d", h, spec.Flows, spec.Load, spec.Seed),
		Hosts:     h,
		ArrivalNs: make([]float64, spec.Flows),
		SizeBytes: make([]float64, spec.Flows),
		Src:       make([]int32, spec.Flows),
		Dst:       make([]int32, spec.Flows),
	}
	p.ArrivalFile, p.SizeFile, p.HostFile = p.Name, p.Name, p.Name
	t := 1e9 // first flow at 1 s, as in the reference shards
	for i := 0; i < spec.Flows; i++ {
		t += math.Round(rng.ExpFloat64() / rate)
		p.ArrivalNs[i] = t
		p.SizeBytes[i] = math.Max(1, math.Round(rng.ExpFloat64()*spec.MeanBytes))
		pr := pairs[rng.IntN(len(pairs))]
		p.Src[i], p.Dst[i] = pr.s, pr.d
	}
	return p, nil
}

// Default returns the embedded default scenario: 2000 flows on a 5-host path
// at 60% load on the busiest link, 20 kB mean size, seed 1.
func Default() (*Path, error) {
	p, err := Generate(GenSpec{Hosts: 5, Flows: 2000, Load: 0.6, MeanBytes: 20000, Seed: 1})
	if err != nil {
		return nil, err
	}
	p.Name = "default_nhosts5"
	return p, nil
}
