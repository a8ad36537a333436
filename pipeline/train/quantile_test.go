package train

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/pipeline/dataset"
	"github.com/m4sim/m4/pipeline/features"
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
	l := mixedLossGrad(est, bd.target, bd.mask, []bool{false, true, false, false}, nil, cfg.Pct, 1, dout)
	// wantLoss: m3's loss on scenarios 0, 2, 3, the quantile loss on
	// scenario 1's buckets, bucket b (of all the batch's) weighted bw[b]
	// (1 for nil bw), each a mean over the batch's cells
	wantLoss := func(bw []float32) float64 {
		sum := 0.0
		for j := 0; j < 4; j++ {
			lo, hi := j*cfg.OutDim, (j+1)*cfg.OutDim
			if j != 1 {
				sum += dataset.Loss(est[lo:hi], bd.target[lo:hi], bd.mask[lo:hi]) * float64(cfg.OutDim) / n
				continue
			}
			for b := lo; b < hi; b += cfg.Pct {
				w := bd.mask[b]
				if bw != nil {
					w *= bw[b/cfg.Pct]
				}
				sum += float64(w) * QuantileLoss(est[b:b+cfg.Pct], bd.target[b:b+cfg.Pct], nil) * float64(cfg.Pct) / n
			}
		}
		return sum
	}
	for b := cfg.OutDim; b < 2*cfg.OutDim; b += cfg.Pct {
		g := make([]float32, cfg.Pct)
		QuantileLoss(est[b:b+cfg.Pct], bd.target[b:b+cfg.Pct], g)
		for k := range g {
			if got, w := dout[b+k], bd.mask[b]*g[k]/float32(n); math.Abs(float64(got-w)) > 1e-9 {
				t.Fatalf("cell %d: gradient %g, want %g", b+k, got, w)
			}
		}
	}
	if want := wantLoss(nil); math.Abs(float64(l)-want) > 1e-6*want {
		t.Errorf("loss %v, want %v", l, want)
	}
	// a tail weight scales the gradients of p91-p100 alone, not the loss
	dw := make([]float32, len(est))
	if lw := mixedLossGrad(est, bd.target, bd.mask, []bool{false, true, false, false}, nil, cfg.Pct, 3, dw); lw != l {
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
	// bucket weights scale a quantile scenario's buckets, loss and gradient,
	// and leave m3's loss alone
	nb := cfg.OutDim / cfg.Pct
	bw := make([]float32, 4*nb)
	for i := range bw {
		bw[i] = float32(1 + i%3)
	}
	db := make([]float32, len(est))
	lb := mixedLossGrad(est, bd.target, bd.mask, []bool{false, true, false, false}, bw, cfg.Pct, 1, db)
	for i := range db {
		w := float32(1)
		if i/cfg.OutDim == 1 {
			w = bw[i/cfg.Pct]
		}
		if math.Abs(float64(db[i]-w*dout[i])) > 1e-6*math.Abs(float64(dout[i])) {
			t.Fatalf("cell %d: gradient %g with bucket weight %g, %g without", i, db[i], w, dout[i])
		}
	}
	if wantB := wantLoss(bw); math.Abs(float64(lb)-wantB) > 1e-6*wantB || lb == l {
		t.Errorf("loss with bucket weights %v, want %v (without %v)", lb, wantB, l)
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
	gl := mixedLossGrad(out, bd.target, bd.mask, make([]bool, 4), nil, cfg.Pct, 1, dout)
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

// TestQuantileRule: which scenarios learn with the quantile loss.
func TestQuantileRule(t *testing.T) {
	lot := &dataset.Sample{Foreground: 300}
	few := &dataset.Sample{Foreground: 4, Network: true}
	many := &dataset.Sample{Foreground: 40, Network: true}
	none := &dataset.Sample{Network: true}
	cases := []struct {
		rule                  QuantileRule
		lot, few, many, empty bool
	}{
		{QuantileRule{}, false, false, false, false},
		{QuantileRule{Below: 10}, false, true, false, false},
		{QuantileRule{Network: true}, false, true, true, false},
		{QuantileRule{Below: 1000, Network: true}, true, true, true, false},
	}
	for _, c := range cases {
		got := []bool{c.rule.Applies(lot), c.rule.Applies(few), c.rule.Applies(many), c.rule.Applies(none)}
		if want := []bool{c.lot, c.few, c.many, c.empty}; !slices.Equal(got, want) {
			t.Errorf("%+v: lot, few, many, empty %v, want %v", c.rule, got, want)
		}
	}
}

// TestQuantileLossSmallSamples: targets that are the percentiles of 5 flows
// each (a cut path's bucket), drawn from one distribution. The quantile
// loss's minimum is that distribution's quantiles, tail included; m3's
// loss's is each percentile's median over the targets, whose top sits near
// the median of the largest of 5 draws: far below the distribution's p95.
func TestQuantileLossSmallSamples(t *testing.T) {
	const p, n = 20, 5
	r := rand.New(rand.NewPCG(5, 6))
	draw := func() float64 { return 1 - math.Log(1-r.Float64()) } // 1 + Exp(1)
	targets := make([][]float32, 1500)
	for i := range targets {
		flows := make([]float64, n)
		for j := range flows {
			flows[j] = draw()
		}
		slices.Sort(flows)
		tg := make([]float32, p)
		for k := range tg { // percentile (k+1)/p of the 5 flows, nearest rank
			tg[k] = float32(flows[min(n-1, int(math.Ceil(float64(k+1)*n/p))-1)])
		}
		targets[i] = tg
	}
	est := make([]float32, p)
	for k := range est {
		est[k] = 2
	}
	g := make([]float32, p)
	for it := 0; it < 600; it++ {
		sum := make([]float64, p)
		for _, tg := range targets {
			QuantileLoss(est, tg, g)
			for k := range g {
				sum[k] += float64(g[k])
			}
		}
		for k := range est {
			est[k] -= float32(0.1 * sum[k] / float64(len(targets)) * 3)
		}
	}
	top := make([]float64, len(targets))
	for i, tg := range targets {
		top[i] = float64(tg[p-1])
	}
	slices.Sort(top)
	m3Top := top[len(top)/2]                            // m3's loss: the median of the targets' top percentile
	want := 1 - math.Log(1-(float64(p)-0.5)/float64(p)) // the distribution's quantile 0.975
	if e := float64(est[p-1]); math.Abs(e-want) > 0.15*want {
		t.Errorf("top percentile %.3f, want the distribution's %.3f", e, want)
	}
	t.Logf("top percentile: m3's loss %.3f, the quantile loss %.3f, the distribution %.3f", m3Top, est[p-1], want)
	if !(m3Top < 0.8*want) {
		t.Errorf("the median of the top percentile (%.3f) is not far below the distribution's (%.3f): the case shows nothing", m3Top, want)
	}
}

// TestResumableLossChoice: a resume checkpoint trained with another loss
// choice (quantile rule or tail weight) is refused, the same one accepted.
func TestResumableLossChoice(t *testing.T) {
	o := Defaults()
	info := model.TrainInfo{Seed: o.Seed, Batch: o.Batch, LR: o.LR, Beta1: o.Beta1, Beta2: o.Beta2, Eps: o.Eps,
		WeightDecay: o.WeightDecay, Warmup: o.Warmup, EMA: o.EMA, PriorDecay: o.PriorDecay, Resamples: o.Resamples,
		QuantileBelow: o.QuantileBelow, TrainScenarios: 7, ValScenarios: 3}
	ck := &model.Checkpoint{Config: o.Config, Training: &info, Optim: &model.OptimState{}}
	if err := resumable("ck", ck, &o, 7, 3); err != nil {
		t.Fatalf("same run refused: %v", err)
	}
	for _, c := range []struct {
		name string
		edit func(*Options)
	}{
		{"quantile network", func(o *Options) { o.QuantileNet = true }},
		{"quantile below", func(o *Options) { o.QuantileBelow++ }},
		{"tail weight", func(o *Options) { o.TailWeight = 2 }},
		{"flow weight", func(o *Options) { o.FlowWeight = 1 }},
	} {
		oo := o
		c.edit(&oo)
		if err := resumable("ck", ck, &oo, 7, 3); err == nil {
			t.Errorf("%s: a different run resumed", c.name)
		}
	}
}

// TestFlowWeights: a bucket's weight is its flows over the mean of the
// quantile-loss training buckets that have flows; unknown counts weigh 1.
func TestFlowWeights(t *testing.T) {
	cut := &dataset.Sample{Foreground: 6, Network: true, BucketFlows: [4]int{4, 0, 2, 0}}
	big := &dataset.Sample{Foreground: 40, Network: true, BucketFlows: [4]int{30, 10, 0, 0}}
	lot := &dataset.Sample{Foreground: 300, BucketFlows: [4]int{100, 100, 100, 0}} // not a quantile scenario
	rule := QuantileRule{Below: 10, Network: true, Power: 1}
	mean := meanBucketFlows([]*dataset.Sample{cut, big, lot}, rule)
	if mean != 46.0/4 {
		t.Fatalf("mean %v, want 11.5", mean)
	}
	o := Defaults()
	o.QuantileBelow, o.QuantileNet, o.FlowWeight = 10, true, 1
	if r := o.Rule([]*dataset.Sample{cut, big, lot}); r != (QuantileRule{Below: 10, Network: true, Power: 1, Mean: 11.5}) {
		t.Errorf("the run's rule %+v", r)
	}
	rule.Mean = mean
	w := make([]float32, 4)
	rule.weights(big, w)
	if want := []float32{30 / 11.5, 10 / 11.5, 0, 0}; !slices.Equal(w, want) {
		t.Errorf("weights %v, want %v", w, want)
	}
	rule.weights(&dataset.Sample{Foreground: 3, Network: true}, w)
	if !slices.Equal(w, []float32{1, 1, 1, 1}) {
		t.Errorf("unknown counts: weights %v, want 1", w)
	}
	// the validation loss weighs the buckets alike
	est := make([]float32, features.OutputLen)
	big.Target, big.Mask = make([]float32, features.OutputLen), make([]float32, features.OutputLen)
	for i := range est {
		est[i], big.Target[i] = 1, 2
		if i < 2*features.NumPercentiles {
			big.Mask[i] = 1
		}
	}
	// each bucket's quantile loss is the mean of tau over the percentiles: 1/2
	if l, want := SampleLoss(est, big, rule), (30/11.5+10/11.5)*0.5/2; math.Abs(l-want) > 1e-6 {
		t.Errorf("weighted sample loss %v, want %v", l, want)
	}
	rule.Power = 0
	if l := SampleLoss(est, big, rule); math.Abs(l-0.5) > 1e-6 {
		t.Errorf("unweighted sample loss %v, want 0.5", l)
	}
	if m := meanBucketFlows([]*dataset.Sample{lot}, rule); m != 1 {
		t.Errorf("no quantile bucket: mean %v, want 1", m)
	}
	// power 1/2: the mean of the square roots
	rule.Power = 0.5
	if m, want := meanBucketFlows([]*dataset.Sample{cut, big}, rule), (2+math.Sqrt(2)+math.Sqrt(30)+math.Sqrt(10))/4; math.Abs(m-want) > 1e-12 {
		t.Errorf("power 1/2: mean %v, want %v", m, want)
	}
}
