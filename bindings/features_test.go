//go:build cgo

package bindings

import (
	"strings"
	"testing"
)

// EmptyBuckets is m4_features_empty_buckets: m3's rule at its threshold (a
// bucket's mean below 1e-12), and a length that does not match is refused.
func TestEmptyBuckets(t *testing.T) {
	shares := []float64{0, 0, 0, 2.9e-12, 1.9e-12, 0, 0.5, 0}
	empty := []uint8{9, 9, 9, 9}
	if err := EmptyBuckets(shares, 2, empty); err != nil {
		t.Fatal(err)
	}
	if want := []uint8{1, 0, 1, 0}; string(empty) != string(want) {
		t.Errorf("empty %v, want %v", empty, want)
	}
	if err := EmptyBuckets(shares, 3, empty); err == nil || !strings.Contains(err.Error(), "8 values for 4 buckets of 3") {
		t.Errorf("mismatched lengths: %v", err)
	}
	if err := EmptyBuckets(nil, 100, nil); err != nil {
		t.Errorf("no buckets: %v", err)
	}
}

// EmptyCounts is m4_features_empty_counts: the same flags from the counts
// (empty where no flow), and a length that does not match is refused.
func TestEmptyCounts(t *testing.T) {
	empty := []uint8{9, 9, 9, 9}
	if err := EmptyCounts([]int64{0, 3, 0, 1}, empty); err != nil {
		t.Fatal(err)
	}
	if want := []uint8{1, 0, 1, 0}; string(empty) != string(want) {
		t.Errorf("empty %v, want %v", empty, want)
	}
	if err := EmptyCounts([]int64{0, 1}, empty); err == nil || !strings.Contains(err.Error(), "2 counts for 4 buckets") {
		t.Errorf("mismatched lengths: %v", err)
	}
}

// Percentiles is m4_features_percentiles: numpy's 'nearest' (half-way
// indexes round to even), ties kept, and no values refused.
func TestPercentiles(t *testing.T) {
	var out [FeatPercentiles]float64
	if err := Percentiles([]float64{10, 20, 20, 30, 40}, &out); err != nil {
		t.Fatal(err)
	}
	// index rint(4 p/100): p12 -> 0.48 -> 0, p13 -> 0.52 -> 1, p50 -> 2, p62 -> 2.48 -> 2, p63 -> 3
	if got := [5]float64{out[11], out[12], out[49], out[61], out[62]}; got != [5]float64{10, 20, 20, 20, 30} {
		t.Errorf("p12, p13, p50, p62, p63 = %v", got)
	}
	if err := Percentiles([]float64{1, 2}, &out); err != nil || out[49] != 1 || out[50] != 2 {
		t.Errorf("p50 of (1, 2) = %v (half-way rounds to even index 0), p51 = %v: %v", out[49], out[50], err)
	}
	if err := Percentiles(nil, &out); err == nil {
		t.Error("percentiles of no values: no error")
	}
}
