package dataset

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"

	"github.com/m4sim/m4/internal/parallel"
	"github.com/m4sim/m4/pipeline/features"
	"github.com/m4sim/m4/pipeline/flowsim"
	"github.com/m4sim/m4/pipeline/npyfile"
	"github.com/m4sim/m4/pipeline/scenario"
)

// ScenarioFlows is a scenario's per-flow data: what its feature map summarises.
type ScenarioFlows struct {
	Path    *scenario.Path
	Flowsim []float64 // flowsim FCT of each flow, ns
	Params  [features.NumParams]float64
	Truth   []float64 // ns-3 FCT of each flow, ns (by flow id)
	Ideal   []float64 // ns-3 ideal FCT of each flow, ns
	HasGT   []bool    // the flow has a ns-3 result
}

// LoadFlows reads a shard folder's flows, flowsim FCTs (fct_flowsim.npy, or a
// flowsim run), parameters and ns-3 ground truth for sample 0.
func LoadFlows(dir string, hosts int) (*ScenarioFlows, error) {
	p, err := scenario.LoadShard(dir, hosts)
	if err != nil {
		return nil, err
	}
	f := &ScenarioFlows{Path: p}
	path := filepath.Join(dir, "fct_flowsim.npy")
	if a, err := npyfile.Read(path); err == nil {
		if f.Flowsim = a.Float64s(); len(f.Flowsim) != p.Len() {
			return nil, fmt.Errorf("%s: %d FCTs for %d flows", path, len(f.Flowsim), p.Len())
		}
	} else if os.IsNotExist(err) {
		r, err := flowsim.Run(p)
		if err != nil {
			return nil, err
		}
		f.Flowsim = r.FCTNs
	} else {
		return nil, err
	}
	tag := features.Tag(p.Hosts, 0)
	if f.Params, err = features.ReadParams(dir, tag, p.Hosts); err != nil {
		return nil, err
	}
	t, err := features.ReadTruth(dir, tag, p.Len())
	if err != nil {
		return nil, err
	}
	if t == nil {
		return nil, fmt.Errorf("dataset %s: no ground truth", dir)
	}
	f.Truth, f.Ideal, f.HasGT = make([]float64, p.Len()), make([]float64, p.Len()), make([]bool, p.Len())
	for i, id := range t.FID {
		f.Truth[id], f.Ideal[id], f.HasGT[id] = t.FCT[i], t.Ideal[i], true
	}
	return f, nil
}

// Bootstrap returns a resampled version of a scenario: as many flows as it
// has, drawn with replacement (each keeping its flowsim and ns-3 results),
// summarised into a feature map and target exactly as the original. The
// percentiles of a resample vary as they would for another draw of traffic
// of the same kind, so resamples teach the model the mapping from flowsim's
// statistics to ns-3's rather than the particular values of one draw.
func Bootstrap(f *ScenarioFlows, r *rand.Rand) (*Sample, error) {
	n := f.Path.Len()
	idx := make([]int, n)
	for i := range idx {
		idx[i] = r.IntN(n)
	}
	slices.Sort(idx) // keeps arrivals ascending
	return subset(f, idx)
}

// subset summarises the flows idx (ascending, repeats allowed) of f.
func subset(f *ScenarioFlows, idx []int) (*Sample, error) {
	p := f.Path
	n := len(idx)
	q := &scenario.Path{Name: p.Name + " (resampled)", Hosts: p.Hosts, ArrivalNs: make([]float64, n),
		SizeBytes: make([]float64, n), Src: make([]int32, n), Dst: make([]int32, n)}
	fct := make([]float64, n)
	var size, fg, ideal []float64
	var src, dst []int32
	for k, i := range idx {
		q.ArrivalNs[k], q.SizeBytes[k], q.Src[k], q.Dst[k] = p.ArrivalNs[i], p.SizeBytes[i], p.Src[i], p.Dst[i]
		fct[k] = f.Flowsim[i]
		if f.HasGT[i] {
			size, src, dst = append(size, p.SizeBytes[i]), append(src, p.Src[i]), append(dst, p.Dst[i])
			fg, ideal = append(fg, f.Truth[i]), append(ideal, f.Ideal[i])
		}
	}
	in, err := features.BuildInput(q, fct, f.Params)
	if err != nil {
		return nil, err
	}
	out, err := features.BuildOutput(p.Hosts, size, src, dst, fg, ideal)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", q.Name, err)
	}
	s, err := fromMap(q.Name, &features.Map{Input: in, Output: out})
	if err != nil {
		return nil, err
	}
	for _, c := range out.Counts { // the resample's own foreground flows
		s.Foreground += c
	}
	return s, nil
}

// ResamplesOf returns k bootstrap resamples of every parking lot (a shard
// folder's sample) that keep accepts (all when keep is nil; in order, k per
// sample), drawn with a PCG seeded by seed and the sample's index: a
// sample's draws depend on its index in samples only, so leaving some out
// does not change the others'. Paths cut from whole workloads (Network)
// are never resampled: their folder holds the workload, not the lot.
func ResamplesOf(samples []*Sample, k int, seed uint64, keep func(*Sample) bool) ([]*Sample, error) {
	return gather(len(samples), func(i int) ([]*Sample, error) {
		if samples[i].Network || keep != nil && !keep(samples[i]) {
			return nil, nil
		}
		return resample(samples[i], k, rand.New(rand.NewPCG(seed, uint64(i))))
	})
}

// gather runs f(0), ..., f(n-1) on GOMAXPROCS goroutines and concatenates
// their samples in index order, so the result does not depend on the
// scheduling; at an error it starts no more and returns the error of the
// lowest index that failed, as a loop would.
func gather(n int, f func(i int) ([]*Sample, error)) ([]*Sample, error) {
	res := make([][]*Sample, n)
	err := parallel.For(n, 0, func(_, i int) error {
		var err error
		res[i], err = f(i)
		return err
	})
	if err != nil {
		return nil, err
	}
	var out []*Sample
	for i := range res {
		out = append(out, res[i]...)
	}
	return out, nil
}

func resample(s *Sample, k int, r *rand.Rand) ([]*Sample, error) {
	f, err := LoadFlows(s.Dir, s.Hosts)
	if err != nil {
		return nil, err
	}
	var out []*Sample
	for j := 0; j < k; j++ {
		b, err := Bootstrap(f, r)
		if err != nil {
			return nil, err
		}
		b.Dir, b.Group, b.File, b.CC = s.Dir, s.Group, s.File, s.CC
		out = append(out, b)
	}
	return out, nil
}
