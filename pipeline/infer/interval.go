package infer

import (
	"math"
	"math/rand/v2"
	"runtime"
	"sync"

	"github.com/m4sim/m4/internal/parallel"
	"github.com/m4sim/m4/pipeline/aggregate"
)

// Interval is a confidence interval of a network-wide estimate made from a
// sample of paths: per bucket (and all sizes at index NumBuckets) and
// percentile 1..100, the bounds of the middle Level of the bootstrap
// replicates.
type Interval struct {
	Level  float64
	Lo, Hi [aggregate.NumBuckets + 1][aggregate.NumPercentiles]float64
}

// Pick selects one estimator's percentiles of a path (nil: none).
type Pick func(*PathResult) *[aggregate.NumBuckets][aggregate.NumPercentiles]float64

// Bootstraps returns, for each of several estimators (picks) of a
// stratified path sample (Stratify), the percentile bootstrap interval of
// its mixture: each of b replicates redraws every bucket's draws, as many
// as it had, with replacement from that bucket's own draws, and mixes the
// estimates as the tests' Mix does (a path's weight per draw as in the
// sample, each bucket's weights summing to its count); the interval holds
// the middle level of the replicates' percentiles. It reflects the sampling
// of paths only, not the model's error. Deterministic for seed; an
// estimator's interval is nil without draws or with b < 2, and is what it
// would get bootstrapped alone with the same seed (the tests' Bootstrap).
// Estimators that have estimates of the same paths share the replicates'
// draws and weights, and each replicate is mixed for all of them at once.
func Bootstraps(paths []PathResult, picks []Pick, b int, level float64, seed uint64) []*Interval {
	ivs := make([]*Interval, len(picks))
	done := make([]bool, len(picks))
	for i := range picks {
		if done[i] {
			continue
		}
		s := newBootSample(paths, picks[i])
		// the estimators with estimates of the same paths as picks[i]
		var same []int
		for j := i; j < len(picks); j++ {
			if !done[j] && (j == i || s.covers(paths, picks[j])) {
				same = append(same, j)
				done[j] = true
			}
		}
		if s == nil || b < 2 {
			continue
		}
		// each estimator's values sorted while this goroutine draws the
		// replicates: work of two kinds side by side, not parallel.For's
		ms := make([]*aggregate.Mixture, len(same))
		var wg sync.WaitGroup
		for k, j := range same {
			wg.Go(func() { ms[k] = aggregate.NewMixture(s.estimates(paths, picks[j])) })
		}
		counts := s.draw(b, seed)
		wg.Wait()
		for k, iv := range s.intervals(ms, counts, level) {
			ivs[same[k]] = iv
		}
	}
	return ivs
}

// bootSample is what a bootstrap redraws: the paths of a sample that have
// an estimate and were drawn, their draws per bucket and weight per draw.
type bootSample struct {
	idx    []int // the paths' indexes in the caller's list
	share  [][aggregate.NumBuckets]float64
	flows  [][aggregate.NumBuckets]int
	target [aggregate.NumBuckets]float64 // each bucket's weight
	// owner[k][u] is the path (index in idx) of bucket k's draw u, the
	// draws in path order
	owner [aggregate.NumBuckets][]int32
}

// newBootSample collects the paths that pick has estimates of and that
// were drawn; nil if there are none.
func newBootSample(paths []PathResult, pick Pick) *bootSample {
	s := &bootSample{}
	all := 0
	for i := range paths {
		p := &paths[i]
		k := drawn(p, pick)
		if k == 0 {
			continue
		}
		var sh [aggregate.NumBuckets]float64 // a path's weight per draw
		for j := range p.Flows {
			sh[j] = p.Weight[j] / float64(k)
			s.target[j] += p.Weight[j]
		}
		n := int32(len(s.idx))
		for j, d := range p.Draws {
			for range d {
				s.owner[j] = append(s.owner[j], n)
			}
		}
		all += k
		s.idx = append(s.idx, i)
		s.share = append(s.share, sh)
		s.flows = append(s.flows, p.Flows)
	}
	if all == 0 {
		return nil
	}
	return s
}

// drawn is how many draws took path p, 0 where pick has no estimate of it.
func drawn(p *PathResult, pick Pick) int {
	if pick(p) == nil {
		return 0
	}
	k := 0
	for _, d := range p.Draws {
		k += d
	}
	return k
}

// covers says whether pick has estimates of the same paths as s.
func (s *bootSample) covers(paths []PathResult, pick Pick) bool {
	if s == nil {
		return newBootSample(paths, pick) == nil
	}
	n := 0
	for i := range paths {
		p := &paths[i]
		if drawn(p, pick) == 0 {
			continue
		}
		if n == len(s.idx) || s.idx[n] != i {
			return false
		}
		n++
	}
	return n == len(s.idx)
}

// estimates are pick's path estimates of s, weighted by their flows (the
// weights only say which buckets a path has).
func (s *bootSample) estimates(paths []PathResult, pick Pick) []aggregate.PathEstimate {
	est := make([]aggregate.PathEstimate, len(s.idx))
	for i, p := range s.idx {
		est[i].Percentiles = *pick(&paths[p])
		for j, n := range s.flows[i] {
			est[i].Weight[j] = float64(n)
		}
	}
	return est
}

// draw returns b replicates of s, in order from one random stream: per
// replicate, the draws of each path.
func (s *bootSample) draw(b int, seed uint64) [][]int32 {
	r := rand.New(rand.NewPCG(seed, 0x626f6f74))
	counts := make([][]int32, b)
	for rep := range counts {
		count := make([]int32, len(s.idx))
		for _, own := range s.owner {
			for range own {
				count[own[r.IntN(len(own))]]++
			}
		}
		counts[rep] = count
	}
	return counts
}

// intervals returns the interval of each mixture in ms under the
// replicates counts; they are mixed on all cores, several at a time
// (Mixture.QuantilesEach).
func (s *bootSample) intervals(ms []*aggregate.Mixture, counts [][]int32, level float64) []*Interval {
	b := len(counts)
	qs := make([]float64, aggregate.NumPercentiles)
	for k := range qs {
		qs[k] = float64(k+1) / aggregate.NumPercentiles
	}
	outs := make([][][aggregate.NumBuckets + 1][]float64, len(ms)) // per mixture, replicate
	// one block holds every replicate's quantiles
	block := make([]float64, len(ms)*b*(aggregate.NumBuckets+1)*len(qs))
	for k := range outs {
		outs[k] = make([][aggregate.NumBuckets + 1][]float64, b)
		for rep := range outs[k] {
			for j := range outs[k][rep] {
				outs[k][rep][j], block = block[:0:len(qs)], block[len(qs):]
			}
		}
	}
	const per = 8 // replicates a worker mixes at once
	workers := runtime.GOMAXPROCS(0)
	ws := make([][][][aggregate.NumBuckets]float64, workers) // per worker, per replicate
	// blocks of per replicates; nothing here fails
	_ = parallel.For((b+per-1)/per, workers, func(w, blk int) error {
		if ws[w] == nil {
			ws[w] = make([][][aggregate.NumBuckets]float64, per)
			for j := range ws[w] {
				ws[w][j] = make([][aggregate.NumBuckets]float64, len(s.idx))
			}
		}
		lo, hi := blk*per, min(blk*per+per, b)
		for j := range hi - lo {
			s.weights(counts[lo+j], ws[w][j])
		}
		for k, m := range ms {
			m.QuantilesEach(ws[w][:hi-lo], qs, outs[k][lo:hi])
		}
		return nil
	})
	ivs := make([]*Interval, len(ms))
	_ = parallel.For(len(ms), len(ms), func(_, k int) error {
		ivs[k] = percentileInterval(outs[k], level)
		return nil
	})
	return ivs
}

// weights sets w to a replicate's path weights: count[i] draws of path i,
// each bucket's weights scaled to sum to the sample's.
func (s *bootSample) weights(count []int32, w [][aggregate.NumBuckets]float64) {
	var tot [aggregate.NumBuckets]float64
	for i := range w {
		for k := range w[i] {
			w[i][k] = float64(count[i]) * s.share[i][k]
			tot[k] += w[i][k]
		}
	}
	for i := range w {
		for k := range w[i] {
			if tot[k] > 0 {
				w[i][k] *= s.target[k] / tot[k]
			}
		}
	}
}

// percentileInterval is the middle level of the replicates' quantiles
// (NaNs left out) per bucket and percentile.
func percentileInterval(outs [][aggregate.NumBuckets + 1][]float64, level float64) *Interval {
	iv := &Interval{Level: level}
	v := make([]float64, 0, len(outs))
	for k := range iv.Lo {
		for j := range iv.Lo[k] {
			v = v[:0]
			for _, out := range outs {
				if x := out[k][j]; !math.IsNaN(x) {
					v = append(v, x)
				}
			}
			if len(v) == 0 {
				iv.Lo[k][j], iv.Hi[k][j] = math.NaN(), math.NaN()
				continue
			}
			lo, hi := int(math.Floor((1-level)/2*float64(len(v)-1))), int(math.Ceil((1+level)/2*float64(len(v)-1)))
			iv.Hi[k][j] = nth(v, hi)
			iv.Lo[k][j] = nth(v[:hi+1], lo) // nth left the hi+1 smallest in front
		}
	}
	return iv
}

// nth returns the k-th smallest of v (0-based; what v[k] would be sorted),
// reordering v so that v[:k] hold values <= it and v[k+1:] values >= it
// (Hoare's selection, the middle of three as pivot).
func nth(v []float64, k int) float64 {
	lo, hi := 0, len(v)-1
	for hi > lo {
		m := lo + (hi-lo)/2
		// the median of v[lo], v[m], v[hi] to v[m]
		if v[m] < v[lo] {
			v[m], v[lo] = v[lo], v[m]
		}
		if v[hi] < v[m] {
			v[hi], v[m] = v[m], v[hi]
			if v[m] < v[lo] {
				v[m], v[lo] = v[lo], v[m]
			}
		}
		p := v[m]
		i, j := lo, hi
		for i <= j {
			for v[i] < p {
				i++
			}
			for v[j] > p {
				j--
			}
			if i <= j {
				v[i], v[j] = v[j], v[i]
				i++
				j--
			}
		}
		// v[lo:j+1] <= p <= v[i:hi+1], and v[j+1:i] == p
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return v[k]
		}
	}
	return v[k]
}
