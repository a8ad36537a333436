package model

import (
	"strings"
	"testing"

	"github.com/m4sim/m4/bindings"
)

// A column that held 1 - another is freed: the copy gives the original's
// outputs whatever the freed column now holds, and a new value there starts
// with no effect.
func TestReuseComplement(t *testing.T) {
	if !bindings.Native {
		t.Skip("needs the native library")
	}
	ck := testCheckpoint(false)
	c := ck.Config
	fillSine(ck.Params, 0.7, 0.5)
	const keep, drop = 41, 42
	hosts := []int{3, 5, 3}
	var rows, moved [][]float32
	var empty [][]uint8
	for k, h := range hosts {
		r := make([]float32, h*c.FeatDim)
		for i := range r {
			r[i] = 1 + float32((i*5+k)%11)*0.3
		}
		for j := 0; j < h; j++ {
			on := float32((k + j) % 2)
			r[j*c.FeatDim+keep], r[j*c.FeatDim+drop] = on, 1-on
		}
		rows = append(rows, r)
		empty = append(empty, make([]uint8, h*c.BucketsIn))
		m := append([]float32(nil), r...)
		for j := 0; j < h; j++ {
			m[j*c.FeatDim+drop] = float32(7 * (k + 1)) // the new input
		}
		moved = append(moved, m)
	}
	ck.InputNorm = ComputeInputNorm(c.FeatDim, c.BucketsIn, c.Pct, rows, empty)
	if s := ck.InputNorm.Scale[keep]; s == 1 {
		t.Fatalf("column %d not standardised", keep)
	}
	up, err := ReuseComplement(ck, keep, drop, 10, 0.25)
	if err != nil {
		t.Fatal(err)
	}
	predict := func(x *Checkpoint, rs [][]float32) [][]float32 {
		e, err := NewEstimator(x, len(rs), 1)
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		in := make([]Input, len(rs))
		for k := range rs {
			in[k] = Input{Hosts: hosts[k], Res: rs[k], Empty: empty[k]}
		}
		out, err := e.Predict(in)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	want, got := predict(ck, rows), predict(up, moved)
	changed := false
	for s := range want {
		if d, i := maxRel(got[s], want[s]); d > 2e-5 {
			t.Errorf("scenario %d output %d: %g, original %g", s, i, got[s][i], want[s][i])
		}
		// the original reads the new input: a different answer
		if d, _ := maxRel(predict(ck, moved)[s], want[s]); d > 1e-3 {
			changed = true
		}
	}
	if !changed {
		t.Error("the original model ignores column", drop)
	}
	if up.InputNorm.Shift[drop] != 10 || up.InputNorm.Scale[drop] != 0.25 || ck.InputNorm.Shift[drop] == 10 {
		t.Errorf("norm of column %d: %g %g (original changed: %v)", drop, up.InputNorm.Shift[drop], up.InputNorm.Scale[drop], ck.InputNorm.Shift[drop] == 10)
	}
	for _, bad := range [][2]int{{drop, drop}, {3, drop}, {keep, c.FeatDim}} {
		if _, err := ReuseComplement(ck, bad[0], bad[1], 0, 1); err == nil {
			t.Errorf("columns %v accepted", bad)
		}
	}
	if _, err := UpgradeToV3(ck, 0, 1); err == nil || !strings.Contains(err.Error(), "m4-path-v2") {
		t.Errorf("upgrade of an m3-path-v1 checkpoint: %v", err)
	}
}
