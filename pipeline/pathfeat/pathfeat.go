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
	"github.com/m4sim/m4/pipeline/flowsim"
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
	cfg, err := Config(sc)
	if err != nil {
		return nil, err
	}
	fs, err := flowsim.RunConfig(sc.Path, cfg)
	if err != nil {
		return nil, fmt.Errorf("path %d: %w", sc.PathID, err)
	}
	in, err := features.BuildInput(sc.Path, fs.FCTNs, params)
	if err != nil {
		return nil, fmt.Errorf("path %d: %w", sc.PathID, err)
	}
	empty, err := model.EmptyBuckets(in.NumFlowsPerCell, in.Hosts, features.NumInputBuckets, features.NumPercentiles)
	if err != nil {
		return nil, fmt.Errorf("path %d: %w", sc.PathID, err)
	}
	p := &Path{Hosts: sc.Hosts, Input: model.Input{Hosts: in.Hosts, Res: in.Res, Empty: empty}}

	// flowsim's own estimate of the foreground flows, per output bucket
	sl, err := features.Slowdowns(sc.Path, fs.FCTNs)
	if err != nil {
		return nil, fmt.Errorf("path %d: %w", sc.PathID, err)
	}
	var per [features.NumOutputBuckets][]float64
	for i, fg := range sc.Foreground {
		if fg {
			k := features.OutputBucket(sc.SizeBytes[i])
			per[k] = append(per[k], sl[i])
			p.Foreground = append(p.Foreground, i)
			p.FGSlowdown = append(p.FGSlowdown, sl[i])
		}
	}
	for k := range per {
		p.Flows[k] = len(per[k])
		if len(per[k]) == 0 {
			for j := range p.Flowsim[k] {
				p.Flowsim[k][j] = 1
			}
			continue
		}
		slices.Sort(per[k])
		features.Percentiles(per[k], &p.Flowsim[k])
	}
	return p, nil
}
