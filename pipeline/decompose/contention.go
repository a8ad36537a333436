package decompose

import (
	"sort"

	"github.com/m4sim/m4/internal/parallel"
)

// Contention returns, for each flow, how busy its path is around its
// start: the largest, over the flow's channels, of the bytes carried by
// the flows that start on that channel within window(f) ns either side of
// flow f's start, over what the channel sends in that time (2 window(f)
// ns at its rate). It reads only the index (no simulation), so a path
// sample can be spread over calm and busy moments before any path is
// estimated. window must return a positive number of ns; it is called
// from several goroutines.
func (d *Decomposition) Contention(window func(f int) float64) []float64 {
	t := d.Routing.Topology()
	// cum[chStart[c]+c+i]: bytes of channel c's first i flows
	cum := make([]float64, len(d.chRec)+t.NumChannels())
	for c := range t.NumChannels() {
		lo, hi := int(d.chStart[c]), int(d.chStart[c+1])
		base := lo + c
		for i := lo; i < hi; i++ {
			cum[base+i-lo+1] = cum[base+i-lo] + d.chRec[i].size
		}
	}
	n := d.Flows.Len()
	out := make([]float64, n)
	const chunk = 4096
	_ = parallel.For((n+chunk-1)/chunk, 0, func(_, k int) error {
		for f := k * chunk; f < min(n, (k+1)*chunk); f++ {
			w := window(f)
			s := float64(d.Flows.StartNs[f])
			best := 0.0
			for _, c := range d.PathChannels(int(d.FlowPath[f])) {
				lo, hi := int(d.chStart[c]), int(d.chStart[c+1])
				recs := d.chRec[lo:hi]
				a := sort.Search(len(recs), func(i int) bool { return recs[i].startNs >= s-w })
				b := sort.Search(len(recs), func(i int) bool { return recs[i].startNs > s+w })
				_, _, gbps := t.Channel(c)
				base := lo + int(c)
				best = max(best, (cum[base+b]-cum[base+a])*8/(gbps*2*w))
			}
			out[f] = best
		}
		return nil
	})
	return out
}
