package train

import (
	"math"
	"testing"
)

// TestPITRange: where a value sits on a 4-point curve (levels 1/8, 3/8, 5/8,
// 7/8): between points by interpolation, on a flat stretch over its levels,
// beyond the ends over the stretch the curve does not reach.
func TestPITRange(t *testing.T) {
	q := []float32{1, 1, 2, 4}
	for _, c := range []struct {
		v      float32
		lo, hi float64
	}{
		{1, 0, 0.375},     // the flat start: points 0 and 1, and below
		{1.5, 0.5, 0.5},   // halfway between 1 (3/8) and 2 (5/8)
		{3, 0.75, 0.75},   // halfway between 2 (5/8) and 4 (7/8)
		{4, 0.875, 1},     // the last point: it and beyond
		{9, 0.875, 1},     // above the curve
		{0.5, 0, 0.125},   // below it
		{2, 0.625, 0.625}, // exactly one point
	} {
		lo, hi := pitRange(q, c.v)
		if math.Abs(lo-c.lo) > 1e-9 || math.Abs(hi-c.hi) > 1e-9 {
			t.Errorf("v %g: [%g, %g], want [%g, %g]", c.v, lo, hi, c.lo, c.hi)
		}
	}
}

// TestCalibrationInverse: values that all sit in the lower half of the
// curves, uniformly, give levels tau/2: the median is read at level 1/4.
func TestCalibrationInverse(t *testing.T) {
	hist := make([]float64, calBins)
	spread(hist, 0, 0.5, 3) // mass 3 over [0, 1/2]
	spread(hist, 0.25, 0.25, 1)
	cum := make([]float64, calBins+1)
	for j, h := range hist {
		cum[j+1] = cum[j] + h
	}
	if math.Abs(cum[calBins]-4) > 1e-9 {
		t.Fatalf("total mass %g, want 4", cum[calBins])
	}
	for _, c := range []struct{ m, want float64 }{{0, 0}, {1, 1.0 / 6}, {2, 0.25}, {2.5, 0.25}, {3, 1.0 / 3}, {4, 0.5}} {
		if got := inverse(cum, c.m); math.Abs(got-c.want) > 1e-3 {
			t.Errorf("level reaching mass %g: %g, want %g", c.m, got, c.want)
		}
	}
}

// TestTaperLevel: a taper from 0.5 to 0.9 reads percentiles up to the
// median at their calibrated level, from 0.9 on at their own, and halfway
// (0.7) at the mean of the two; Taper{1, 1} calibrates everything.
func TestTaperLevel(t *testing.T) {
	for _, c := range []struct {
		taper          Taper
		tau, cal, want float64
	}{
		{Taper{0.5, 0.9}, 0.1, 0.04, 0.04},
		{Taper{0.5, 0.9}, 0.5, 0.3, 0.3},
		{Taper{0.5, 0.9}, 0.7, 0.5, 0.6},
		{Taper{0.5, 0.9}, 0.8, 0.6, 0.75},
		{Taper{0.5, 0.9}, 0.9, 0.8, 0.9},
		{Taper{0.5, 0.9}, 0.99, 0.95, 0.99},
		{Taper{1, 1}, 0.99, 0.95, 0.95},
		{Taper{0.5, 0.5}, 0.6, 0.4, 0.6},
	} {
		if got := c.taper.level(c.tau, c.cal); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%+v: level(%g, %g) = %g, want %g", c.taper, c.tau, c.cal, got, c.want)
		}
	}
	for _, bad := range []Taper{{0.9, 0.5}, {-0.1, 0.5}, {0.5, 1.1}, {math.NaN(), 1}} {
		if bad.Check() == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
	if (Taper{1, 1}).Check() != nil || (Taper{0, 0}).Check() != nil {
		t.Error("valid tapers refused")
	}
}
