package infer

import (
	"math"
	"testing"

	"github.com/m4sim/m4/ckpts"
	"github.com/m4sim/m4/pipeline/aggregate"
	"github.com/m4sim/m4/pipeline/decompose"
	"github.com/m4sim/m4/pipeline/features"
	"github.com/m4sim/m4/pipeline/model"
	"github.com/m4sim/m4/pipeline/pathfeat"
)

// Under m4-path-v3 each path's parameter block holds its own foreground
// flows: Run's estimates are those of the path built by hand with its count,
// and an upgraded checkpoint (zero weights on the count) answers as before.
func TestRunFeaturesV3(t *testing.T) {
	w, cfg := smallWorkload(t)
	ck2, err := model.Decode(ckpts.DefaultName, ckpts.Default)
	if err != nil {
		t.Fatal(err)
	}
	if ck2.Features.Name != features.V2 {
		t.Skipf("the default checkpoint reads %s", ck2.Features.Name)
	}
	ck3, err := model.UpgradeToV3(ck2, 2, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	run := func(ck *model.Checkpoint) (*Result, *model.Estimator) {
		est, err := model.NewEstimator(ck, 16, 1)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(est.Close)
		r, err := Run(w, cfg, est, Options{Workers: 2})
		if err != nil {
			t.Fatal(err)
		}
		return r, est
	}
	r2, _ := run(ck2)
	r3, _ := run(ck3)
	for b := 0; b <= aggregate.NumBuckets; b++ {
		for k := 1; k <= 100; k++ {
			g, want := r3.Model.Quantile(b, float64(k)/100), r2.Model.Quantile(b, float64(k)/100)
			if math.Abs(g-want) > 1e-4*want {
				t.Fatalf("upgraded: bucket %d p%d = %v, v2 %v", b, k, g, want)
			}
		}
	}

	// give the count a weight, then check paths against hand-built inputs
	ts, err := model.Tensors(ck3.Config)
	if err != nil {
		t.Fatal(err)
	}
	col := features.CellsPerRow + features.ForegroundParam
	for _, ts := range ts {
		if ts.Name == "model_mlp.0.weight" {
			for r := 0; r < ts.Shape[0]; r++ {
				ck3.Params[ts.Offset+r*ts.Shape[1]+col] = float32(r%7-3) * 0.05
			}
		}
	}
	r, est := run(ck3)
	d, err := decompose.New(w.Routing, &w.Flows)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[int]bool{}
	vec := cfg.Normalized(1).Vector()
	for i, p := range r.Paths {
		if i%25 != 0 {
			continue
		}
		fg := len(d.Foreground(p.Path))
		counts[fg] = true
		sc, err := d.Scenario(p.Path)
		if err != nil {
			t.Fatal(err)
		}
		params, err := features.ParamsFor(features.V3, sc.Hosts, true, fg, vec[:])
		if err != nil {
			t.Fatal(err)
		}
		if want := math.Log2(1 + float64(fg)); math.Abs(params[features.ForegroundParam]-want) > 1e-12 {
			t.Fatalf("path %d: parameter %g, want %g", p.Path, params[features.ForegroundParam], want)
		}
		pf, err := pathfeat.Build(sc, params)
		if err != nil {
			t.Fatal(err)
		}
		out, err := est.Predict([]model.Input{pf.Input})
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range out[0] {
			if g := p.Model[k/aggregate.NumPercentiles][k%aggregate.NumPercentiles]; math.Abs(g-float64(v)) > 1e-5*float64(v) {
				t.Fatalf("path %d (%d foreground flows) output %d: %v, by hand %v", p.Path, fg, k, g, v)
			}
		}
	}
	if len(counts) < 2 {
		t.Fatalf("paths checked have foreground counts %v: want at least two", counts)
	}
}
