package train

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/pipeline/dataset"
	"github.com/m4sim/m4/pipeline/model"
)

// TestQuantileLossValues checks the loss and gradient by hand on a target of
// one flow (every value 2) and on a two-valued target.
func TestQuantileLossValues(t *testing.T) {
	cases := []struct {
		name        string
		est, target []float32
		loss        float64
		grad        []float32
	}{
		// tau = 0.25, 0.75; below the flow: tau * (2 - e); above: (1 - tau) * (e - 2)
		{"one flow", []float32{1, 3}, []float32{2, 2}, (0.25*1 + 0.25*1) / 2, []float32{-0.25, 0.25}},
		{"at the flow", []float32{2, 2}, []float32{2, 2}, 0, []float32{0.25, -0.25}},
		// targets 1 and 3, est 2 for both: each pays tau*1 + (1-tau)*1 over 2 values = 0.5
		{"two flows", []float32{2, 2}, []float32{1, 3}, 0.5, []float32{0.25, -0.25}},
	}
	for _, c := range cases {
		g := make([]float32, len(c.est))
		l := QuantileLoss(c.est, c.target, g)
		if math.Abs(l-c.loss) > 1e-12 {
			t.Errorf("%s: loss %v, want %v", c.name, l, c.loss)
		}
		for k := range g {
			if math.Abs(float64(g[k]-c.grad[k])) > 1e-7 {
				t.Errorf("%s: grad %v, want %v", c.name, g, c.grad)
				break
			}
		}
	}
}

// TestQuantileLossMinimum: over many one-flow targets drawn from a known
// distribution, the estimate that minimises the summed loss (found by
// following its gradient) is that distribution's quantiles (k - 1/2)/P, as
// the loss promises; m3's loss on the same targets puts every percentile at
// one value instead.
func TestQuantileLossMinimum(t *testing.T) {
	const p = 10
	r := rand.New(rand.NewPCG(3, 4))
	draws := make([]float32, 4000)
	for i := range draws {
		draws[i] = float32(1 + 4*r.Float64()) // uniform on [1, 5]
	}
	est := make([]float32, p)
	for k := range est {
		est[k] = 3
	}
	target := make([]float32, p)
	g := make([]float32, p)
	for it := 0; it < 400; it++ {
		sum := make([]float64, p)
		for _, d := range draws {
			for k := range target {
				target[k] = d
			}
			QuantileLoss(est, target, g)
			for k := range g {
				sum[k] += float64(g[k])
			}
		}
		for k := range est {
			est[k] -= float32(0.05 * sum[k] / float64(len(draws)) * 4) // scale: the distribution's width
		}
	}
	for k, e := range est {
		want := 1 + 4*(float64(k)+0.5)/p
		if math.Abs(float64(e)-want) > 0.12 {
			t.Errorf("percentile %d: %.3f, want the quantile %.3f", k, e, want)
		}
	}
	if !slices.IsSorted(est) || est[p-1]-est[0] < 3 {
		t.Errorf("estimates %v do not spread over the distribution", est)
	}
}

// TestMixedLossGrad: without quantile scenarios the gradient is m3's loss's
// as the native backward computes it (the same parameters' gradients, bit
// for bit); a quantile scenario's cells get QuantileLoss's gradient over the
// batch's cell count, and masked buckets none.
func TestMixedLossGrad(t *testing.T) {
	cfg := tinyConfig()
	data := synthetic(cfg, 4, 9)
	est := make([]float32, 4*cfg.OutDim)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range est {
		est[i] = float32(0.5 + 3*r.Float64())
	}
	var bd batchData
	assemble(data, []int{0, 1, 2, 3}, &bd)
	// a quantile scenario: its bucket masks are whole buckets
	for b := 0; b < cfg.OutDim; b += cfg.Pct {
		for k := 0; k < cfg.Pct; k++ {
			bd.mask[cfg.OutDim+b+k] = float32(b / cfg.Pct % 2)
		}
	}
	dout := make([]float32, len(est))
	n := float64(len(est))
	l := mixedLossGrad(est, bd.target, bd.mask, []bool{false, true, false, false}, cfg.Pct, 1, dout)
	want := 0.0
	for j := 0; j < 4; j++ {
		lo, hi := j*cfg.OutDim, (j+1)*cfg.OutDim
		if j != 1 {
			want += dataset.Loss(est[lo:hi], bd.target[lo:hi], bd.mask[lo:hi]) * float64(cfg.OutDim) / n
			continue
		}
		for b := lo; b < hi; b += cfg.Pct {
			g := make([]float32, cfg.Pct)
			ql := QuantileLoss(est[b:b+cfg.Pct], bd.target[b:b+cfg.Pct], g)
			for k := range g {
				if got, w := dout[b+k], bd.mask[b]*g[k]/float32(n); math.Abs(float64(got-w)) > 1e-9 {
					t.Fatalf("cell %d: gradient %g, want %g", b+k, got, w)
				}
			}
			want += float64(bd.mask[b]) * ql * float64(cfg.Pct) / n
		}
	}
	if math.Abs(float64(l)-want) > 1e-6*want {
		t.Errorf("loss %v, want %v", l, want)
	}
	// a tail weight scales the gradients of p91-p100 alone, not the loss
	dw := make([]float32, len(est))
	if lw := mixedLossGrad(est, bd.target, bd.mask, []bool{false, true, false, false}, cfg.Pct, 3, dw); lw != l {
		t.Errorf("loss with a tail weight %v, without %v", lw, l)
	}
	for i := range dw {
		w := float32(1)
		if i%cfg.Pct >= cfg.Pct*9/10 {
			w = 3
		}
		if math.Abs(float64(dw[i]-w*dout[i])) > 1e-6*math.Abs(float64(dout[i])) {
			t.Fatalf("cell %d (percentile %d): gradient %g with tail weight 3, %g without", i, i%cfg.Pct+1, dw[i], dout[i])
		}
	}
	if !bindings.Native {
		t.Skip("the native comparison needs the native library")
	}
	m, err := bindings.NewModel(cfg, 4, 0, true)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	m.Init(2)
	out := make([]float32, len(est))
	if err := m.Forward(bd.rows, bd.feat, bd.empty, true, 7, out); err != nil {
		t.Fatal(err)
	}
	nl, err := m.Backward(bd.target, bd.mask)
	if err != nil {
		t.Fatal(err)
	}
	g1 := m.Grads()
	gl := mixedLossGrad(out, bd.target, bd.mask, make([]bool, 4), cfg.Pct, 1, dout)
	if err := m.Forward(bd.rows, bd.feat, bd.empty, true, 7, out); err != nil {
		t.Fatal(err)
	}
	if err := m.BackwardDout(dout); err != nil {
		t.Fatal(err)
	}
	if math.Abs(float64(gl-nl)) > 1e-6*float64(nl) {
		t.Errorf("loss %v here, %v native", gl, nl)
	}
	for i, g := range m.Grads() {
		if g != g1[i] {
			t.Fatalf("gradient %d: %g from m3's loss gradient here, %g native", i, g, g1[i])
		}
	}
	if err := m.BackwardDout(dout[:len(dout)-1]); err == nil {
		t.Error("a gradient of the wrong length was accepted")
	}
}

// TestQuantileTraining: scenarios of one foreground flow whose slowdown is
// drawn from a distribution the features set (uniform on [1, 1 + 2a] for a
// feature a): trained with the quantile loss, the model's percentiles follow
// each scenario's distribution; trained with m3's loss (QuantileBelow 0)
// they collapse toward its middle.
func TestQuantileTraining(t *testing.T) {
	if !bindings.Native {
		t.Skip("needs the native library")
	}
	cfg := tinyConfig()
	r := rand.New(rand.NewPCG(11, 12))
	make1 := func(n int) []*dataset.Sample {
		var out []*dataset.Sample
		for i := 0; i < n; i++ {
			a := 0.5 + r.Float64()
			s := &dataset.Sample{Dir: "synthetic", Group: "g", Hosts: 3, Foreground: 1,
				Input:  model.Input{Hosts: 3, Res: make([]float32, 3*cfg.FeatDim), Empty: make([]uint8, 3*cfg.BucketsIn)},
				Target: make([]float32, cfg.OutDim), Mask: make([]float32, cfg.OutDim)}
			for j := range s.Input.Res {
				s.Input.Res[j] = float32(a)
			}
			v := float32(1 + 2*a*r.Float64())
			for j := 0; j < cfg.Pct; j++ { // the flow is in bucket 0
				s.Target[j], s.Mask[j] = v, 1
			}
			for j := cfg.Pct; j < cfg.OutDim; j++ {
				s.Target[j] = 1
			}
			out = append(out, s)
		}
		return out
	}
	train := make1(3000)
	spread := func(quantileBelow int) (lo, hi float64) {
		o := tinyOptions("")
		o.Epochs, o.Batch, o.LR, o.EMA, o.QuantileBelow = 6, 20, 3e-3, 0, quantileBelow
		o.Config.Dropout = 0
		res, err := Run(o, train, nil)
		if err != nil {
			t.Fatal(err)
		}
		probe := make1(1)[0]
		for j := range probe.Input.Res {
			probe.Input.Res[j] = 1 // a = 1: slowdowns uniform on [1, 3]
		}
		est, err := Predict(res.Best, []*dataset.Sample{probe}, 1, 1)
		if err != nil {
			t.Fatal(err)
		}
		return float64(est[0][0]), float64(est[0][cfg.Pct-1])
	}
	lo, hi := spread(10)
	// quantiles 0.1 and 0.9 of uniform [1, 3]: 1.2 and 2.8
	if math.Abs(lo-1.2) > 0.2 || math.Abs(hi-2.8) > 0.2 {
		t.Errorf("quantile loss: percentiles 10 and 90 at %.3f and %.3f, want about 1.2 and 2.8", lo, hi)
	}
	lo3, hi3 := spread(0)
	if hi3-lo3 > 0.5*(hi-lo) {
		t.Errorf("m3's loss: percentiles 10 and 90 at %.3f and %.3f, expected them squeezed together", lo3, hi3)
	}
	t.Logf("quantile loss: p10 %.3f p90 %.3f; m3 loss: p10 %.3f p90 %.3f", lo, hi, lo3, hi3)
}
