package infer

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
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
// mixture (pick) over a path sample: each of b replicates draws as many
// paths as the sample has draws, with replacement from its draws, and
// mixes their estimates as Mix does (a path drawn k times stands for k x
// scale flows); the interval holds the middle level of the replicates'
// percentiles. It reflects the sampling of paths only, not the model's
// error. Deterministic for seed.
func Bootstrap(paths []PathResult, scale float64, pick func(*PathResult) *[aggregate.NumBuckets][aggregate.NumPercentiles]float64,
	b int, level float64, seed uint64) *Interval {
	var est []aggregate.PathEstimate
	var draws []int
	var share [][aggregate.NumBuckets]float64 // each path's flows split over its buckets
	for i := range paths {
		p := &paths[i]
		q := pick(p)
		if q == nil {
			continue
		}
		total := 0
		for _, n := range p.Flows {
			total += n
		}
		var e aggregate.PathEstimate
		e.Percentiles = *q
		var s [aggregate.NumBuckets]float64
		for k, n := range p.Flows {
			e.Weight[k] = float64(n)
			s[k] = float64(n) / float64(total)
		}
		est = append(est, e)
		draws = append(draws, p.Draws)
		share = append(share, s)
	}
	n := 0
	cum := make([]int, len(draws)) // draws up to and including each path
	for i, d := range draws {
		n += d
		cum[i] = n
	}
	if n == 0 || b < 2 {
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
	counts := make([][]int32, b)
	for rep := range counts {
		count := make([]int32, len(est))
		for range n {
			u := r.IntN(n)
			i, _ := slices.BinarySearch(cum, u+1) // first path whose draws reach u+1
			count[i]++
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
				for i := range w {
					for k := range w[i] {
						w[i][k] = scale * float64(counts[rep][i]) * share[i][k]
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
