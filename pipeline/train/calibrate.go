package train

import (
	"fmt"
	"slices"
	"sort"

	"github.com/m4sim/m4/pipeline/dataset"
	"github.com/m4sim/m4/pipeline/model"
)

// calBins is the resolution of the level axis the calibration measures on.
const calBins = 2000

// Calibrate measures where the true slowdowns of samples (held-out paths
// with packet-level truth) fall within ck's estimated percentile curves,
// without any calibration ck has, and returns the levels that make them
// fall as they should: for each output bucket, the share G(u) of true
// values at or below the curve's level u (the probability integral
// transform, with ties on a flat stretch of the curve, e.g. slowdown 1,
// spread over it) and, for reported percentile k, the level G^-1((k+1/2)/P)
// (the recalibration of Kuleshov et al., "Accurate Uncertainties for Deep
// Learning Using Calibrated Regression", 2018). The mixture of calibrated
// per-path curves then has the truth's share of flows below each of its
// percentiles. Each scenario's target row weighs its flows in the bucket
// (its P values 1/P of that each; 1 when the count is unknown), as m4 run
// mixes paths. Buckets with fewer than minRows rows keep identity levels;
// taper leaves the upper tail as the model reads it.
func Calibrate(ck *model.Checkpoint, samples []*dataset.Sample, threads, minRows int, taper Taper) ([]float32, *model.CalibrationInfo, error) {
	if err := taper.Check(); err != nil {
		return nil, nil, err
	}
	c := ck.Config
	P, B := c.Pct, c.OutDim/c.Pct
	base := *ck
	base.Calibration = nil
	est, err := Predict(&base, samples, 64, threads)
	if err != nil {
		return nil, nil, err
	}
	info := &model.CalibrationInfo{Scenarios: len(samples), Rows: make([]int, B), Before: make([][4]float64, B), MinRows: minRows}
	if taper != (Taper{1, 1}) {
		info.TaperFrom, info.TaperTo = &taper.From, &taper.To
	}
	levels := make([]float32, c.OutDim)
	for b := 0; b < B; b++ {
		hist := make([]float64, calBins)
		for i, s := range samples {
			if s.Mask[b*P] == 0 {
				continue
			}
			info.Rows[b]++
			w := 1.0 // the row's weight: its flows when known (the mixture m4 run makes)
			if n := s.BucketFlows[b]; n > 0 {
				w = float64(n)
			}
			q := est[i][b*P : (b+1)*P]
			for _, v := range s.Target[b*P : (b+1)*P] {
				lo, hi := pitRange(q, v)
				spread(hist, lo, hi, w/float64(P))
			}
		}
		cum := make([]float64, calBins+1) // G at the bin edges
		for j, h := range hist {
			cum[j+1] = cum[j] + h
		}
		total := cum[calBins]
		for k := range P {
			tau := (float64(k) + 0.5) / float64(P)
			if info.Rows[b] < minRows || total == 0 {
				levels[b*P+k] = float32(tau)
				continue
			}
			levels[b*P+k] = float32(taper.level(tau, inverse(cum, tau*total)))
		}
		for j, u := range []float64{0.1, 0.5, 0.9, 0.99} {
			if total > 0 {
				info.Before[b][j] = cum[int(u*calBins)] / total
			}
		}
	}
	for b := 0; b < B; b++ { // rounding must not break the order
		row := levels[b*P : (b+1)*P]
		for k := 1; k < P; k++ {
			row[k] = max(row[k], row[k-1])
		}
	}
	return levels, info, nil
}

// Taper says which percentiles calibration moves: those at levels up to
// From fully, none from To on (they keep level tau), and between the two a
// share that falls linearly from all to none. The model's curves can be off
// differently in the middle and in the tail (docs/accuracy.md,
// "Calibration"), so the middle can be re-read while the tail stays as it is
// (where a calibrated level below lies above it, the row's levels are kept
// non-decreasing, as always). Taper{1, 1} calibrates every percentile.
type Taper struct{ From, To float64 }

// Check says whether t's bounds make sense.
func (t Taper) Check() error {
	if !(t.From >= 0 && t.From <= t.To && t.To <= 1) {
		return fmt.Errorf("calibrate: taper from %g to %g: want 0 <= from <= to <= 1", t.From, t.To)
	}
	return nil
}

// level is the level percentile tau is read at, given its calibrated level
// cal.
func (t Taper) level(tau, cal float64) float64 {
	switch {
	case tau <= t.From:
		return cal
	case tau >= t.To:
		return tau
	}
	a := (tau - t.From) / (t.To - t.From) // the share of tau
	return (1-a)*cal + a*tau
}

// pitRange is where value v sits on the curve q (P sorted points at levels
// (j+1/2)/P, linear between, flat beyond the ends): a level, or the range of
// levels where the curve equals v, or the stretch beyond an end.
func pitRange(q []float32, v float32) (lo, hi float64) {
	P := len(q)
	lt, _ := slices.BinarySearch(q, v) // points below v
	le := lt
	for le < P && q[le] == v {
		le++
	}
	lvl := func(j int) float64 { return (float64(j) + 0.5) / float64(P) }
	switch {
	case le > lt: // the curve is flat at v over points lt..le-1
		lo, hi = lvl(lt), lvl(le-1)
		if lt == 0 {
			lo = 0
		}
		if le == P {
			hi = 1
		}
	case lt == 0: // below the curve's lowest point
		lo, hi = 0, lvl(0)
	case lt == P: // above its highest
		lo, hi = lvl(P-1), 1
	default:
		f := float64(v-q[lt-1]) / float64(q[lt]-q[lt-1])
		lo = lvl(lt-1) + f/float64(P)
		hi = lo
	}
	return lo, hi
}

// spread adds mass w uniformly over the levels [lo, hi] of hist (a point
// when lo == hi).
func spread(hist []float64, lo, hi, w float64) {
	n := float64(len(hist))
	if hi <= lo {
		hist[min(int(lo*n), len(hist)-1)] += w
		return
	}
	for j := int(lo * n); j < len(hist) && float64(j) < hi*n; j++ {
		a, b := max(lo*n, float64(j)), min(hi*n, float64(j+1))
		if b > a {
			hist[j] += w * (b - a) / ((hi - lo) * n)
		}
	}
}

// inverse returns the level u at which the cumulative mass (cum, at the
// len(cum)-1 bin edges of [0, 1], linear within a bin) reaches m.
func inverse(cum []float64, m float64) float64 {
	n := len(cum) - 1
	j := sort.SearchFloat64s(cum, m) // the first edge whose mass reaches m
	if j == 0 {
		return 0
	}
	if j > n {
		return 1
	}
	a, b := cum[j-1], cum[j]
	f := 0.0
	if b > a {
		f = (m - a) / (b - a)
	}
	return (float64(j-1) + f) / float64(n)
}
