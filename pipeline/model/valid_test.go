package model

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/m4sim/m4/bindings"
)

// TestPredictValid: the estimator's outputs are valid distributions (each
// bucket's percentiles >= 1 and non-decreasing), and are the raw outputs
// made so: raised to 1, then sorted.
func TestPredictValid(t *testing.T) {
	if !bindings.Native {
		t.Skip(bindings.ErrNoNative)
	}
	cfg := bindings.DefaultModelConfig()
	cfg.Dim, cfg.Layers, cfg.Heads, cfg.Hidden, cfg.MLPHidden1, cfg.MLPHidden2 = 8, 1, 2, 8, 16, 16
	m, err := bindings.NewModel(cfg, 1, 0, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Init(3); err != nil {
		t.Fatal(err)
	}
	ck := &Checkpoint{Config: cfg, Params: slices.Clone(m.Params()), Features: M3Features()}
	m.Close()
	est, err := NewEstimator(ck, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer est.Close()
	in := Input{Hosts: 3, Res: make([]float32, 3*cfg.FeatDim)}
	for j := range in.Res {
		in.Res[j] = float32(math.Sin(float64(j)))
	}
	raw, err := est.Raw([]Input{in})
	if err != nil {
		t.Fatal(err)
	}
	below, dips := 0, 0
	for k, v := range raw[0] {
		if v < 1 {
			below++
		}
		if k%cfg.Pct > 0 && v < raw[0][k-1] {
			dips++
		}
	}
	if below == 0 || dips == 0 {
		t.Fatalf("the raw outputs should need fixing here: %d below 1, %d dips", below, dips)
	}
	want := slices.Clone(raw[0])
	got, err := est.Predict([]Input{in})
	if err != nil {
		t.Fatal(err)
	}
	for b := 0; b < cfg.OutDim/cfg.Pct; b++ {
		w := want[b*cfg.Pct : (b+1)*cfg.Pct]
		for k := range w {
			w[k] = max(w[k], 1)
		}
		slices.Sort(w)
		if g := got[0][b*cfg.Pct : (b+1)*cfg.Pct]; !slices.Equal(g, w) {
			t.Fatalf("bucket %d: %v, want the raw outputs raised to 1 and sorted %v", b, g, w)
		}
	}

	// a calibrated checkpoint re-reads each bucket's curve at its levels,
	// after an encode and decode through libm4's reader
	lv := make([]float32, cfg.OutDim)
	for k := range lv {
		if b := k / cfg.Pct; b%2 == 1 {
			lv[k] = 0 // odd buckets: everything at the curve's first point
		} else {
			lv[k] = (float32(k%cfg.Pct) + 0.5) / float32(cfg.Pct) // even: identity
		}
	}
	ck.Calibration = lv
	img, err := Encode(ck, F32)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Decode("calibrated", img)
	if err != nil || !slices.Equal(back.Calibration, lv) {
		t.Fatalf("calibration after a round trip: %v (err %v)", back.Calibration, err)
	}
	ce, err := NewEstimator(back, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer ce.Close()
	cal, err := ce.Predict([]Input{in})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range cal[0] {
		w := got[0][k]
		if b := k / cfg.Pct; b%2 == 1 {
			w = got[0][b*cfg.Pct]
		}
		if math.Abs(float64(v-w)) > 1e-6*float64(w) {
			t.Fatalf("calibrated output %d: %g, want %g", k, v, w)
		}
	}
	ck.Calibration = lv[:10]
	if _, err := Encode(ck, F32); err == nil {
		t.Error("10 calibration levels encoded")
	}
	bad := slices.Clone(lv)
	bad[5] = 0 // decreasing within bucket 0
	ck.Calibration = bad
	if img, err = Encode(ck, F32); err != nil {
		t.Fatal(err)
	}
	if _, err := Decode("bad", img); err == nil || !strings.Contains(err.Error(), "calibration.levels") {
		t.Errorf("decreasing levels: %v", err)
	}
}
