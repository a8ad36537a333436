package train

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/internal/refdata"
	"github.com/m4sim/m4/pipeline/dataset"
	"github.com/m4sim/m4/pipeline/model"
)

func tinyConfig() bindings.ModelConfig {
	return bindings.ModelConfig{FeatDim: 10*5 + 3, BucketsIn: 10, Pct: 5, Dim: 16, Layers: 2, Heads: 2,
		Hidden: 24, MaxSeq: 8, MLPHidden1: 16, MLPHidden2: 16, OutDim: 20, NormEps: 1e-5, RopeTheta: 1e4, Dropout: 0.2}
}

// synthetic makes n scenarios whose target depends on the features of the
// foreground row and of the link rows, with some empty buckets.
func synthetic(cfg bindings.ModelConfig, n int, seed uint64) []*dataset.Sample {
	r := rand.New(rand.NewPCG(seed, 1))
	var out []*dataset.Sample
	for i := 0; i < n; i++ {
		h := 2 + r.IntN(5)
		s := &dataset.Sample{Dir: "synthetic", Group: string(rune('a' + i%20)), Hosts: h,
			Input:  model.Input{Hosts: h, Res: make([]float32, h*cfg.FeatDim), Empty: make([]uint8, h*cfg.BucketsIn)},
			Target: make([]float32, cfg.OutDim), Mask: make([]float32, cfg.OutDim)}
		load := 0.0
		for row := 0; row < h; row++ {
			base := 1 + 2*r.Float64()
			if row > 0 {
				load += base
			}
			for j := 0; j < cfg.FeatDim; j++ {
				s.Input.Res[row*cfg.FeatDim+j] = float32(base + 0.1*float64(j%cfg.Pct))
			}
			if r.IntN(4) == 0 {
				s.Input.Empty[row*cfg.BucketsIn+r.IntN(cfg.BucketsIn)] = 1
			}
		}
		for j := range s.Target {
			s.Target[j] = float32(1 + 0.5*load/float64(h-1)*(1+float64(j%cfg.Pct)/float64(cfg.Pct)))
			if r.IntN(5) > 0 {
				s.Mask[j] = 1
			}
		}
		out = append(out, s)
	}
	return out
}

func tinyOptions(out string) Options {
	o := Defaults()
	o.Config, o.Epochs, o.Batch, o.LR, o.Patience, o.Out, o.Seed = tinyConfig(), 3, 8, 3e-3, 0, out, 5
	o.Features = model.FeatureSpec{Name: "synthetic", RowWidth: tinyConfig().FeatDim}
	o.Normalize, o.EMA = true, 0.9
	return o
}

// TestResumeBitExact: 3 epochs straight equal 2 epochs, a stop, and a
// resumed third, bit for bit; and the checkpoint reloads to the same model.
func TestResumeBitExact(t *testing.T) {
	if !bindings.Native {
		t.Skip("needs the native library")
	}
	data := synthetic(tinyConfig(), 60, 1)
	tr, val := dataset.Split(data, 0.2, 3)
	dir := t.TempDir()
	straight := tinyOptions(filepath.Join(dir, "a.safetensors"))
	ra, err := Run(straight, tr, val)
	if err != nil {
		t.Fatal(err)
	}
	first := tinyOptions(filepath.Join(dir, "b.safetensors"))
	first.Epochs = 2
	if _, err := Run(first, tr, val); err != nil {
		t.Fatal(err)
	}
	again := tinyOptions(filepath.Join(dir, "b.safetensors"))
	again.Resume, again.Threads = true, 3 // other thread counts change nothing
	rb, err := Run(again, tr, val)
	if err != nil {
		t.Fatal(err)
	}
	if ra.Info.Steps != rb.Info.Steps || ra.Info.Epochs != 3 || rb.Info.Epochs != 3 {
		t.Fatalf("steps %d / %d, epochs %d / %d", ra.Info.Steps, rb.Info.Steps, ra.Info.Epochs, rb.Info.Epochs)
	}
	for i := range ra.Info.History {
		a, b := ra.Info.History[i], rb.Info.History[i]
		if a.TrainLoss != b.TrainLoss || a.ValLoss != b.ValLoss {
			t.Fatalf("epoch %d: losses %v/%v straight, %v/%v resumed", a.Epoch, a.TrainLoss, a.ValLoss, b.TrainLoss, b.ValLoss)
		}
	}
	pa, pb := ra.Best.Params, rb.Best.Params
	for i := range pa {
		if pa[i] != pb[i] {
			t.Fatalf("parameter %d: %g straight, %g resumed", i, pa[i], pb[i])
		}
	}
	// the resume files of both runs agree too
	sa, err := model.Load(ResumePath(straight.Out))
	if err != nil {
		t.Fatal(err)
	}
	sb, err := model.Load(ResumePath(first.Out))
	if err != nil {
		t.Fatal(err)
	}
	for i := range sa.Params {
		if sa.Params[i] != sb.Params[i] || sa.Optim.ExpAvgSq[i] != sb.Optim.ExpAvgSq[i] {
			t.Fatalf("resume state %d differs", i)
		}
	}
	// the best checkpoint on disk is the returned one, and predicts the same
	ck, err := model.Load(straight.Out)
	if err != nil {
		t.Fatal(err)
	}
	if ck.Training == nil || ck.Training.BestEpoch != ra.Info.BestEpoch || ck.Training.BestValLoss != ra.Info.BestValLoss {
		t.Fatalf("saved training info %+v", ck.Training)
	}
	e1, _ := Predict(ra.Best, val, 4, 1)
	e2, _ := Predict(ck, val, 7, 2)
	for i := range e1 {
		for j := range e1[i] {
			if e1[i][j] != e2[i][j] {
				t.Fatalf("reloaded checkpoint: scenario %d output %d: %g vs %g", i, j, e1[i][j], e2[i][j])
			}
		}
	}
	// resuming a finished run does nothing; resuming another run is refused
	done := tinyOptions(straight.Out)
	done.Resume = true
	if r, err := Run(done, tr, val); err != nil || r.Info.Steps != ra.Info.Steps {
		t.Errorf("resume of a finished run: %v", err)
	}
	other := tinyOptions(straight.Out)
	other.Resume, other.Seed, other.Epochs = true, 6, 5
	if _, err := Run(other, tr, val); err == nil || !strings.Contains(err.Error(), "seed 5") {
		t.Errorf("resume with another seed: %v", err)
	}
	missing := tinyOptions(filepath.Join(dir, "none.safetensors"))
	missing.Resume = true
	if _, err := Run(missing, tr, val); err == nil || !strings.Contains(err.Error(), "nothing to resume") {
		t.Errorf("resume without a checkpoint: %v", err)
	}
}

// TestTrainingLearns: the loss falls well below its start on a learnable
// synthetic task, and validation improves over the first epoch's.
func TestTrainingLearns(t *testing.T) {
	if !bindings.Native {
		t.Skip("needs the native library")
	}
	data := synthetic(tinyConfig(), 120, 2)
	tr, val := dataset.Split(data, 0.2, 1)
	o := tinyOptions("")
	o.Epochs, o.Config.Dropout = 25, 0.1
	res, err := Run(o, tr, val)
	if err != nil {
		t.Fatal(err)
	}
	h := res.Info.History
	if !(h[len(h)-1].TrainLoss < 0.5*h[0].TrainLoss) || !(res.Info.BestValLoss < 0.5*h[0].ValLoss) {
		t.Errorf("loss did not fall: first epoch %+v, last %+v, best validation %g", h[0], h[len(h)-1], res.Info.BestValLoss)
	}
	// early stopping: patience 1 stops at the first epoch that does not improve
	o.Patience, o.Epochs, o.LR = 1, 40, 0.05
	res, err = Run(o, tr, val)
	if err != nil {
		t.Fatal(err)
	}
	if res.Info.Epochs >= 40 || res.Info.Epochs != res.Info.BestEpoch+1 {
		t.Errorf("early stopping: stopped after %d epochs, best %d", res.Info.Epochs, res.Info.BestEpoch)
	}
}

func TestRunRejects(t *testing.T) {
	data := synthetic(tinyConfig(), 10, 3)
	o := tinyOptions("")
	o.Epochs = 0
	if _, err := Run(o, data, nil); err == nil || !strings.Contains(err.Error(), "epochs") {
		t.Errorf("0 epochs: %v", err)
	}
	o = tinyOptions("")
	if _, err := Run(o, nil, nil); err == nil || !strings.Contains(err.Error(), "no training scenarios") {
		t.Errorf("no data: %v", err)
	}
	if !bindings.Native {
		return
	}
	big := synthetic(tinyConfig(), 1, 4)[0]
	big.Hosts = 12
	if _, err := Run(o, []*dataset.Sample{big}, nil); err == nil || !strings.Contains(err.Error(), "12 hosts") {
		t.Errorf("too long a path: %v", err)
	}
}

// TestEvaluateReference evaluates a briefly trained model on m3-shards and
// checks the report's flowsim column against the known baseline.
func TestEvaluateReference(t *testing.T) {
	if !bindings.Native {
		t.Skip("needs the native library")
	}
	samples, err := dataset.Load(filepath.Join(refdata.Root(t), "m3-shards"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := bindings.DefaultModelConfig()
	cfg.Dim, cfg.Hidden, cfg.Layers, cfg.MLPHidden1, cfg.MLPHidden2 = 32, 64, 1, 32, 32
	o := Defaults()
	o.Config, o.Epochs, o.LR, o.Batch = cfg, 2, 1e-3, 10
	res, err := Run(o, samples, samples[:5])
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Evaluate(res.Best, samples, 16, 2, QuantileRule{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.All.N != 30 || math.Abs(rep.All.FlowsimLoss-0.1375) > 0.002 || len(rep.ByH) != 1 || len(rep.ByCC) != 4 {
		t.Errorf("report %+v", rep)
	}
	var sb strings.Builder
	rep.WriteMarkdown(&sb)
	if !strings.Contains(sb.String(), "| H=3 | 30 |") {
		t.Errorf("markdown:\n%s", sb.String())
	}
}

// TestFlowsimPrior: an untrained model with the prior answers with the mean
// of row 0's input buckets that make up each output bucket, whatever the
// transformer rows say, with and without input normalisation.
func TestFlowsimPrior(t *testing.T) {
	if !bindings.Native {
		t.Skip("needs the native library")
	}
	cfg := tinyConfig()
	cfg.MLPHidden1, cfg.MLPHidden2 = 24, 20
	data := synthetic(cfg, 6, 9)
	for _, s := range data {
		for i := range s.Input.Empty {
			if s.Input.Empty[i] != 0 { // an empty bucket reads as slowdown 1
				for p := 0; p < cfg.Pct; p++ {
					s.Input.Res[(i/cfg.BucketsIn)*cfg.FeatDim+(i%cfg.BucketsIn)*cfg.Pct+p] = 1
				}
			}
		}
	}
	for _, normalize := range []bool{false, true} {
		m, err := bindings.NewModel(cfg, len(data), 0, false)
		if err != nil {
			t.Fatal(err)
		}
		var norm *model.InputNorm
		if normalize {
			rows := [][]float32{}
			for _, s := range data {
				rows = append(rows, s.Input.Res)
			}
			norm = model.ComputeInputNorm(cfg.FeatDim, cfg.BucketsIn, cfg.Pct, rows, nil)
			m.SetInputNorm(norm.Shift, norm.Scale)
		}
		p := m.Params()
		if err := flowsimPrior(cfg, p, norm); err != nil {
			t.Fatal(err)
		}
		m.SetParams(p)
		var bd batchData
		idx := []int{0, 1, 2, 3, 4, 5}
		assemble(data, idx, &bd)
		out := make([]float32, len(idx)*cfg.OutDim)
		if err := m.Forward(bd.rows, bd.feat, bd.empty, false, 0, out); err != nil {
			t.Fatal(err)
		}
		for k, s := range data {
			for u := 0; u < cfg.OutDim; u++ {
				ibs := outputBucketInputs[u/cfg.Pct]
				want := 0.0
				for _, ib := range ibs {
					want += float64(s.Input.Res[ib*cfg.Pct+u%cfg.Pct])
				}
				want /= float64(len(ibs))
				if got := float64(out[k*cfg.OutDim+u]); math.Abs(got-want) > 1e-4*want {
					t.Fatalf("normalize %v, scenario %d output %d: %g, want %g", normalize, k, u, got, want)
				}
			}
		}
		m.Close()
	}
	small := tinyConfig()
	n, err := model.NumParams(small)
	if err != nil {
		t.Fatal(err)
	}
	if err := flowsimPrior(small, make([]float32, n), nil); err == nil {
		t.Error("MLP narrower than the output accepted")
	}
}

// TestFineTune: a run started from a checkpoint starts at its answer (a
// step too small to move it gives its validation loss) with its input
// standardisation, not one recomputed on the new data, and the run refuses a
// start that does not fit.
func TestFineTune(t *testing.T) {
	if !bindings.Native {
		t.Skip("needs the native library")
	}
	tr, val := dataset.Split(synthetic(tinyConfig(), 60, 1), 0.2, 3)
	base, err := Run(tinyOptions(""), tr, val)
	if err != nil {
		t.Fatal(err)
	}
	other := synthetic(tinyConfig(), 40, 9) // other data: other column statistics
	for _, s := range other {
		for i := range s.Input.Res {
			s.Input.Res[i] *= 3
		}
	}
	o := tinyOptions("")
	o.From, o.Epochs, o.LR, o.EMA = base.Best, 1, 1e-12, 0
	ft, err := Run(o, other, val)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ft.Info.History[0].ValLoss, base.Info.BestValLoss; math.Abs(got-want) > 1e-6*want {
		t.Errorf("validation loss after a vanishing step: %g, the start's %g", got, want)
	}
	bn, fn := base.Best.InputNorm, ft.Best.InputNorm
	for i := range bn.Shift {
		if bn.Shift[i] != fn.Shift[i] || bn.Scale[i] != fn.Scale[i] {
			t.Fatalf("input norm column %d: %g/%g, the start's %g/%g", i, fn.Shift[i], fn.Scale[i], bn.Shift[i], bn.Scale[i])
		}
	}
	for i, p := range base.Best.Params {
		if d := math.Abs(float64(ft.Best.Params[i] - p)); d > 1e-6 {
			t.Fatalf("parameter %d moved by %g", i, d)
		}
	}
	// another dropout is the same model (m4 train --init --dropout): it
	// trains, and the checkpoint records the dropout it trained with
	o.Config.Dropout = 0
	nd, err := Run(o, other, val)
	if err != nil {
		t.Fatalf("fine-tuning without dropout: %v", err)
	}
	if nd.Best.Config.Dropout != 0 || base.Best.Config.Dropout == 0 {
		t.Errorf("dropout %g fine-tuned from %g", nd.Best.Config.Dropout, base.Best.Config.Dropout)
	}
	if got, want := nd.Info.History[0].ValLoss, base.Info.BestValLoss; math.Abs(got-want) > 1e-6*want {
		t.Errorf("without dropout, validation loss after a vanishing step: %g, the start's %g", got, want)
	}
	bad := []struct {
		name string
		edit func(*Options)
		want string
	}{
		{"prior", func(o *Options) { o.Prior = true }, "flowsim prior"},
		{"config", func(o *Options) { o.Config.Dim = 32 }, "config"},
		{"norm", func(o *Options) { o.Normalize = false }, "standardisation"},
		{"features", func(o *Options) { o.Features.Name = "other" }, "features"},
	}
	for _, b := range bad {
		o := tinyOptions("")
		o.From = base.Best
		b.edit(&o)
		if _, err := Run(o, other, val); err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%s: %v, want an error naming %q", b.name, err, b.want)
		}
	}
}
