package infer

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"sort"

	"github.com/m4sim/m4/pipeline/aggregate"
	"github.com/m4sim/m4/pipeline/decompose"
	"github.com/m4sim/m4/pipeline/features"
)

// Stratify draws a sample of n paths stratified by output bucket. The draws
// are shared out over the buckets that have flows, half equally and half
// in proportion to their flows (Allocate), so that a rare bucket, such as
// the few large flows, is estimated from hundreds of paths and a common one
// from no fewer than half of what drawing in proportion to flows (m3's
// sample) would give it. Within a bucket the draws are systematic over the
// flows ordered by how busy their paths are around their starts
// (Contention, windows contentionWindows): k draws from N flows take the
// flows at ranks u, u+N/k, u+2N/k, ... for one uniform u in [0, N/k), so
// every flow is still drawn with the same chance k/N as with independent
// draws, but calm and busy flows are each drawn in their share rather than
// by luck (on 26 fork runs this cut the sample's deviation from estimating
// every path by a fifth; docs/accuracy.md). Each draw takes its flow's
// path. Every path drawn then serves every bucket it has flows of,
// weighted by sampleWeights. It returns the distinct paths drawn
// (ascending) and how many of each bucket's draws took each.
func Stratify(d *decompose.Decomposition, n int, r *rand.Rand) (paths []int, draws [][aggregate.NumBuckets]int) {
	var byBucket [aggregate.NumBuckets][]int32
	for f, sz := range d.Flows.Size {
		b := features.OutputBucket(float64(sz))
		byBucket[b] = append(byBucket[b], int32(f))
	}
	var counts [aggregate.NumBuckets]int
	for b := range counts {
		counts[b] = len(byBucket[b])
	}
	alloc := Allocate(n, counts)
	busy := d.Contention(contentionWindows(d))
	got := map[int]*[aggregate.NumBuckets]int{}
	for b, k := range alloc {
		fl := byBucket[b]
		if k == 0 {
			continue
		}
		sortByKey(fl, busy)
		for _, f := range systematic(fl, k, r) {
			p := int(d.FlowPath[f])
			if got[p] == nil {
				got[p] = new([aggregate.NumBuckets]int)
			}
			got[p][b]++
		}
	}
	for p := range got {
		paths = append(paths, p)
	}
	sort.Ints(paths)
	draws = make([][aggregate.NumBuckets]int, len(paths))
	for i, p := range paths {
		draws[i] = *got[p]
	}
	return paths, draws
}

// sortByKey orders the flows fl by key (ties by flow, ascending), sorting
// (key, flow) pairs rather than looking keys up in the comparison.
func sortByKey(fl []int32, key []float64) {
	type kf struct {
		k float64
		f int32
	}
	p := make([]kf, len(fl))
	for i, f := range fl {
		p[i] = kf{key[f], f}
	}
	slices.SortFunc(p, func(a, b kf) int {
		if c := cmp.Compare(a.k, b.k); c != 0 {
			return c
		}
		return cmp.Compare(a.f, b.f)
	})
	for i := range p {
		fl[i] = p[i].f
	}
}

// systematic draws k of the flows fl (k > 0) at ranks u, u+N/k, u+2N/k,
// ... (N = len(fl); one uniform u in [0, N/k)): each flow is drawn k/N
// times on average, and each run of N/k consecutive flows once.
func systematic(fl []int32, k int, r *rand.Rand) []int32 {
	out := make([]int32, k)
	step := float64(len(fl)) / float64(k)
	u := r.Float64() * step
	for i := range out {
		out[i] = fl[min(len(fl)-1, int(u+float64(i)*step))]
	}
	return out
}

// contentionWindows are the windows, either side of each flow's start,
// over which Contention measures how busy the flow's path is: the time the
// flow itself takes to send at its first channel's rate, and no less than
// 20 us (a few round trips, where the queues a small flow meets build and
// drain). Measured on 26 fork runs against 5-50 us and against no window
// (the flows in start order): docs/accuracy.md.
func contentionWindows(d *decompose.Decomposition) []float64 {
	t := d.Routing.Topology()
	w := make([]float64, d.Flows.Len())
	for f := range w {
		_, _, gbps := t.Channel(d.PathChannels(int(d.FlowPath[f]))[0])
		w[f] = max(20e3, float64(d.Flows.Size[f])*8/gbps)
	}
	return w
}

// Allocate shares n draws out over buckets with the given flow counts:
// half equally over the buckets that have flows, half in proportion to
// their counts, rounded to whole draws by largest remainder (ties to the
// lower bucket) so that they sum to n. A bucket with flows gets at least
// one draw when n allows.
func Allocate(n int, counts [aggregate.NumBuckets]int) (alloc [aggregate.NumBuckets]int) {
	total, nonEmpty := 0, 0
	for _, c := range counts {
		total += c
		if c > 0 {
			nonEmpty++
		}
	}
	if total == 0 || n <= 0 {
		return alloc
	}
	var frac [aggregate.NumBuckets]float64
	left := n
	for b, c := range counts {
		if c == 0 {
			continue
		}
		x := float64(n) * (0.5/float64(nonEmpty) + 0.5*float64(c)/float64(total))
		alloc[b] = int(x)
		frac[b] = x - float64(alloc[b])
		left -= alloc[b]
	}
	for ; left > 0; left-- {
		best := -1
		for b, c := range counts {
			if c > 0 && (best < 0 || frac[b] > frac[best]) {
				best = b
			}
		}
		alloc[best]++
		frac[best] = -1
	}
	return alloc
}

// sampleWeights sets the paths' Draws and Weight for a stratified sample
// (Stratify) of a workload with the given flow counts per bucket. Bucket
// c's draws take path p with chance n_c(p)/N_c (n_c(p): p's foreground
// flows of bucket c; N_c: the workload's), so the sample as a whole takes
// p at a draw with chance q(p) = sum over c of (draws of c / draws) x
// n_c(p)/N_c. Each draw of p then stands for n_b(p)/(draws x q(p)) flows of
// bucket b (an importance weight: the balance heuristic of multiple
// importance sampling), scaled so that each bucket's weights sum to its
// true count. Where paths hold one flow each, this is a self-weighted
// sample of each bucket; where they hold several, a path drawn for one
// bucket informs the others too, as m3's sample does.
func sampleWeights(d *decompose.Decomposition, res []PathResult, draws [][aggregate.NumBuckets]int, counts [aggregate.NumBuckets + 1]int) {
	var nb [aggregate.NumBuckets]int // draws per bucket
	for _, dr := range draws {
		for b, k := range dr {
			nb[b] += k
		}
	}
	var tot [aggregate.NumBuckets]float64
	for i := range res {
		var fl [aggregate.NumBuckets]int
		for _, f := range d.Foreground(res[i].Path) {
			fl[features.OutputBucket(float64(d.Flows.Size[f]))]++
		}
		nq := 0.0 // draws x q(p)
		k := 0    // draws of p
		for c, n := range fl {
			if counts[c] > 0 {
				nq += float64(nb[c]) * float64(n) / float64(counts[c])
			}
			k += draws[i][c]
		}
		res[i].Draws = draws[i]
		for b, n := range fl {
			res[i].Weight[b] = float64(k) * float64(n) / nq
			tot[b] += res[i].Weight[b]
		}
	}
	for i := range res {
		for b := range tot {
			if tot[b] > 0 {
				res[i].Weight[b] *= float64(counts[b]) / tot[b]
			}
		}
	}
}
