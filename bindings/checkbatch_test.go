package bindings

import (
	"strings"
	"testing"
)

// TestCheckBatch: the batch layout both Forwards (CPU and GPU) check.
func TestCheckBatch(t *testing.T) {
	c := ModelConfig{FeatDim: 5, BucketsIn: 2, OutDim: 3}
	rows := []int32{2, 3} // 5 rows, 2 scenarios
	cases := []struct {
		nRows          []int32
		feat, empty, o int
		noEmpty        bool
		want           string // "" for no error
	}{
		{rows, 25, 10, 6, false, ""},
		{rows, 25, 0, 6, true, ""},
		{nil, 0, 0, 0, true, "empty batch"},
		{rows, 24, 10, 6, false, "24 feature values for 5 rows of 5"},
		{rows, 25, 9, 6, false, "9 empty flags for 5 rows of 2 buckets"},
		{rows, 25, 10, 5, false, "output of 5 values for 2 scenarios of 3"},
	}
	for i, k := range cases {
		var empty []uint8
		if !k.noEmpty {
			empty = make([]uint8, k.empty)
		}
		err := c.CheckBatch(k.nRows, make([]float32, k.feat), empty, make([]float32, k.o))
		if k.want == "" && err != nil || k.want != "" && (err == nil || err.Error() != k.want) {
			t.Errorf("case %d: %v, want %q", i, err, k.want)
		}
		if err != nil && strings.HasPrefix(err.Error(), "model") {
			t.Errorf("case %d: %q: callers add their own prefix", i, err)
		}
	}
}
