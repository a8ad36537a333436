// Package features builds m3's feature maps for a parking-lot path scenario:
// the model's input (flowsim slowdowns, bucketed by flow size and summarised
// at percentiles 1..100, one row per path segment, plus the configuration
// parameter vector) and its target (the packet-level slowdown percentiles of
// the foreground flows).
//
// The definitions follow m3's util/dataset.py and util/consts.py exactly, so
// that a map built here equals the feat_*.npz that m3's own code writes for the
// same scenario (checked on every reference scenario in reference_test.go).
// The input side is computed by the native library (native/features.c,
// m4_features_build in m4.h, through package bindings), the one implementation
// that both m4 and C callers of libm4 use; the target is computed here:
//
//   - Slowdown of a flowsim estimate: (fct + d) / (ideal + d), clipped below at
//     1, where ideal = wire bytes * 8 / 10 Gbps, wire bytes = size +
//     ceil(size/1000)*48, and d is m3's per-flow base delay
//     (m4_features_base_delay_ns).
//   - Rows: row 0 holds the foreground flows (host 0 to host H-1); row 1+l the
//     other flows that cross link l (src <= l < dst). Flows going from a higher
//     to a lower host are in no row, as in m3.
//   - Size buckets: numpy.digitize with edges 250, 500, 750, 1000, 2000, 5000,
//     7500, 10000, 50000 bytes for the input (10 buckets) and 1000, 10000,
//     50000 for the output (4 buckets).
//   - Percentiles 1..100 by numpy's 'nearest' method: index
//     round-half-even((n-1) * (p/100)) into the sorted values.
//   - An empty input cell is all zeros; an empty output cell all ones.
//   - num_flows_per_cell = count / (1 + flows in the row), float64;
//     num_flows_per_cell_output = count / foreground flows, float32.
//   - The 19 parameters appended to every input row: see ParamVector.
//
// At inference nothing of ns-3 is needed: BuildInput(path, flowsim FCTs,
// params) with params = ParamVector(H, cfg.Vector()) for a Config (or a
// param_*.npy's 15 values) gives the model's input. For a training shard,
// FromShard also reads the packet-level target.
package features

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/pipeline/scenario"
)

// Shapes of m3's feature maps.
const (
	NumPercentiles   = 100                              // percentiles 1..100
	NumInputBuckets  = 10                               // input flow-size buckets
	NumOutputBuckets = 4                                // output flow-size buckets
	NumParams        = 19                               // parameters appended to each input row
	CellsPerRow      = NumInputBuckets * NumPercentiles // 1000
	RowWidth         = CellsPerRow + NumParams          // 1019
	OutputLen        = NumOutputBuckets * NumPercentiles
)

// bucketThresh is bucket_thold of m3's training config: a cell needs >= 1 flow.
const bucketThresh = 1

// outputEdges are m3's output size-bucket edges in bytes
// (get_size_bucket_list_output with MTU 1000 and BDP 10 kB, the BDP m3 uses
// for every path length). The input edges live in native/features.c.
var outputEdges = [NumOutputBuckets - 1]float64{1000, 10000, 50000}

// OutputBucket returns the output size bucket (0..3) of a flow of size bytes.
func OutputBucket(size float64) int { return digitize(size, outputEdges[:]) }

// digitize is numpy.digitize(x, edges) for ascending edges: the number of
// edges <= x.
func digitize(x float64, edges []float64) int {
	i := 0
	for i < len(edges) && edges[i] <= x {
		i++
	}
	return i
}

// Slowdowns returns m3's input-side slowdown of every flow of p, given the
// flowsim FCTs (ns, in p's flow order, queueing + transmission as
// pipeline/flowsim returns them): (fct + d) / (ideal + d) with d m3's base
// delay of the flow (propagation and per-hop store-and-forward of its first
// packet) and ideal its wire bytes at 10 Gbit/s, clipped below at 1.
func Slowdowns(p *scenario.Path, fctNs []float64) ([]float64, error) {
	if len(fctNs) != p.Len() {
		return nil, fmt.Errorf("features %s: %d flowsim FCTs for %d flows", p.Name, len(fctNs), p.Len())
	}
	f, err := bindings.NewFeatures()
	if err != nil {
		return nil, fmt.Errorf("features %s: %w", p.Name, err)
	}
	defer f.Close()
	out := make([]float64, len(fctNs))
	if err := f.Slowdowns(p.Hosts, p.SizeBytes, p.Src, p.Dst, fctNs, out); err != nil {
		return nil, inputError(p, err)
	}
	return out, nil
}

// inputError names the file behind a native input error where there is one.
func inputError(p *scenario.Path, err error) error {
	var ie *bindings.InputError
	if errors.As(err, &ie) {
		switch ie.Field {
		case "fct_ns", "params":
			return fmt.Errorf("features %s: %s", p.Name, ie.Msg)
		}
		if f := p.FileOf(ie.Field); f != "" {
			return fmt.Errorf("%s: %s", f, ie.Msg)
		}
	}
	return fmt.Errorf("features %s: %w", p.Name, err)
}

// Input is the model input of one path scenario.
type Input struct {
	Hosts int
	// Res is m3's "res": Hosts rows of RowWidth values, row-major: per size
	// bucket the slowdown percentiles 1..100, then the NumParams parameters.
	Res []float32
	// NumFlowsPerCell is Hosts x CellsPerRow: a cell's flow count divided by
	// 1 + the row's flow count (repeated over the 100 percentiles).
	NumFlowsPerCell []float64
	// Counts is Hosts x NumInputBuckets: flows per row and size bucket.
	Counts []int
}

// BuildInput builds the input feature map of p from its flowsim FCTs (ns, in
// p's order) and the parameter vector (see ParamVector), in the native library.
func BuildInput(p *scenario.Path, fctNs []float64, params [NumParams]float64) (*Input, error) {
	if p.Hosts < 2 {
		return nil, fmt.Errorf("features %s: %d hosts, want >= 2", p.Name, p.Hosts)
	}
	if len(fctNs) != p.Len() {
		return nil, fmt.Errorf("features %s: %d flowsim FCTs for %d flows", p.Name, len(fctNs), p.Len())
	}
	f, err := bindings.NewFeatures()
	if err != nil {
		return nil, fmt.Errorf("features %s: %w", p.Name, err)
	}
	defer f.Close()
	h := p.Hosts
	in := &Input{
		Hosts:           h,
		Res:             make([]float32, h*RowWidth),
		NumFlowsPerCell: make([]float64, h*CellsPerRow),
		Counts:          make([]int, h*NumInputBuckets),
	}
	counts := make([]int64, h*NumInputBuckets)
	if err := f.Build(h, p.SizeBytes, p.Src, p.Dst, fctNs, params[:], in.Res, in.NumFlowsPerCell, counts); err != nil {
		return nil, inputError(p, err)
	}
	for i, c := range counts {
		in.Counts[i] = int(c)
	}
	return in, nil
}

// Percentiles writes percentiles 1..100 of the ascending values to out, by
// numpy's 'nearest' method: value[round-half-even((n-1) * (p/100))]. libm4
// owns it (m4_features_percentiles, which builds the input map too); an
// error for no values, or without cgo.
func Percentiles(sorted []float64, out *[NumPercentiles]float64) error {
	return bindings.Percentiles(sorted, out)
}

// Output is the model target of one path scenario: packet-level slowdowns of
// its foreground flows (0 -> H-1).
type Output struct {
	// ResOutput is m3's "res_output": per output size bucket, the slowdown
	// percentiles 1..100; an empty bucket holds ones.
	ResOutput []float32
	// NumFlowsPerCellOutput is a cell's flow count / the foreground flows.
	NumFlowsPerCellOutput []float32
	Counts                [NumOutputBuckets]int
}

// BuildOutput builds the target from per-flow packet-level results: for flow
// i, its size, source and destination hosts, FCT and ideal FCT (ns; slowdown
// = fct / ideal). Only the foreground flows (0 -> hosts-1) count; there must be
// at least one.
func BuildOutput(hosts int, size []float64, src, dst []int32, fct, ideal []float64) (*Output, error) {
	n := len(size)
	if len(src) != n || len(dst) != n || len(fct) != n || len(ideal) != n {
		return nil, fmt.Errorf("features: mismatched lengths: %d sizes, %d src, %d dst, %d fct, %d ideal fct",
			n, len(src), len(dst), len(fct), len(ideal))
	}
	var cells [NumOutputBuckets][]float64
	fg := 0
	for i := 0; i < n; i++ {
		if src[i] != 0 || int(dst[i]) != hosts-1 {
			continue
		}
		if !(fct[i] > 0) || math.IsInf(fct[i], 0) {
			return nil, fmt.Errorf("features: FCT of flow %d is %v, want a finite time > 0", i, fct[i])
		}
		if !(ideal[i] > 0) || math.IsInf(ideal[i], 0) {
			return nil, fmt.Errorf("features: ideal FCT of flow %d is %v, want a finite time > 0", i, ideal[i])
		}
		b := OutputBucket(size[i])
		cells[b] = append(cells[b], fct[i]/ideal[i])
		fg++
	}
	if fg == 0 {
		return nil, fmt.Errorf("features: no foreground flow (host 0 to host %d): the target is undefined", hosts-1)
	}
	out := &Output{
		ResOutput:             make([]float32, OutputLen),
		NumFlowsPerCellOutput: make([]float32, OutputLen),
	}
	var pct [NumPercentiles]float64
	for b, vals := range cells {
		cnt := len(vals)
		out.Counts[b] = cnt
		if cnt < bucketThresh {
			for k := 0; k < NumPercentiles; k++ {
				out.ResOutput[b*NumPercentiles+k] = 1
			}
			continue
		}
		slices.Sort(vals)
		if err := Percentiles(vals, &pct); err != nil {
			return nil, fmt.Errorf("features: %w", err)
		}
		share := float32(cnt) / float32(fg)
		for k := 0; k < NumPercentiles; k++ {
			out.ResOutput[b*NumPercentiles+k] = float32(pct[k])
			out.NumFlowsPerCellOutput[b*NumPercentiles+k] = share
		}
	}
	return out, nil
}
