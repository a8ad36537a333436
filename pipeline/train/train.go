// Package train trains m4's model on path scenarios with ground truth, as m3
// trains it: AdamW (lr 1e-4, betas 0.9/0.95, weight decay 0.02 on the
// transformer's 2-D weights only), batches of 20, dropout 0.2 inside the
// transformer, m3's masked relative L1 loss; with per-epoch validation,
// early stopping, and an atomic checkpoint every epoch.
//
// Every random choice (initialisation, the order of each epoch, every
// dropout mask) is a function of the seed and the epoch or step, and the
// native kernels give the same results on any number of threads, so a run is
// deterministic for a seed, and a run resumed from its last checkpoint goes
// on bit for bit as if it had never stopped.
//
// Files: Options.Out holds the best model so far (by validation loss; F32
// parameters and metadata, what m4 predict loads); Out + ".resume" holds the
// last epoch's full state (parameters, AdamW moments, counters, history).
package train

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"math/rand/v2"
	"time"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/internal/progress"
	"github.com/m4sim/m4/pipeline/dataset"
	"github.com/m4sim/m4/pipeline/features"
	"github.com/m4sim/m4/pipeline/model"
)

// Options configure a run; Defaults gives m3's.
type Options struct {
	Config        bindings.ModelConfig
	Epochs        int     // most epochs
	Batch         int     // scenarios per step
	LR            float64 // AdamW learning rate
	Beta1         float64
	Beta2         float64
	Eps           float64
	WeightDecay   float64           // on the tensors with Decay set
	Patience      int               // stop after this many epochs without a better validation loss (0: never)
	Warmup        int               // steps over which the learning rate ramps up linearly from 0 (0: none, as m3)
	PriorDecay    float64           // with Prior: pull the MLP back toward its flowsim-prior start, p -= lr * PriorDecay * (p - p0), every step
	Resamples     int               // add this many bootstrap resamples of every training parking lot (dataset.ResamplesOf; never of validation ones, quantile-loss ones or paths cut from workloads)
	QuantileBelow int               // training scenarios with 1 to QuantileBelow-1 foreground flows (paths cut from datacenter workloads) learn with QuantileLoss instead of m3's loss (0: never)
	QuantileNet   bool              // every path cut from a workload learns with QuantileLoss, whatever its flows (QuantileRule)
	FlowWeight    float64           // weight each quantile-loss bucket by its flows to this power (QuantileRule; 0: none)
	TailWeight    float64           // weight of the gradients of the top tenth of the percentiles (tailWeight; 0 or 1: none)
	EMA           float64           // keep an exponential moving average of the parameters with this decay per step, validate and save it (0: none, as m3)
	Seed          uint64            // initialisation, shuffling and dropout
	Threads       int               // kernel threads (results do not depend on it)
	Out           string            // checkpoint path ("" writes nothing)
	Resume        bool              // carry on from Out + ".resume"
	Features      model.FeatureSpec // stored in the checkpoints (zero: m3's)
	Normalize     bool              // standardise the input columns (model.ComputeInputNorm on the training set)
	Prior         bool              // start the MLP at flowsim's answer (see flowsimPrior)
	// From fine-tunes: the run starts at this checkpoint's parameters and
	// input standardisation instead of a fresh initialisation (nil: fresh).
	// Its config and feature definition must be this run's; no prior.
	From     *model.Checkpoint
	Progress io.Writer
	Log      *slog.Logger
	// Context stops the run when it is done (a signal): between steps, with
	// the checkpoints of the last finished epoch in place. nil: never.
	Context context.Context
	// Info is copied into the checkpoints' training metadata (command,
	// data, split); counters and hyper-parameters are filled in here.
	Info model.TrainInfo
}

// Defaults returns m3's training setup (config/train_config_path.yaml):
// 500 epochs, batch 20, lr 1e-4, betas (0.9, 0.95), weight decay 0.02.
func Defaults() Options {
	return Options{Config: bindings.DefaultModelConfig(), Epochs: 500, Batch: 20, LR: 1e-4,
		Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WeightDecay: 0.02, Patience: 50, Seed: 1, Threads: 1}
}

// Recipe returns m4's default training: m3's model at width 128 (2 blocks,
// SwiGLU 384, MLP 512-512: 1.6M parameters, as accurate on the validation
// split as m3's 18.1M and four times faster to train), m3's optimiser, plus
// input standardisation, the flowsim prior, a parameter average (EMA 0.998)
// and 9 bootstrap resamples per training scenario; see docs/accuracy.md for
// what each adds.
func Recipe() Options {
	o := Defaults()
	o.Config.Dim, o.Config.Layers, o.Config.Hidden = 128, 2, 384
	o.Epochs, o.Patience = 300, 15
	o.Normalize, o.Prior, o.EMA, o.Resamples = true, true, 0.998, 9
	o.QuantileBelow = 10
	return o
}

// ResumePath is where the state to resume from is written.
func ResumePath(out string) string { return out + ".resume" }

// Result is what a run ends with.
type Result struct {
	Best *model.Checkpoint // the best epoch's model (the last one without validation data)
	Info model.TrainInfo   // counters and history of the whole run
}

// batchData is a batch flattened for the kernels.
type batchData struct {
	rows         []int32
	feat         []float32
	empty        []uint8
	target, mask []float32
}

func assemble(samples []*dataset.Sample, idx []int, d *batchData) {
	d.rows, d.feat, d.empty, d.target, d.mask = d.rows[:0], d.feat[:0], d.empty[:0], d.target[:0], d.mask[:0]
	for _, i := range idx {
		s := samples[i]
		d.rows = append(d.rows, int32(s.Hosts))
		d.feat = append(d.feat, s.Input.Res...)
		d.empty = append(d.empty, s.Input.Empty...)
		d.target = append(d.target, s.Target...)
		d.mask = append(d.mask, s.Mask...)
	}
}

// stepSeed is the dropout seed of one step.
func stepSeed(seed uint64, step int) uint64 {
	z := seed ^ (uint64(step)+1)*0x9E3779B97F4A7C15
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

func (o *Options) check(train []*dataset.Sample) error {
	switch {
	case len(train) == 0:
		return fmt.Errorf("train: no training scenarios")
	case o.Epochs < 1:
		return fmt.Errorf("train: epochs = %d, want >= 1", o.Epochs)
	case o.Batch < 1:
		return fmt.Errorf("train: batch = %d, want >= 1", o.Batch)
	case !(o.LR > 0) || !(o.Beta1 >= 0 && o.Beta1 < 1) || !(o.Beta2 >= 0 && o.Beta2 < 1) || !(o.Eps > 0) || !(o.WeightDecay >= 0):
		return fmt.Errorf("train: bad AdamW settings lr %g betas %g %g eps %g weight decay %g", o.LR, o.Beta1, o.Beta2, o.Eps, o.WeightDecay)
	case !(o.PriorDecay >= 0) || (o.PriorDecay > 0 && !o.Prior):
		return fmt.Errorf("train: prior decay %g needs the flowsim prior and >= 0", o.PriorDecay)
	case !(o.EMA >= 0 && o.EMA < 1):
		return fmt.Errorf("train: ema = %g, want in [0, 1)", o.EMA)
	case o.From != nil && o.Prior:
		return fmt.Errorf("train: a fine-tuning run starts at its checkpoint, not at the flowsim prior")
	case o.From != nil && !o.From.Config.SameModel(o.Config): // --init --dropout may change the dropout
		return fmt.Errorf("train: fine-tuning a model of config %+v with config %+v", o.From.Config, o.Config)
	case o.From != nil && (o.From.InputNorm != nil) != o.Normalize:
		return fmt.Errorf("train: the checkpoint to fine-tune has input standardisation %v, this run asks for %v", o.From.InputNorm != nil, o.Normalize)
	case o.Patience < 0 || o.Warmup < 0 || o.Resamples < 0 || o.QuantileBelow < 0 || !(o.TailWeight >= 0) || !(o.FlowWeight >= 0 && o.FlowWeight <= 2):
		return fmt.Errorf("train: patience = %d, warmup = %d, resamples = %d, quantile-below = %d, tail weight = %g, want >= 0; flow weight = %g, want 0-2",
			o.Patience, o.Warmup, o.Resamples, o.QuantileBelow, o.TailWeight, o.FlowWeight)
	}
	return o.Config.Validate()
}

// Run trains on train, validating on val after every epoch.
func Run(o Options, train, val []*dataset.Sample) (*Result, error) {
	if err := o.check(train); err != nil {
		return nil, err
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Features.Name == "" {
		o.Features = model.M3Features()
	}
	if o.From != nil && o.From.Features.Name != o.Features.Name {
		return nil, fmt.Errorf("train: fine-tuning a model of features %s on features %s", o.From.Features.Name, o.Features.Name)
	}
	maxRows, err := longestPath(o.Config, train, val)
	if err != nil {
		return nil, err
	}
	rule := o.Rule(train) // before the resamples, which are never of quantile-loss scenarios
	if o.Resamples > 0 {
		aug, err := dataset.ResamplesOf(train, o.Resamples, o.Seed, func(s *dataset.Sample) bool { return !rule.Applies(s) })
		if err != nil {
			return nil, err
		}
		train = append(append([]*dataset.Sample(nil), train...), aug...)
		o.Log.Info("bootstrap resamples", "added", len(aug), "train", len(train))
	}
	m, err := bindings.NewModel(o.Config, o.Batch, o.Batch*maxRows, true)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	if o.Threads > 1 {
		if err := m.SetThreads(o.Threads); err != nil {
			return nil, err
		}
	}
	t := &trainer{o: o, c: o.Config, train: train, val: val, m: m,
		est: make([]float32, o.Batch*o.Config.OutDim), dout: make([]float32, o.Batch*o.Config.OutDim), quant: make([]bool, o.Batch),
		rule: rule, bw: make([]float32, o.Batch*features.NumOutputBuckets)}
	t.info = o.Info
	t.info.Seed, t.info.Batch, t.info.LR, t.info.Beta1, t.info.Beta2, t.info.Eps = o.Seed, o.Batch, o.LR, o.Beta1, o.Beta2, o.Eps
	t.info.WeightDecay, t.info.MaxEpochs, t.info.Patience, t.info.Warmup, t.info.EMA = o.WeightDecay, o.Epochs, o.Patience, o.Warmup, o.EMA
	t.info.PriorDecay, t.info.Resamples, t.info.QuantileBelow, t.info.QuantileNetwork = o.PriorDecay, o.Resamples, o.QuantileBelow, o.QuantileNet
	t.info.FlowWeight = o.FlowWeight
	if w := o.tailWeight(); w != 1 {
		t.info.TailWeight = w
	}
	t.info.TrainScenarios, t.info.ValScenarios = len(train), len(val)
	t.info.BestValLoss, t.info.BestEpoch, t.info.Epochs, t.info.Steps, t.info.History = math.Inf(1), 0, 0, 0, nil
	if err := t.start(); err != nil {
		return nil, err
	}
	if nq := t.quantileScenarios(); nq > 0 {
		o.Log.Info("quantile loss", "scenarios", nq, "foreground_flows_below", o.QuantileBelow, "every_cut_path", o.QuantileNet)
	}
	for epoch := t.info.Epochs + 1; epoch <= o.Epochs; epoch++ {
		stop, err := t.epoch(epoch)
		if err != nil {
			return nil, err
		}
		if stop {
			break
		}
	}
	return &Result{Best: t.best, Info: t.info}, nil
}

// longestPath checks that every scenario fits the model and returns the
// most link rows of any.
func longestPath(c bindings.ModelConfig, sets ...[]*dataset.Sample) (int, error) {
	maxRows := 0
	for _, set := range sets {
		for _, s := range set {
			if s.Hosts < 2 || s.Hosts > c.MaxSeq+1 {
				return 0, fmt.Errorf("train: %s: %d hosts, the model reads 2 to %d", s.Dir, s.Hosts, c.MaxSeq+1)
			}
			if len(s.Input.Res) != s.Hosts*c.FeatDim || len(s.Target) != c.OutDim {
				return 0, fmt.Errorf("train: %s: features of %d values and %d targets do not fit the model (%d x %d, %d)",
					s.Dir, len(s.Input.Res), len(s.Target), s.Hosts, c.FeatDim, c.OutDim)
			}
			maxRows = max(maxRows, s.Hosts-1)
		}
	}
	return maxRows, nil
}

// trainer is one run's state: the model, the record so far and the
// buffers of a step.
type trainer struct {
	o          Options
	c          bindings.ModelConfig
	train, val []*dataset.Sample
	m          *bindings.Model
	info       model.TrainInfo
	best       *model.Checkpoint
	norm       *model.InputNorm
	ema        []float32 // the parameter average (nil: none)
	p0         []float32 // the prior's MLP, for PriorDecay
	mlpFrom    int       // where the MLP's parameters begin
	bad        int       // epochs since the best
	bd         batchData
	est, dout  []float32
	quant      []bool
	rule       QuantileRule
	bw         []float32 // per batch scenario and output bucket: the loss weight (rule.weights)
}

// start sets the model where the run begins: the state of CKPT.resume, the
// checkpoint to fine-tune, or a fresh initialisation (with the prior and the
// training set's standardisation).
func (t *trainer) start() error {
	o, m := &t.o, t.m
	switch {
	case o.Resume:
		if err := t.resume(); err != nil {
			return err
		}
	case o.From != nil:
		if err := m.SetParams(o.From.Params); err != nil {
			return fmt.Errorf("train: fine-tuning: %w", err)
		}
		t.norm = o.From.InputNorm
	default:
		if err := m.Init(o.Seed); err != nil {
			return err
		}
		if o.Normalize {
			rows := make([][]float32, len(t.train))
			empty := make([][]uint8, len(t.train))
			for i, s := range t.train {
				rows[i], empty[i] = s.Input.Res, s.Input.Empty
			}
			t.norm = model.ComputeInputNorm(t.c.FeatDim, t.c.BucketsIn, t.c.Pct, rows, empty)
		}
	}
	if t.info.Epochs >= o.Epochs { // a finished run resumed: nothing to do
		return nil
	}
	if t.norm != nil {
		if err := m.SetInputNorm(t.norm.Shift, t.norm.Scale); err != nil {
			return err
		}
		o.Features.Normalisation += "; then each column standardised, (x - input_norm.shift) * input_norm.scale, " +
			"with the mean and standard deviation over the training set (one pair per percentile index in the slowdown cells)"
	}
	if o.Prior {
		p := m.Params()
		if o.Resume { // rebuild the start the run began from
			fresh, err := bindings.NewModel(t.c, 1, 0, false)
			if err != nil {
				return err
			}
			fresh.Init(o.Seed)
			p = fresh.Params()
			fresh.Close()
		}
		if err := flowsimPrior(t.c, p, t.norm); err != nil {
			return err
		}
		if !o.Resume {
			if err := m.SetParams(p); err != nil {
				return err
			}
		}
		if o.PriorDecay > 0 {
			t.p0 = p
		}
	}
	for _, ts := range m.Tensors() {
		if ts.Name == "model_mlp.0.weight" {
			t.mlpFrom = ts.Offset
		}
	}
	if o.EMA > 0 && t.ema == nil {
		t.ema = m.Params()
	}
	for _, h := range t.info.History {
		if h.Epoch > t.info.BestEpoch {
			t.bad++
		}
	}
	return nil
}

// resume loads CKPT.resume: parameters, AdamW's moments, the average, the
// record, and the best model so far.
func (t *trainer) resume() error {
	o, m := &t.o, t.m
	if o.Out == "" {
		return fmt.Errorf("train: --resume needs the checkpoint path")
	}
	rp := ResumePath(o.Out)
	ck, err := model.Load(rp)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("train: nothing to resume: %w", err)
		}
		return err
	}
	if err := resumable(rp, ck, o, len(t.train), len(t.val)); err != nil {
		return err
	}
	if err := m.SetParams(ck.Params); err != nil {
		return fmt.Errorf("%s: %w", rp, err)
	}
	if err := m.SetAdam(ck.Optim.ExpAvg, ck.Optim.ExpAvgSq); err != nil {
		return fmt.Errorf("%s: %w", rp, err)
	}
	t.norm = ck.InputNorm
	if o.EMA > 0 {
		if t.ema = ck.Optim.EMA; t.ema == nil {
			return fmt.Errorf("%s: no parameter average, but this run keeps one (--ema)", rp)
		}
	}
	r, info := ck.Training, &t.info
	info.Epochs, info.Steps, info.BestEpoch, info.BestValLoss = r.Epochs, r.Steps, r.BestEpoch, r.BestValLoss
	info.FlowsimValLoss, info.History = r.FlowsimValLoss, r.History
	if info.BestEpoch > 0 {
		if t.best, err = model.Load(o.Out); err != nil {
			return fmt.Errorf("train: resuming: the best model so far: %w", err)
		}
	}
	o.Log.Info("resuming", "from", rp, "epoch", info.Epochs, "step", info.Steps, "best_val_loss", info.BestValLoss)
	return nil
}

func (t *trainer) quantileScenarios() int {
	n := 0
	for _, s := range t.train {
		if t.rule.Applies(s) {
			n++
		}
	}
	return n
}

// epoch runs one epoch: its steps, validation, the record and the
// checkpoints; stop is set when patience has run out.
func (t *trainer) epoch(epoch int) (stop bool, err error) {
	o := &t.o
	start := time.Now()
	order := rand.New(rand.NewPCG(o.Seed, uint64(epoch))).Perm(len(t.train))
	nb := (len(t.train) + o.Batch - 1) / o.Batch
	var bar progress.Reporter
	if o.Progress != nil { // a bar on a terminal; in a log, only the epoch's line below
		bar = progress.New(o.Progress, nb, progress.Options{Desc: fmt.Sprintf("epoch %d/%d", epoch, o.Epochs), Unit: "steps", Quiet: true})
	}
	sum, n := 0.0, 0
	for b := 0; b < nb; b++ {
		if o.Context != nil && o.Context.Err() != nil {
			if bar != nil {
				bar.Finish()
			}
			if epoch == 1 {
				return false, fmt.Errorf("train: interrupted in epoch 1 (%w): nothing saved", context.Cause(o.Context))
			}
			return false, fmt.Errorf("train: interrupted in epoch %d (%w); %s and %s hold epoch %d: --resume carries on",
				epoch, context.Cause(o.Context), o.Out, ResumePath(o.Out), epoch-1)
		}
		idx := order[b*o.Batch : min((b+1)*o.Batch, len(order))]
		l, err := t.step(idx)
		if err != nil {
			return false, err
		}
		sum += float64(l) * float64(len(idx))
		n += len(idx)
		if bar != nil {
			bar.Describe(fmt.Sprintf("epoch %d/%d loss %.4f", epoch, o.Epochs, sum/float64(n)))
			bar.Add(1)
		}
	}
	if bar != nil {
		bar.Finish()
	}
	trainLoss := sum / float64(n)
	if math.IsNaN(trainLoss) || math.IsInf(trainLoss, 0) {
		return false, fmt.Errorf("train: epoch %d: the training loss is %v (diverged; try a lower --lr)", epoch, trainLoss)
	}
	valLoss, err := t.validate()
	if err != nil {
		return false, err
	}
	info := &t.info
	info.Epochs = epoch
	info.History = append(info.History, model.EpochStat{Epoch: epoch, TrainLoss: trainLoss, ValLoss: valLoss, Seconds: time.Since(start).Seconds()})
	improved := len(t.val) == 0 || valLoss < info.BestValLoss || t.best == nil
	if improved {
		info.BestEpoch, t.bad = epoch, 0
		if len(t.val) > 0 {
			info.BestValLoss = valLoss
		}
		p := t.m.Params()
		if t.ema != nil {
			p = append([]float32(nil), t.ema...)
		}
		t.best = &model.Checkpoint{Config: t.c, Params: p, Features: o.Features, InputNorm: t.norm}
	} else {
		t.bad++
	}
	info.Date = time.Now().UTC().Format(time.RFC3339)
	bi := *info
	t.best.Training = &bi
	o.Log.Info("epoch", "epoch", epoch, "train_loss", trainLoss, "val_loss", valLoss, "best_val_loss", info.BestValLoss,
		"best_epoch", info.BestEpoch, "seconds", time.Since(start).Seconds())
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, "epoch %d: train loss %.4f, validation loss %.4f (best %.4f at epoch %d)\n",
			epoch, trainLoss, valLoss, info.BestValLoss, info.BestEpoch)
	}
	if err := t.save(improved); err != nil {
		return false, err
	}
	if o.Patience > 0 && t.bad >= o.Patience {
		o.Log.Info("early stop", "epoch", epoch, "epochs_without_improvement", t.bad)
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, "early stop: no better validation loss for %d epochs\n", t.bad)
		}
		return true, nil
	}
	return false, nil
}

// step takes one AdamW step on the scenarios idx and returns their loss.
func (t *trainer) step(idx []int) (float32, error) {
	o, m, c := &t.o, t.m, t.c
	assemble(t.train, idx, &t.bd)
	bd := &t.bd
	if err := m.Forward(bd.rows, bd.feat, bd.empty, true, stepSeed(o.Seed, t.info.Steps), t.est[:len(idx)*c.OutDim]); err != nil {
		return 0, err
	}
	anyQ := false
	for j, i := range idx {
		t.quant[j] = t.rule.Applies(t.train[i])
		anyQ = anyQ || t.quant[j]
		t.rule.weights(t.train[i], t.bw[j*features.NumOutputBuckets:(j+1)*features.NumOutputBuckets])
	}
	var l float32
	var err error
	if anyQ || o.tailWeight() != 1 {
		n := len(idx) * c.OutDim
		l = mixedLossGrad(t.est[:n], bd.target, bd.mask, t.quant[:len(idx)], t.bw[:len(idx)*features.NumOutputBuckets], c.Pct, float32(o.tailWeight()), t.dout[:n])
		err = m.BackwardDout(t.dout[:n])
	} else {
		l, err = m.Backward(bd.target, bd.mask)
	}
	if err != nil {
		return 0, err
	}
	t.info.Steps++
	lr := o.LR
	if t.info.Steps < o.Warmup {
		lr *= float64(t.info.Steps) / float64(o.Warmup)
	}
	if err := m.AdamW(float32(lr), float32(o.Beta1), float32(o.Beta2), float32(o.Eps), float32(o.WeightDecay), t.info.Steps); err != nil {
		return 0, err
	}
	if t.p0 != nil {
		p := m.Params()
		k := float32(lr * o.PriorDecay)
		for i := t.mlpFrom; i < len(p); i++ {
			p[i] -= k * (p[i] - t.p0[i])
		}
		if err := m.SetParams(p); err != nil {
			return 0, err
		}
	}
	if t.ema != nil {
		d := float32(o.EMA)
		for i, v := range m.ParamsView() {
			t.ema[i] = d*t.ema[i] + (1-d)*v
		}
	}
	return l, nil
}

// validate returns the validation loss of the parameter average (or of the
// parameters without one); NaN without validation data.
func (t *trainer) validate() (float64, error) {
	if len(t.val) == 0 {
		return math.NaN(), nil
	}
	var cur []float32
	if t.ema != nil {
		cur = t.m.Params()
		if err := t.m.SetParams(t.ema); err != nil {
			return 0, err
		}
	}
	loss, err := evaluate(t.m, t.val, t.o.Batch, &t.bd, t.est, t.rule)
	if err != nil {
		return 0, err
	}
	if cur != nil {
		if err := t.m.SetParams(cur); err != nil {
			return 0, err
		}
	}
	return loss, nil
}

// save writes the best model when it improved and the state to resume from.
func (t *trainer) save(improved bool) error {
	o := &t.o
	if o.Out == "" {
		return nil
	}
	if improved {
		if err := model.Save(o.Out, t.best, model.F32); err != nil {
			return err
		}
	}
	mom1, mom2, err := t.m.Adam()
	if err != nil {
		return err
	}
	ri := t.info
	st := &model.Checkpoint{Config: t.c, Params: t.m.Params(), Features: o.Features, Training: &ri, InputNorm: t.norm,
		Optim: &model.OptimState{ExpAvg: mom1, ExpAvgSq: mom2, EMA: t.ema}}
	return model.Save(ResumePath(o.Out), st, model.F32)
}

// QuantileRule says which scenarios learn with QuantileLoss instead of m3's
// loss: those whose target summarises 1 to Below-1 foreground flows (0:
// none by count) and, with Network, every path cut from a workload. A cut
// path's size buckets often hold a few flows each, so its p99 is close to
// its largest flow's slowdown: m3's loss then learns the median of that
// noisy value over similar paths, and mixing such estimates network-wide
// gives tails (and middles) that are too narrow; QuantileLoss learns the
// distribution that mixes right.
//
// Power, where positive, weights each bucket of such a scenario by its
// flows to that power over Mean (the training buckets' mean of the same,
// meanBucketFlows). At 1 the loss counts every flow once, as the
// network-wide mix of the path estimates does (m4 run weights a path's
// bucket by its flows); at 0 a path of 40 flows counts as much as a path
// of one, and the few busy paths, which hold a third of a workload's flows
// and most of its small-flow tail, are underfit (docs/accuracy.md).
type QuantileRule struct {
	Below   int
	Network bool
	Power   float64
	Mean    float64
}

// Applies tells whether s learns with the quantile loss.
func (r QuantileRule) Applies(s *dataset.Sample) bool {
	if s.Foreground <= 0 {
		return false
	}
	return (r.Below > 0 && s.Foreground < r.Below) || (r.Network && s.Network)
}

// Rule is the run's QuantileRule on training set train.
func (o Options) Rule(train []*dataset.Sample) QuantileRule {
	r := QuantileRule{Below: o.QuantileBelow, Network: o.QuantileNet}
	if o.FlowWeight > 0 {
		r.Power = o.FlowWeight
		r.Mean = meanBucketFlows(train, r)
	}
	return r
}

// tailWeight is the weight of the gradients of the top tenth of the
// percentiles (p91-p100 of 100): TailWeight, 1 for 0. Each percentile's
// loss keeps its minimiser; the weight only moves where the model spends
// its capacity (toward the small-flow tails it underfits, docs/accuracy.md).
func (o *Options) tailWeight() float64 { return orOne(o.TailWeight) }

// orOne returns x, or 1 for 0.
func orOne(x float64) float64 {
	if x == 0 {
		return 1
	}
	return x
}

// QuantileLoss is the loss of one output size bucket of a scenario whose
// target summarises a few flows: the mean over the bucket's percentiles k
// (tau = (k - 1/2) / P for k = 1..P) and over the target's P values t_j of
// the pinball loss rho_tau(t_j - est_k), rho_tau(u) = u (tau - [u < 0]).
// Over many scenarios with the same features its minimum is at the
// conditional quantiles of a flow's slowdown, so mixing the per-path
// estimates gives the right network-wide distribution even when each path
// has one flow, where m3's loss (the median of each percentile) would
// squeeze every path's estimate to a point. With many flows, the minimum is
// the target's own percentiles, as with m3's loss. It returns the loss and,
// in grad, its derivative by est.
func QuantileLoss(est, target []float32, grad []float32) float64 {
	p := len(est)
	sum := 0.0
	for k, e := range est {
		tau := (float64(k) + 0.5) / float64(p)
		below, l := 0.0, 0.0
		for _, t := range target {
			u := float64(t) - float64(e)
			switch {
			case u < 0:
				below++
				l += u * (tau - 1)
			case u == 0:
				below += 0.5
			default:
				l += u * tau
			}
		}
		sum += l / float64(len(target))
		if grad != nil {
			grad[k] = float32(below/float64(len(target)) - tau)
		}
	}
	return sum / float64(p)
}

// meanBucketFlows is the mean of flows^rule.Power over the training
// buckets that learn with the quantile loss and have flows (1 when none
// is known).
func meanBucketFlows(samples []*dataset.Sample, rule QuantileRule) float64 {
	sum, n := 0.0, 0
	for _, s := range samples {
		if !rule.Applies(s) {
			continue
		}
		for _, f := range s.BucketFlows {
			if f > 0 {
				sum += math.Pow(float64(f), rule.Power)
				n++
			}
		}
	}
	if n == 0 {
		return 1
	}
	return sum / float64(n)
}

// weights sets w to the loss weights of s's buckets: each bucket's flows
// to r.Power over r.Mean, or 1 where r.Power is 0 or s's flows are unknown.
func (r QuantileRule) weights(s *dataset.Sample, w []float32) {
	known := false
	for _, f := range s.BucketFlows {
		known = known || f > 0
	}
	for b := range w {
		w[b] = 1
		if known && r.Power > 0 {
			w[b] = float32(math.Pow(float64(s.BucketFlows[b]), r.Power) / r.Mean)
		}
	}
}

// mixedLossGrad returns the mean loss over a batch's cells (m3's masked
// relative L1 for most scenarios, QuantileLoss on the buckets of those with
// quant set, each bucket weighted by bw[scenario*buckets+bucket] where bw
// is not nil) and its gradient by the estimates in dout; both are means
// over all batch x out cells, as the native m3 loss, whose gradient it
// reproduces exactly for the other scenarios when tail is 1. The gradients
// of the top tenth of each bucket's percentiles are multiplied by tail;
// the loss is not.
func mixedLossGrad(est, target, mask []float32, quant []bool, bw []float32, pct int, tail float32, dout []float32) float32 {
	n := len(est)
	out := n / len(quant)
	sum := 0.0
	lw := func(i int) float32 { // i's percentile index within its bucket is i % pct
		if 10*(i%pct)+5 >= 9*pct {
			return tail
		}
		return 1
	}
	for j, q := range quant {
		lo := j * out
		if !q {
			for i := lo; i < lo+out; i++ {
				r := est[i]/target[i] - 1
				sum += float64(mask[i] * float32(math.Abs(float64(r))))
				sg := float32(0)
				if r > 0 {
					sg = 1
				} else if r < 0 {
					sg = -1
				}
				dout[i] = lw(i) * mask[i] * sg / target[i] / float32(n)
			}
			continue
		}
		for b := lo; b < lo+out; b += pct {
			w := mask[b] // a bucket's cells share their mask
			if bw != nil {
				w *= bw[j*(out/pct)+(b-lo)/pct]
			}
			l := QuantileLoss(est[b:b+pct], target[b:b+pct], dout[b:b+pct])
			sum += float64(w) * l * float64(pct)
			for i := b; i < b+pct; i++ {
				dout[i] *= lw(i) * w / float32(n)
			}
		}
	}
	return float32(sum / float64(n))
}

// resumable checks that a resume checkpoint belongs to this run.
func resumable(path string, ck *model.Checkpoint, o *Options, ntrain, nval int) error {
	t := ck.Training
	switch {
	case ck.Optim == nil || t == nil:
		return fmt.Errorf("%s: not a resume checkpoint (no optimizer state or training metadata)", path)
	case ck.Config != o.Config:
		return fmt.Errorf("%s: model config %+v differs from this run's %+v", path, ck.Config, o.Config)
	case (ck.InputNorm != nil) != o.Normalize:
		return fmt.Errorf("%s: input normalisation %v, this run asks for %v", path, ck.InputNorm != nil, o.Normalize)
	case t.Seed != o.Seed || t.Batch != o.Batch || t.LR != o.LR || t.Beta1 != o.Beta1 || t.Beta2 != o.Beta2 ||
		t.Eps != o.Eps || t.WeightDecay != o.WeightDecay || t.Warmup != o.Warmup || t.EMA != o.EMA || t.PriorDecay != o.PriorDecay:
		return fmt.Errorf("%s: trained with seed %d batch %d lr %g betas %g/%g eps %g weight decay %g; this run asks for seed %d batch %d lr %g betas %g/%g eps %g weight decay %g",
			path, t.Seed, t.Batch, t.LR, t.Beta1, t.Beta2, t.Eps, t.WeightDecay, o.Seed, o.Batch, o.LR, o.Beta1, o.Beta2, o.Eps, o.WeightDecay)
	case t.Resamples != o.Resamples:
		return fmt.Errorf("%s: trained with %d resamples per scenario, this run asks for %d", path, t.Resamples, o.Resamples)
	case t.QuantileBelow != o.QuantileBelow:
		return fmt.Errorf("%s: trained with the quantile loss below %d foreground flows, this run asks for %d", path, t.QuantileBelow, o.QuantileBelow)
	case t.QuantileNetwork != o.QuantileNet:
		return fmt.Errorf("%s: trained with the quantile loss on every cut path %v, this run asks for %v", path, t.QuantileNetwork, o.QuantileNet)
	case t.FlowWeight != o.FlowWeight:
		return fmt.Errorf("%s: trained with flow weight power %g, this run asks for %g", path, t.FlowWeight, o.FlowWeight)
	case orOne(t.TailWeight) != o.tailWeight():
		return fmt.Errorf("%s: trained with tail weight %g, this run asks for %g", path, orOne(t.TailWeight), o.tailWeight())
	case t.CC != o.Info.CC:
		return fmt.Errorf("%s: trained on congestion control %q only, this run asks for %q (\"\": all)", path, t.CC, o.Info.CC)
	case t.TrainScenarios != ntrain || t.ValScenarios != nval:
		return fmt.Errorf("%s: trained on %d/%d train/validation scenarios, this run has %d/%d (other data or split)",
			path, t.TrainScenarios, t.ValScenarios, ntrain, nval)
	}
	return nil
}

// evaluate returns the mean masked loss over samples (no dropout).
func evaluate(m *bindings.Model, samples []*dataset.Sample, batch int, bd *batchData, est []float32, rule QuantileRule) (float64, error) {
	out := m.Config().OutDim
	losses := make([]float64, len(samples))
	idx := make([]int, 0, batch)
	for lo := 0; lo < len(samples); lo += batch {
		idx = idx[:0]
		for i := lo; i < min(lo+batch, len(samples)); i++ {
			idx = append(idx, i)
		}
		assemble(samples, idx, bd)
		if err := m.Forward(bd.rows, bd.feat, bd.empty, false, 0, est[:len(idx)*out]); err != nil {
			return 0, err
		}
		for j, i := range idx {
			losses[i] = SampleLoss(est[j*out:(j+1)*out], samples[i], rule)
		}
	}
	return CombinedLoss(samples, losses), nil
}

// SampleLoss is the loss of one estimate of s: QuantileLoss, averaged over
// the output buckets that have flows (with the rule's weights), for a
// scenario the rule applies to, else m3's masked relative L1 loss
// (dataset.Loss).
func SampleLoss(est []float32, s *dataset.Sample, rule QuantileRule) float64 {
	if !rule.Applies(s) {
		return dataset.Loss(est, s.Target, s.Mask)
	}
	pct := len(est) / features.NumOutputBuckets
	var w [features.NumOutputBuckets]float32
	rule.weights(s, w[:])
	sum, n := 0.0, 0
	for b := 0; b < len(est); b += pct {
		if s.Mask[b] > 0 {
			sum += float64(w[b/pct]) * QuantileLoss(est[b:b+pct], s.Target[b:b+pct], nil)
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// CombinedLoss is the validation loss of a set mixing m3's parking lots and
// paths cut from workloads: the mean of each kind's mean loss, so that
// neither outweighs the other by its count.
func CombinedLoss(samples []*dataset.Sample, losses []float64) float64 {
	var sum [2]float64
	var n [2]int
	for i, s := range samples {
		k := 0
		if s.Network {
			k = 1
		}
		sum[k] += losses[i]
		n[k]++
	}
	total, kinds := 0.0, 0
	for k := range sum {
		if n[k] > 0 {
			total += sum[k] / float64(n[k])
			kinds++
		}
	}
	return total / float64(max(kinds, 1))
}

// Predict runs ck on samples and returns each one's estimate.
func Predict(ck *model.Checkpoint, samples []*dataset.Sample, batch, threads int) ([][]float32, error) {
	e, err := model.NewEstimator(ck, batch, threads)
	if err != nil {
		return nil, err
	}
	defer e.Close()
	in := make([]model.Input, len(samples))
	for i, s := range samples {
		in[i] = s.Input
	}
	return e.Predict(in)
}
