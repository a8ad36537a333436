package dynamics

import (
	"fmt"
	"math"
	"sort"

	"github.com/m4sim/m4/bindings"
)

// Fluid simulates w as a fluid (max-min fair shares of the directed links,
// progressive filling at every change; a flow sends its payload plus 48 B
// per 1000 B and completes one route propagation delay after its last byte
// leaves) and returns its trace: FCTs, ideal FCTs (bindings.DynIdealNs, so
// a flow alone has slowdown 1), and after every arrival and departure each
// active flow's remaining payload bytes; a fluid has no queues. It is the
// analytic stand-in for a packet-level trace in tests.
func Fluid(w *bindings.DynWorkload) (*bindings.DynTrace, error) {
	if !bindings.Native {
		return nil, fmt.Errorf("fluid: ideal FCTs: %w", bindings.ErrNoNative)
	}
	if err := w.Check(false); err != nil {
		return nil, fmt.Errorf("fluid: %w", err)
	}
	nf, nl := len(w.FlowSize), len(w.LinkGbps)
	for i, r := range w.FlowRoute {
		if r < 0 || int(r) >= nl {
			return nil, fmt.Errorf("fluid: flow_route[%d] = %d is not a link id", i, r)
		}
	}
	route := func(f int) []int32 { return w.FlowRoute[w.FlowRoutePtr[f]:w.FlowRoutePtr[f+1]] }
	wire := make([]float64, nf)  // bytes left to send
	delay := make([]float64, nf) // route propagation delay
	ideal := make([]int64, nf)
	for f := range nf {
		if w.FlowSize[f] <= 0 || w.FlowStartNs[f] < 0 || len(route(f)) == 0 {
			return nil, fmt.Errorf("fluid: flow %d: size %d, start %d, %d links", f, w.FlowSize[f], w.FlowStartNs[f], len(route(f)))
		}
		s := float64(w.FlowSize[f])
		wire[f] = s + math.Ceil(s/1000)*48
		for _, l := range route(f) {
			delay[f] += float64(w.LinkDelayNs[l])
		}
		ideal[f] = int64(math.Round(bindings.DynIdealNs(w.FlowSize[f], route(f), w.LinkGbps, w.LinkDelayNs)))
	}
	total := append([]float64(nil), wire...)
	order := make([]int, nf)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return w.FlowStartNs[order[a]] < w.FlowStartNs[order[b]] })

	tr := &bindings.DynTrace{DynWorkload: *w, FlowFCTNs: make([]int64, nf), EvActivePtr: []int64{0}, EvQueuePtr: []int64{0}}
	tr.FlowIdealNs = ideal
	const (
		sending  = 1 // bytes left
		draining = 2 // last byte sent, completes at done[f]
	)
	state := make([]int, nf)
	done := make([]float64, nf)
	rate := make([]float64, nf) // bytes/ns
	var active []int            // arrival order
	t := float64(w.FlowStartNs[order[0]])
	next := 0
	record := func(kind int8, f int) {
		tr.EvTimeNs = append(tr.EvTimeNs, int64(math.Round(t)))
		tr.EvKind = append(tr.EvKind, kind)
		tr.EvFlow = append(tr.EvFlow, int32(f))
		for _, g := range active {
			rem := 0.0
			if state[g] == sending {
				rem = wire[g] / total[g] * float64(w.FlowSize[g])
			}
			tr.EvActiveFlow = append(tr.EvActiveFlow, int32(g))
			tr.EvActiveRemaining = append(tr.EvActiveRemaining, float32(rem))
		}
		tr.EvActivePtr = append(tr.EvActivePtr, int64(len(tr.EvActiveFlow)))
		tr.EvQueuePtr = append(tr.EvQueuePtr, 0)
	}
	for next < nf || len(active) > 0 {
		fill(w, active, state, sending, rate)
		// the earliest of: an arrival, a last byte sent, a completion
		tn := math.Inf(1)
		if next < nf {
			tn = float64(w.FlowStartNs[order[next]])
		}
		for _, g := range active {
			switch state[g] {
			case sending:
				tn = math.Min(tn, t+wire[g]/rate[g])
			case draining:
				tn = math.Min(tn, done[g])
			}
		}
		for _, g := range active {
			if state[g] == sending {
				wire[g] -= rate[g] * (tn - t)
				if wire[g] <= 1e-6*total[g] {
					wire[g], state[g], done[g] = 0, draining, tn+delay[g]
				}
			}
		}
		t = tn
		// completions first, then arrivals, each in flow order
		kept := active[:0]
		var gone []int
		for _, g := range active {
			if state[g] == draining && done[g] <= t {
				gone = append(gone, g)
			} else {
				kept = append(kept, g)
			}
		}
		active = kept
		sort.Ints(gone)
		for _, g := range gone {
			state[g] = 0
			tr.FlowFCTNs[g] = max(int64(math.Round(t))-w.FlowStartNs[g], 1)
			record(1, g)
		}
		for next < nf && float64(w.FlowStartNs[order[next]]) <= t {
			f := order[next]
			next++
			state[f] = sending
			active = append(active, f)
			record(0, f)
		}
	}
	return tr, nil
}

// fill sets rate[f] (bytes/ns) of every sending flow of active to its
// max-min fair share of the links (progressive filling).
func fill(w *bindings.DynWorkload, active, state []int, sending int, rate []float64) {
	capLeft := map[int32]float64{}
	users := map[int32]int{}
	var open []int
	for _, g := range active {
		if state[g] != sending {
			continue
		}
		open = append(open, g)
		for _, l := range w.FlowRoute[w.FlowRoutePtr[g]:w.FlowRoutePtr[g+1]] {
			capLeft[l] = w.LinkGbps[l] / 8
			users[l]++
		}
	}
	for len(open) > 0 {
		// the link whose equal share is smallest (lowest id on a tie)
		best, share := int32(-1), math.Inf(1)
		for l, n := range users {
			if n == 0 {
				continue
			}
			if s := capLeft[l] / float64(n); s < share || (s == share && l < best) {
				best, share = l, s
			}
		}
		kept := open[:0]
		for _, g := range open {
			r := w.FlowRoute[w.FlowRoutePtr[g]:w.FlowRoutePtr[g+1]]
			on := false
			for _, l := range r {
				on = on || l == best
			}
			if !on {
				kept = append(kept, g)
				continue
			}
			rate[g] = share
			for _, l := range r {
				capLeft[l] -= share
				users[l]--
			}
		}
		open = kept
	}
}
