//go:build cgo

package dynamics

import (
	"testing"

	"github.com/m4sim/m4/pipeline/cc"
	"github.com/m4sim/m4/pipeline/features"
)

// TestConfigFeatures: each algorithm lights its own one-hot entry, PFC and
// its complement are exact, and every value stays within [0, 1.5] for
// run_m3.py's defaults at m3's buffer and window extremes.
func TestConfigFeatures(t *testing.T) {
	for i, c := range []struct {
		cc     cc.CC
		buf    int
		win    int
		pfc    bool
		onehot int
	}{
		{cc.DCTCP, 300, 18000, true, 4},
		{cc.DCQCN, 32768, 64000, false, 5},
		{cc.HPCC, 256, 5000, true, 6},
		{cc.TIMELY, 1000, 30000, false, 7},
	} {
		v, err := ConfigFeatures(features.DefaultConfig(c.cc, c.buf, c.win, c.pfc))
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if len(v) != NumConfigFeatures {
			t.Fatalf("case %d: %d values", i, len(v))
		}
		for k := 4; k < 8; k++ {
			if want := float32(0); k == c.onehot && v[k] != 1 || k != c.onehot && v[k] != want {
				t.Errorf("case %d (%s): one-hot entry %d = %g", i, c.cc, k, v[k])
			}
		}
		if p := map[bool]float32{true: 1, false: 0}[c.pfc]; v[2] != p || v[3] != 1-p {
			t.Errorf("case %d: pfc entries %g, %g", i, v[2], v[3])
		}
		for k, x := range v {
			if x < 0 || x > 1.5 {
				t.Errorf("case %d (%s): value %d = %g, want in [0, 1.5]", i, c.cc, k, x)
			}
		}
	}
}
