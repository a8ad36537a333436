// Package pathfeat turns a path scenario cut from a workload (package
// decompose) into what the model reads and what flowsim alone answers:
// flowsim on the parking lot, the feature map of its flows, the empty
// input buckets, and flowsim's own slowdown percentiles of the foreground
// flows per output size bucket. Inference (package infer) and training on
// whole workloads (package dataset) build paths through this one function,
// so the model is trained on exactly the inputs it is run on.
package pathfeat

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/pipeline/decompose"
	"github.com/m4sim/m4/pipeline/features"
	"github.com/m4sim/m4/pipeline/model"
	"github.com/m4sim/m4/pipeline/workload"
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
	// FGIsolated tells the foreground flows that met no other flow of the
	// lot in flowsim: [arrival, arrival + FCT) overlaps no other flow's.
	// Every lot flow shares a link with a foreground flow, so such a flow
	// ran alone on its path (flowsim slowdown 1, up to rounding).
	FGIsolated []bool
	// Scale is the path's rate scale (RateScale); the model and flowsim
	// saw it with flow sizes divided by Scale. Where Scale is not 1 a
	// foreground flow's size bucket there can differ from its own:
	// Remap[b][s] counts the foreground flows of output bucket b (by their
	// own size) that the model saw in bucket s (RemapModel).
	Scale float64
	Remap Remap
}

// Remap[b][s] counts a path's foreground flows of output bucket b by their
// own size that the model saw in bucket s.
type Remap [features.NumOutputBuckets][features.NumOutputBuckets]int

// Config returns flowsim's config for sc's rate-normalised twin (host links
// at 10 Gbps, fabric links at 10 Gbps times the path's fabric/host ratio)
// and the rate scale by which the path is normalised (RateScale).
func Config(sc *decompose.Scenario) (bindings.PathConfig, float64, error) {
	cfg := bindings.DefaultPathConfig(sc.Hosts)
	k, ratio, err := RateScale(sc.LinkGbps)
	if err != nil {
		return cfg, 0, fmt.Errorf("path %d: %w", sc.PathID, err)
	}
	cfg.CoreGbps = cfg.EdgeGbps * ratio
	return cfg, k, nil
}

// TrainedRatio is the fabric/host link rate ratio of the model's training
// paths: libm4's parking lot (m4_path_config_default: 40/10 Gbps). It is 0
// without the native library.
func TrainedRatio() float64 { return trainedRatio(bindings.DefaultPathConfig(3)) }

// trainedRatio is TrainedRatio of libm4's parking lot def.
func trainedRatio(def bindings.PathConfig) float64 {
	if !(def.EdgeGbps > 0) {
		return 0
	}
	return def.CoreGbps / def.EdgeGbps
}

// RateScale returns by how much a path's host links (first and last) run
// faster than the 10 Gbps the model was trained on, k, and the ratio of
// its fabric links (between) to its host links (TrainedRatio for a path
// without fabric links). The model sees the path as its 10 Gbps twin whose
// flow sizes are divided by k: with every rate and every byte count scaled
// alike and the delays kept, a fluid's dynamics are the same in time
// (docs/inputs.md, "Link rates"). The two host links must run at one rate,
// and the fabric links at one rate.
func RateScale(linkGbps []float64) (k, ratio float64, err error) {
	def := bindings.DefaultPathConfig(3)
	n := len(linkGbps)
	if n == 0 {
		return 0, 0, fmt.Errorf("no links")
	}
	host, fabric := linkGbps[0], 0.0
	for l, g := range linkGbps {
		want := &fabric
		if l == 0 || l == n-1 {
			want = &host
		}
		if *want == 0 {
			*want = g
		}
		if !(g > 0) || math.IsInf(g, 0) || math.Abs(g-*want) > 1e-9**want {
			return 0, 0, fmt.Errorf("link %d runs at %g Gbps; m4 estimates paths whose host links (first and last) run at one rate and whose fabric links run at one rate (%g and %g Gbps here)",
				l, g, host, fabric)
		}
	}
	if !(def.EdgeGbps > 0) {
		return 0, 0, bindings.ErrNoNative // m3's 10 and 40 Gbps are libm4's (m4_path_config_default)
	}
	ratio = trainedRatio(def)
	if fabric != 0 {
		ratio = fabric / host
	}
	return host / def.EdgeGbps, ratio, nil
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
	sims   map[simKey]*bindings.Flowsim
	feat   *bindings.Features
	fct    []float64
	scaled []float64 // flow sizes / the rate scale
	counts []int64   // flows per row and input bucket
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
	return &Builder{sims: map[simKey]*bindings.Flowsim{}, feat: f}, nil
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
	cfg, k, err := Config(sc)
	if err != nil {
		return err
	}
	key := simKey{sc.Hosts, cfg.CoreGbps}
	sim := b.sims[key]
	if sim == nil {
		if sim, err = bindings.NewFlowsim(cfg); err != nil {
			return fmt.Errorf("path %d: flowsim: %w", sc.PathID, err)
		}
		b.sims[key] = sim
	}
	pa := sc.Path
	n, h := pa.Len(), sc.Hosts
	sizes := pa.SizeBytes // as the model sees them
	if k != 1 {
		b.scaled = grow(b.scaled, n)
		for i, v := range pa.SizeBytes {
			b.scaled[i] = v / k
		}
		sizes = b.scaled
	}
	b.fct = grow(b.fct, n)
	if err := sim.RunInto(pa.ArrivalNs, sizes, pa.Src, pa.Dst, b.fct); err != nil {
		return fmt.Errorf("path %d: flowsim: %w", sc.PathID, err)
	}
	res := grow(p.Input.Res, h*features.RowWidth)
	b.counts = grow(b.counts, h*features.NumInputBuckets)
	if err := b.feat.Build(h, sizes, pa.Src, pa.Dst, b.fct, params[:], res, nil, b.counts); err != nil {
		return fmt.Errorf("path %d: features: %w", sc.PathID, err)
	}
	// m3's empty buckets, by libm4's rule on the counts (no share map to
	// write and sum per path)
	empty := grow(p.Input.Empty, h*features.NumInputBuckets)
	if err := bindings.EmptyCounts(b.counts, empty); err != nil {
		return fmt.Errorf("path %d: %w", sc.PathID, err)
	}
	p.Hosts = h
	p.Input = model.Input{Hosts: h, Res: res, Empty: empty}

	// flowsim's own estimate of the foreground flows, per output bucket
	b.fgSize, b.fgFCT, b.fgSrc, b.fgDst = b.fgSize[:0], b.fgFCT[:0], b.fgSrc[:0], b.fgDst[:0]
	p.Foreground, p.FGIsolated = p.Foreground[:0], p.FGIsolated[:0]
	p.Scale, p.Remap = k, Remap{}
	latest := math.Inf(-1) // the latest flowsim end of the flows before i
	for i, fg := range sc.Foreground {
		end := pa.ArrivalNs[i] + b.fct[i]
		if fg {
			p.Foreground = append(p.Foreground, i)
			p.Remap[features.OutputBucket(pa.SizeBytes[i])][features.OutputBucket(sizes[i])]++
			b.fgSize = append(b.fgSize, sizes[i])
			b.fgFCT = append(b.fgFCT, b.fct[i])
			b.fgSrc = append(b.fgSrc, pa.Src[i])
			b.fgDst = append(b.fgDst, pa.Dst[i])
			// arrivals ascend: an earlier flow overlaps i if it ends after
			// i arrives, a later one if it arrives before i ends
			alone := latest <= pa.ArrivalNs[i] && (i+1 == n || pa.ArrivalNs[i+1] >= end)
			p.FGIsolated = append(p.FGIsolated, alone)
		}
		latest = max(latest, end)
	}
	p.FGSlowdown = grow(p.FGSlowdown, len(b.fgSize))
	if err := b.feat.Slowdowns(h, b.fgSize, b.fgSrc, b.fgDst, b.fgFCT, p.FGSlowdown); err != nil {
		return fmt.Errorf("path %d: features: %w", sc.PathID, err)
	}
	for k := range b.per {
		b.per[k] = b.per[k][:0]
	}
	for j, i := range p.Foreground { // by the flow's own size
		ob := features.OutputBucket(pa.SizeBytes[i])
		b.per[ob] = append(b.per[ob], p.FGSlowdown[j])
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
		if err := features.Percentiles(v, &p.Flowsim[k]); err != nil {
			return fmt.Errorf("path %d: %w", sc.PathID, err)
		}
	}
	return nil
}

// RemapModel turns the model's slowdown percentiles for a path, per output
// bucket of the sizes the model saw (size / Path.Scale), into percentiles
// per bucket of the flows' own sizes: bucket b's curve is the mixture of
// the model's curves s, each weighted by r[b][s] (its flows), read at
// percentiles 1..100. A bucket fed by one curve gets it unchanged (so a
// path at 10/40 Gbps, where r is diagonal, is left as it was); a bucket
// without foreground flows keeps the model's own curve.
func RemapModel(r *Remap, m *[features.NumOutputBuckets][features.NumPercentiles]float64) {
	in := *m
	type point struct {
		v float64
		w int
	}
	var buf [features.NumOutputBuckets * features.NumPercentiles]point // every curve's points: no allocation
	pts := buf[:0]
	for b, row := range r {
		total, from := 0, -1
		for s, w := range row {
			if w > 0 {
				total += w
				from = s
			}
		}
		if total == 0 {
			continue
		}
		if row[from] == total { // one curve
			m[b] = in[from]
			continue
		}
		pts = pts[:0]
		for s, w := range row {
			for _, v := range in[s] {
				if w > 0 {
					pts = append(pts, point{v, w})
				}
			}
		}
		slices.SortStableFunc(pts, func(x, y point) int { return cmp.Compare(x.v, y.v) })
		// percentile j: the first value whose cumulative weight reaches
		// j/100 of the whole (each curve's 100 points carry its flows)
		cum, i := 0, 0
		for j := range m[b] {
			for cum < (j+1)*total {
				cum += pts[i].w
				i++
			}
			m[b][j] = pts[i-1].v
		}
	}
}

// simKey is what a path's flowsim depends on: its hosts and fabric rate.
type simKey struct {
	hosts int
	core  float64
}

// grow returns s resliced to n values, reallocated only when too small.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n, n+n/4)
	}
	return s[:n]
}

// TopologyScale is RateScale for every path of t: its host link rate over
// 10 Gbps and its fabric/host rate ratio (TrainedRatio without fabric
// links).
func TopologyScale(t *workload.Topology) (k, ratio float64, err error) {
	host, fabric, err := t.LinkRates()
	if err != nil {
		return 0, 0, err
	}
	links := []float64{host, host}
	if fabric != 0 {
		links = []float64{host, fabric, host}
	}
	return RateScale(links)
}
