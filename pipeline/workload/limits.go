package workload

import (
	"errors"
	"fmt"
	"math"
)

// A spec can ask for far more than a machine holds (flows: 10^9, or
// duration_s: 1000 at a high rate): Generate estimates the workload's size
// from the spec before it draws a single flow, and refuses past the limits,
// saying how big it would be and how to raise the limit, instead of growing
// until the machine runs out of memory.

// DefaultMaxFlows is the flows a workload may have unless the caller raises
// the limit (m4's --max-flows): ten times the 10^6-flow, 2,048-host
// workloads m4 is measured on. At BytesPerFlow that is about 2.2 GB.
const DefaultMaxFlows = 10_000_000

// BytesPerFlow is the peak memory a workload's flow takes while it is
// generated and decomposed into paths (m4 run, before any path is
// estimated): 220 bytes, measured as the peak resident size of generating
// and decomposing the 10^6-flow workload of docs/reliability.md (223 MB).
const BytesPerFlow = 220

// MaxNodes bounds a topology's hosts and switches: routing keeps a
// distance per rack and switch, which grows with the square of the size.
// Meta's 6144-host cluster and k = 64 fat-trees (70,656 nodes) fit.
const MaxNodes = 1 << 17

// ErrTooLarge is wrapped by Generate's error for a workload past a limit.
var ErrTooLarge = errors.New("workload too large")

// Nodes returns the hosts and switches of the spec's topology (kind fabric
// or fattree; 0 for a file, whose size the file itself bounds), in float64
// so that absurd sizes compare as large instead of overflowing. Defaults
// must be filled in (Spec.Validate).
func (t TopologySpec) Nodes() float64 {
	switch t.Kind {
	case "fattree":
		k := float64(t.K)
		return k*k*k/4 + 5*k*k/4
	case "fabric":
		pods, fabs, racks := float64(t.Pods), float64(t.FabsPerPod), float64(t.RacksPerPod)
		return pods*racks*float64(t.HostsPerRack) + pods*racks + pods*fabs + fabs*max(racks, float64(t.SpinesPerPlane))
	}
	return 0
}

// checkNodes refuses a topology past MaxNodes before it is built.
func (s *Spec) checkNodes() error {
	if n := s.Topology.Nodes(); n > MaxNodes {
		return fmt.Errorf("%s: topology: %.0f hosts and switches, more than m4 routes (at most %d): %w", s.File, n, MaxNodes, ErrTooLarge)
	}
	return nil
}

// checkFlows refuses n flows (expected, for a duration) past maxFlows.
func (s *Spec) checkFlows(n float64, maxFlows int) error {
	if n <= float64(maxFlows) {
		return nil
	}
	what := fmt.Sprintf("flows = %d", s.Flows)
	if s.Flows == 0 {
		what = fmt.Sprintf("duration_s = %g gives about %.3g flows at this load", s.DurationS, n)
	}
	return fmt.Errorf("%s: %s, more than the limit of %d flows (they would take about %.3g GB to generate and decompose, at %d bytes a flow): %w",
		s.File, what, maxFlows, n*BytesPerFlow/1e9, BytesPerFlow, ErrTooLarge)
}

// expectedFlows is the flows a spec draws: Flows, or the arrivals that fit
// in DurationS at a mean gap of gapNs.
func (s *Spec) expectedFlows(gapNs float64) float64 {
	if s.Flows > 0 {
		return float64(s.Flows)
	}
	if !(gapNs > 0) {
		return math.Inf(1)
	}
	return s.DurationS * 1e9 / gapNs
}
