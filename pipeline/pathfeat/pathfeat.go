// Package pathfeat turns a path scenario cut from a workload (package
// decompose) into what the model reads and what flowsim alone answers:
// flowsim on the parking lot, the feature map of its flows, the empty
// input buckets, and flowsim's own slowdown percentiles of the foreground
// flows per output size bucket. Inference (package infer) and training on
// whole workloads (package dataset) build paths through this one function,
// so the model is trained on exactly the inputs it is run on.
package pathfeat

import (
	"fmt"
	"slices"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/pipeline/decompose"
	"github.com/m4sim/m4/pipeline/features"
	"github.com/m4sim/m4/pipeline/model"
)

// Path is one path scenario ready for the model.
type Path struct {
	Hosts int
	Input model.Input
	// Flows[b] counts the foreground flows in output bucket b.
	Flows [features.NumOutputBuckets]int
	// Flowsim[b] holds flowsim's slowdown percentiles 1..100 of the
	// foreground flows of bucket b (ones where the bucket is empty).
	Flowsim [features.NumOutputBuckets][features.NumPercentiles]float64
	// Foreground lists the scenario's foreground flows (indices into the
	// scenario's flows) and FGSlowdown flowsim's slowdown of each.
	Foreground []int
	FGSlowdown []float64
}

// Config checks that a parking lot has the 10/40 Gbps shape the model and
// flowsim's features were made for, and returns flowsim's config.
func Config(sc *decompose.Scenario) (bindings.PathConfig, error) {
	cfg := bindings.DefaultPathConfig(sc.Hosts)
	for l, g := range sc.LinkGbps {
		want := cfg.CoreGbps
		if l == 0 || l == len(sc.LinkGbps)-1 {
			want = cfg.EdgeGbps
		}
		if g != want {
			return cfg, fmt.Errorf("path %d: link %d runs at %g Gbps; m4's flowsim features and model are for paths with %g Gbps host links and %g Gbps fabric links",
				sc.PathID, l, g, cfg.EdgeGbps, cfg.CoreGbps)
		}
	}
	return cfg, nil
}

// Build runs flowsim on sc and builds its feature map with the given
// parameter block (features.ParamsFor).
func Build(sc *decompose.Scenario, params [features.NumParams]float64) (*Path, error) {
	b, err := NewBuilder()
	if err != nil {
		return nil, err
	}
	defer b.Close()
	p := &Path{}
	if err := b.Build(sc, params, p); err != nil {
		return nil, err
	}
	return p, nil
}

// Builder builds paths (what Build does) in buffers it keeps from one path
// to the next: the flowsim of each path length, the feature-map builder
// and scratch space. Use one per goroutine; it is not safe for concurrent
// use.
type Builder struct {
	sims   map[int]*bindings.Flowsim // by hosts
	feat   *bindings.Features
	fct    []float64
	counts []int64
	// the foreground flows: sizes, hosts, flowsim FCTs, slowdowns
	fgSize, fgFCT []float64
	fgSrc, fgDst  []int32
	per           [features.NumOutputBuckets][]float64
}

// NewBuilder returns a Builder; Close frees its native buffers.
func NewBuilder() (*Builder, error) {
	f, err := bindings.NewFeatures()
	if err != nil {
		return nil, err
	}
	return &Builder{sims: map[int]*bindings.Flowsim{}, feat: f}, nil
}

// Close frees the native simulators and feature builder.
func (b *Builder) Close() {
	for _, s := range b.sims {
		s.Close()
	}
	clear(b.sims)
	b.feat.Close()
}

// Build fills p with sc's path, as the package's Build does, reusing the
// memory of p's slices (p.Input.Res and p.Input.Empty are written in place
// when their capacity suffices, so they can be windows of a batch buffer).
func (b *Builder) Build(sc *decompose.Scenario, params [features.NumParams]float64, p *Path) error {
	cfg, err := Config(sc)
	if err != nil {
		return err
	}
	sim := b.sims[sc.Hosts]
	if sim == nil {
		if sim, err = bindings.NewFlowsim(cfg); err != nil {
			return fmt.Errorf("path %d: flowsim: %w", sc.PathID, err)
		}
		b.sims[sc.Hosts] = sim
	}
	pa := sc.Path
	n, h := pa.Len(), sc.Hosts
	b.fct = grow(b.fct, n)
	if err := sim.RunInto(pa.ArrivalNs, pa.SizeBytes, pa.Src, pa.Dst, b.fct); err != nil {
		return fmt.Errorf("path %d: flowsim: %w", sc.PathID, err)
	}
	res := grow(p.Input.Res, h*features.RowWidth)
	b.counts = grow(b.counts, h*features.NumInputBuckets)
	if err := b.feat.Build(h, pa.SizeBytes, pa.Src, pa.Dst, b.fct, params[:], res, nil, b.counts); err != nil {
		return fmt.Errorf("path %d: features: %w", sc.PathID, err)
	}
	// m3's empty buckets (model.EmptyBuckets: the mean share of a cell's
	// row below 1e-12) are the cells without flows: a cell's share is its
	// count / (1 + the row's flows), so any flow puts it far above 1e-12.
	empty := grow(p.Input.Empty, h*features.NumInputBuckets)
	for i, c := range b.counts {
		empty[i] = 0
		if c == 0 {
			empty[i] = 1
		}
	}
	p.Hosts = h
	p.Input = model.Input{Hosts: h, Res: res, Empty: empty}

	// flowsim's own estimate of the foreground flows, per output bucket
	b.fgSize, b.fgFCT, b.fgSrc, b.fgDst = b.fgSize[:0], b.fgFCT[:0], b.fgSrc[:0], b.fgDst[:0]
	p.Foreground = p.Foreground[:0]
	for i, fg := range sc.Foreground {
		if fg {
			p.Foreground = append(p.Foreground, i)
			b.fgSize = append(b.fgSize, pa.SizeBytes[i])
			b.fgFCT = append(b.fgFCT, b.fct[i])
			b.fgSrc = append(b.fgSrc, pa.Src[i])
			b.fgDst = append(b.fgDst, pa.Dst[i])
		}
	}
	p.FGSlowdown = grow(p.FGSlowdown, len(b.fgSize))
	if err := b.feat.Slowdowns(h, b.fgSize, b.fgSrc, b.fgDst, b.fgFCT, p.FGSlowdown); err != nil {
		return fmt.Errorf("path %d: features: %w", sc.PathID, err)
	}
	for k := range b.per {
		b.per[k] = b.per[k][:0]
	}
	for j, sz := range b.fgSize {
		k := features.OutputBucket(sz)
		b.per[k] = append(b.per[k], p.FGSlowdown[j])
	}
	for k, v := range b.per {
		p.Flows[k] = len(v)
		if len(v) == 0 {
			for j := range p.Flowsim[k] {
				p.Flowsim[k][j] = 1
			}
			continue
		}
		slices.Sort(v)
		features.Percentiles(v, &p.Flowsim[k])
	}
	return nil
}

// grow returns s resliced to n values, reallocated only when too small.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n, n+n/4)
	}
	return s[:n]
}
