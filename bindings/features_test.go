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
