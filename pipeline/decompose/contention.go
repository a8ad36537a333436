package decompose

import (
	"sort"

	"github.com/m4sim/m4/internal/parallel"
)

// Contention returns, for each flow, how busy its path is around its
// start: the largest, over the flow's channels, of the bytes carried by
// the flows that start on that channel within window[f] ns either side of
// flow f's start, over what the channel sends in that time (2 window[f]
// ns at its rate). It reads only the index (no simulation), so a path
// sample can be spread over calm and busy moments before any path is
// estimated. window holds a positive number of ns for every flow.
//
// Each channel is read once, on its own: a flow's window is found by
// galloping out from the flow's own place in the channel's list (ascending
// starts), so a channel of n flows costs n log(flows per window), not n
// log n.
func (d *Decomposition) Contention(window []float64) []float64 {
	t := d.Routing.Topology()
	nc := t.NumChannels()
	// cum[chStart[c]+c+i]: bytes of channel c's first i flows
	cum := make([]float64, len(d.chRec)+nc)
	// load[k]: the load around chRec[k]'s flow on chRec[k]'s channel
	load := make([]float64, len(d.chRec))
	_ = parallel.For(nc, 0, func(_, c int) error {
		lo, hi := int(d.chStart[c]), int(d.chStart[c+1])
		recs, base := d.chRec[lo:hi], lo+c
		for i, r := range recs {
			cum[base+i+1] = cum[base+i] + r.size
		}
		_, _, gbps := t.Channel(int32(c))
		for i, r := range recs {
			w := window[r.flow]
			a := firstFrom(recs, i, r.startNs-w)
			b := firstAfter(recs, i, r.startNs+w)
			load[lo+i] = (cum[base+b] - cum[base+a]) * 8 / (gbps * 2 * w)
		}
		return nil
	})
	out := make([]float64, d.Flows.Len())
	for k, r := range d.chRec {
		out[r.flow] = max(out[r.flow], load[k])
	}
	return out
}

// firstFrom returns the first j <= i with recs[j].startNs >= x, where
// recs[i].startNs >= x and starts ascend: galloping down from i to a place
// below x (or the front), then bisecting.
func firstFrom(recs []chanFlow, i int, x float64) int {
	below, at := -1, i // recs[below] < x (or none), recs[at] >= x
	for step := 1; ; step *= 2 {
		p := i - step
		if p < 0 {
			break
		}
		if recs[p].startNs < x {
			below = p
			break
		}
		at = p
	}
	return below + 1 + sort.Search(at-below-1, func(k int) bool { return recs[below+1+k].startNs >= x })
}

// firstAfter returns the first j > i with recs[j].startNs > x (len(recs)
// if none), where recs[i].startNs <= x and starts ascend: galloping up
// from i to a place above x (or the end), then bisecting.
func firstAfter(recs []chanFlow, i int, x float64) int {
	at, above := i, len(recs) // recs[at] <= x, recs[above] > x (or none)
	for step := 1; ; step *= 2 {
		p := i + step
		if p >= len(recs) {
			break
		}
		if recs[p].startNs > x {
			above = p
			break
		}
		at = p
	}
	return at + 1 + sort.Search(above-at-1, func(k int) bool { return recs[at+1+k].startNs > x })
}
