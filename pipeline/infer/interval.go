package infer

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"

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

// Bootstrap returns the percentile bootstrap interval of one estimator's
// mixture (pick) over a stratified path sample (Stratify): each of b
// replicates redraws every bucket's draws, as many as it had, with
// replacement from that bucket's own draws, and mixes the estimates as Mix
// does (a path's weight per draw as in the sample, each bucket's weights
// summing to its count); the interval holds the middle level of the
// replicates' percentiles. It reflects the sampling of paths only, not the
// model's error. Deterministic for seed.
func Bootstrap(paths []PathResult, pick func(*PathResult) *[aggregate.NumBuckets][aggregate.NumPercentiles]float64,
	b int, level float64, seed uint64) *Interval {
	var est []aggregate.PathEstimate
	var draws [][aggregate.NumBuckets]int
	var share [][aggregate.NumBuckets]float64 // a path's weight per draw
	var target [aggregate.NumBuckets]float64  // each bucket's weight
	for i := range paths {
		p := &paths[i]
		q := pick(p)
		if q == nil {
			continue
		}
		k := 0
		for _, d := range p.Draws {
			k += d
		}
		if k == 0 {
			continue
		}
		var e aggregate.PathEstimate
		e.Percentiles = *q
		var s [aggregate.NumBuckets]float64
		for j, n := range p.Flows {
			e.Weight[j] = float64(n)
			s[j] = p.Weight[j] / float64(k)
			target[j] += p.Weight[j]
		}
		est = append(est, e)
		draws = append(draws, p.Draws)
		share = append(share, s)
	}
	// per bucket: draws up to and including each path
	var n [aggregate.NumBuckets]int
	cum := make([][aggregate.NumBuckets]int, len(draws))
	for i, d := range draws {
		for k := range d {
			n[k] += d[k]
			cum[i][k] = n[k]
		}
	}
	all := 0
	for _, k := range n {
		all += k
	}
	if all == 0 || b < 2 {
		return nil
	}
	m := aggregate.NewMixture(est)
	qs := make([]float64, aggregate.NumPercentiles)
	for k := range qs {
		qs[k] = float64(k+1) / aggregate.NumPercentiles
	}
	// the draws of every replicate, in order (one random stream), then
	// their quantiles on all cores
	r := rand.New(rand.NewPCG(seed, 0x626f6f74))
	counts := make([][]int32, b) // per replicate, draws of each path
	for rep := range counts {
		count := make([]int32, len(est))
		for k, nk := range n {
			for range nk {
				u := r.IntN(nk)
				// first path whose bucket-k draws reach u+1
				i := sort.Search(len(cum), func(i int) bool { return cum[i][k] >= u+1 })
				count[i]++
			}
		}
		counts[rep] = count
	}
	outs := make([][aggregate.NumBuckets + 1][]float64, b)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(b, runtime.GOMAXPROCS(0)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := make([][aggregate.NumBuckets]float64, len(est))
			for {
				rep := int(next.Add(1) - 1)
				if rep >= b {
					return
				}
				var tot [aggregate.NumBuckets]float64
				for i := range w {
					for k := range w[i] {
						w[i][k] = float64(counts[rep][i]) * share[i][k]
						tot[k] += w[i][k]
					}
				}
				for i := range w {
					for k := range w[i] {
						if tot[k] > 0 {
							w[i][k] *= target[k] / tot[k]
						}
					}
				}
				m.Quantiles(w, qs, &outs[rep])
			}
		}()
	}
	wg.Wait()
	var reps [aggregate.NumBuckets + 1][aggregate.NumPercentiles][]float64
	for _, out := range outs {
		for k := range out {
			for j, v := range out[k] {
				if !math.IsNaN(v) {
					reps[k][j] = append(reps[k][j], v)
				}
			}
		}
	}
	iv := &Interval{Level: level}
	for k := range reps {
		for j, v := range reps[k] {
			if len(v) == 0 {
				iv.Lo[k][j], iv.Hi[k][j] = math.NaN(), math.NaN()
				continue
			}
			slices.Sort(v)
			iv.Lo[k][j] = v[int(math.Floor((1-level)/2*float64(len(v)-1)))]
			iv.Hi[k][j] = v[int(math.Ceil((1+level)/2*float64(len(v)-1)))]
		}
	}
	return iv
}
