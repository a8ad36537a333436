// Package features builds m3's feature maps for a parking-lot path scenario:
// the model's input (flowsim slowdowns, bucketed by flow size and summarised
// at percentiles 1..100, one row per path segment, plus the configuration
// parameter vector) and its target (the packet-level slowdown percentiles of
// the foreground flows).
//
// The definitions follow m3's util/dataset.py and util/consts.py exactly, so
// that a map built here equals the feat_*.npz that m3's own code writes for the
// same scenario (checked on every reference scenario in reference_test.go):
//
//   - Slowdown of a flowsim estimate: (fct + d) / (ideal + d), clipped below at
//     1, where ideal = wire bytes * 8 / 10 Gbps, wire bytes = size +
//     ceil(size/1000)*48, and d is m3's per-flow base delay (BaseDelayNs).
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
	"fmt"
	"math"
	"slices"

	"m4/pipeline/scenario"
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

// m3's constants (util/consts.py): packets, link rate and delays.
const (
	mtu          = 1000.0 // payload bytes per packet
	headerBytes  = 48.0   // header bytes per packet
	linkGbps     = 10.0   // the bottleneck (host) link rate, bits per ns
	propDelayNs  = 1000.0 // DELAY_PROPAGATION_BASE, per link
	bitsPerByte  = 8.0
	bucketThresh = 1 // bucket_thold of m3's training config: a cell needs >= 1 flow
)

// inputEdges and outputEdges are m3's size-bucket edges in bytes
// (get_size_bucket_list and get_size_bucket_list_output with MTU 1000 and BDP
// 10 kB, the BDP m3 uses for every path length).
var (
	inputEdges  = [NumInputBuckets - 1]float64{250, 500, 750, 1000, 2000, 5000, 7500, 10000, 50000}
	outputEdges = [NumOutputBuckets - 1]float64{1000, 10000, 50000}
)

// InputBucket returns the input size bucket (0..9) of a flow of size bytes.
func InputBucket(size float64) int { return digitize(size, inputEdges[:]) }

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

// hopDelayNs is m3's LINK_TO_DELAY_DICT: extra propagation charged for a flow
// that starts or ends at an inner host of the path. m3 tabulates it for 3, 5
// and 7 hosts (0; 0 0 1 0 0 us; 0 0 1 2 1 0 0 us); the table is
// 1 us * max(0, min(i-1, H-2-i)), which is what this returns for any H.
func hopDelayNs(hosts int, host int32) float64 {
	d := min(int(host)-1, hosts-2-int(host))
	if d < 0 {
		d = 0
	}
	return propDelayNs * float64(d)
}

// BaseDelayNs is m3's base delay of one flow of a path (get_base_delay_pmn
// plus LINK_TO_DELAY_DICT in util/dataset.py): propagation and per-hop
// store-and-forward of the first packet, which m3 adds to both the flowsim FCT
// and the ideal FCT before dividing. The count of links it charges is the
// flow's hop count, plus one for a background flow and one more for a flow
// that touches neither end host.
func BaseDelayNs(hosts int, src, dst int32, size float64) float64 {
	var target, internal float64
	if src == 0 && int(dst) == hosts-1 {
		target = 1
	}
	if src != 0 && int(dst) != hosts-1 {
		internal = 1
	}
	hops := dst - src
	if hops < 0 {
		hops = -hops
	}
	links := float64(hops) + (1 - target) + internal
	head := math.Min(math.Max(size, 0), mtu)
	pkt := (head + headerBytes) * bitsPerByte
	// The operation order follows m3's numpy expression, so that the sums
	// round the same way.
	tx := pkt/linkGbps*target + pkt/(linkGbps*4)*(links-2) - pkt/linkGbps*internal
	return propDelayNs*links + tx + (hopDelayNs(hosts, src) + hopDelayNs(hosts, dst))
}

// IdealNs is m3's ideal FCT of a flow on the input side, without the base
// delay: its bytes on the wire at 10 Gbit/s.
func IdealNs(size float64) float64 {
	return (size + math.Ceil(size/mtu)*headerBytes) * bitsPerByte / linkGbps
}

// Slowdowns returns m3's input-side slowdown of every flow of p, given the
// flowsim FCTs (ns, in p's flow order, queueing + transmission as
// pipeline/flowsim returns them): (fct + d) / (ideal + d) with d =
// BaseDelayNs, clipped below at 1.
func Slowdowns(p *scenario.Path, fctNs []float64) ([]float64, error) {
	if len(fctNs) != p.Len() {
		return nil, fmt.Errorf("features %s: %d flowsim FCTs for %d flows", p.Name, len(fctNs), p.Len())
	}
	out := make([]float64, len(fctNs))
	for i, f := range fctNs {
		if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
			return nil, fmt.Errorf("features %s: flowsim FCT of flow %d is %v, want a finite time >= 0", p.Name, i, f)
		}
		d := BaseDelayNs(p.Hosts, p.Src[i], p.Dst[i], p.SizeBytes[i])
		s := (f + d) / (IdealNs(p.SizeBytes[i]) + d)
		out[i] = math.Max(s, 1)
	}
	return out, nil
}

// rowsOf appends to buf the feature-map rows of a flow from src to dst on an
// H-host path: row 0 for the foreground (0 -> H-1); for a background flow,
// row 1+l for every link l it crosses left to right.
func rowsOf(buf []int, hosts int, src, dst int32) []int {
	if src == 0 && int(dst) == hosts-1 {
		return append(buf, 0)
	}
	for l := src; l < dst; l++ {
		buf = append(buf, 1+int(l))
	}
	return buf
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
// p's order) and the parameter vector (see ParamVector).
func BuildInput(p *scenario.Path, fctNs []float64, params [NumParams]float64) (*Input, error) {
	if p.Hosts < 2 {
		return nil, fmt.Errorf("features %s: %d hosts, want >= 2", p.Name, p.Hosts)
	}
	for j, v := range params {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("features %s: parameter %d is %v", p.Name, j, v)
		}
	}
	sldn, err := Slowdowns(p, fctNs)
	if err != nil {
		return nil, err
	}
	h := p.Hosts
	// cells[row][bucket] collects the slowdowns of that cell.
	cells := make([][NumInputBuckets][]float64, h)
	var rows []int
	for i, s := range sldn {
		b := InputBucket(p.SizeBytes[i])
		rows = rowsOf(rows[:0], h, p.Src[i], p.Dst[i])
		for _, r := range rows {
			cells[r][b] = append(cells[r][b], s)
		}
	}
	in := &Input{
		Hosts:           h,
		Res:             make([]float32, h*RowWidth),
		NumFlowsPerCell: make([]float64, h*CellsPerRow),
		Counts:          make([]int, h*NumInputBuckets),
	}
	var pct [NumPercentiles]float64
	for r := 0; r < h; r++ {
		total := 0
		for b := range cells[r] {
			total += len(cells[r][b])
		}
		row := in.Res[r*RowWidth : (r+1)*RowWidth]
		for b, vals := range cells[r] {
			n := len(vals)
			in.Counts[r*NumInputBuckets+b] = n
			if n < bucketThresh {
				continue // zeros
			}
			slices.Sort(vals)
			Percentiles(vals, &pct)
			share := float64(float32(n)) / float64(1+total)
			for k := 0; k < NumPercentiles; k++ {
				row[b*NumPercentiles+k] = float32(pct[k])
				in.NumFlowsPerCell[r*CellsPerRow+b*NumPercentiles+k] = share
			}
		}
		for j, v := range params {
			row[CellsPerRow+j] = float32(v)
		}
	}
	return in, nil
}

// Percentiles writes percentiles 1..100 of the ascending values to out, by
// numpy's 'nearest' method: value[round-half-even((n-1) * (p/100))].
// sorted must not be empty.
func Percentiles(sorted []float64, out *[NumPercentiles]float64) {
	n1 := float64(len(sorted) - 1)
	for k := range out {
		q := float64(k+1) / 100
		out[k] = sorted[int(math.RoundToEven(n1*q))]
	}
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
		Percentiles(vals, &pct)
		share := float32(cnt) / float32(fg)
		for k := 0; k < NumPercentiles; k++ {
			out.ResOutput[b*NumPercentiles+k] = float32(pct[k])
			out.NumFlowsPerCellOutput[b*NumPercentiles+k] = share
		}
	}
	return out, nil
}
