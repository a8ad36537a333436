package dynamics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/internal/progress"
)

// Options configure a training run; Defaults gives the paper's setup.
type Options struct {
	Config      bindings.DynConfig
	Epochs      int     // epochs over the training traces
	LR          float64 // AdamW learning rate
	Beta1       float64
	Beta2       float64
	Eps         float64
	WeightDecay float64 // on the matrices
	Window      int     // events per backpropagation window (truncated BPTT); bounds memory per step
	Seed        uint64  // initialisation and the order of each epoch
	Threads     int     // kernel threads per replica (results do not depend on it)
	// Replicas > 1 trains data-parallel: that many copies of the model each
	// replay a trace of their own, one window a step, and every step applies
	// the mean of their gradients (a batch of Replicas windows). On a
	// machine of n cores, Replicas n with Threads 1 keeps every core busy,
	// where one model's small GEMMs leave threads waiting. Results depend on
	// it (not on Threads); 1 is the paper's one window a step.
	Replicas int
	// Init, when set, is the parameters a fresh run starts from (a
	// fine-tune of InitName's model, whose Config this run must have) in
	// place of Init(Seed); AdamW starts afresh. A resumed run ignores it.
	Init     []float32
	InitName string
	Out      string // the model's path ("" writes nothing); Out + ".resume" and the card (CardPath) beside it
	Resume   bool   // carry on from Out + ".resume" when it exists
	Command  string // recorded in the checkpoint
	Data     []string
	// Ranges is what the training traces cover (LoadTraces), recorded in
	// the checkpoint (with a fine-tune's start's) for m4 run's checks.
	Ranges *Ranges
	// Progress gets a line per epoch and, within one, the events trained
	// so far: a bar on a terminal, else a line every ProgressEvery (an
	// epoch on big traces takes an hour). nil: nothing.
	Progress      io.Writer
	ProgressEvery time.Duration // 0: a minute
	Log           *slog.Logger
	// Context stops the run between windows, with the last finished epoch's
	// checkpoints in place. nil: never.
	Context context.Context
}

// Defaults returns the paper's training setup (netiken/m4's
// config/train_config.yaml, as far as this model follows it): the default
// model reading the workload's configuration (NumConfigFeatures values),
// AdamW lr 1e-4 with betas (0.9, 0.999), no weight decay, windows of 256
// events.
func Defaults() Options {
	cfg := bindings.DefaultDynConfig()
	cfg.NParams = NumConfigFeatures
	return Options{Config: cfg, Epochs: 100, LR: 1e-4, Beta1: 0.9, Beta2: 0.999,
		Eps: 1e-8, Window: 256, Seed: 1, Threads: 1, Replicas: 1}
}

// ResumePath is where a run keeps its full state (parameters and AdamW).
func ResumePath(out string) string { return out + ".resume" }

// CardPath is the model card written beside out.
func CardPath(out string) string { return strings.TrimSuffix(out, ".safetensors") + ".md" }

func (o *Options) check(train []*bindings.DynTrace) error {
	switch {
	case len(train) == 0:
		return fmt.Errorf("dynamics train: no training traces")
	case o.Epochs < 1:
		return fmt.Errorf("dynamics train: epochs = %d, want >= 1", o.Epochs)
	case !(o.LR > 0):
		return fmt.Errorf("dynamics train: lr = %g, want > 0", o.LR)
	case o.Window < 1:
		return fmt.Errorf("dynamics train: window = %d events, want >= 1", o.Window)
	case o.Threads < 1:
		return fmt.Errorf("dynamics train: threads = %d, want >= 1", o.Threads)
	case o.Replicas < 1 || o.Replicas > 256:
		return fmt.Errorf("dynamics train: replicas = %d, want 1..256", o.Replicas)
	case o.Data != nil && len(o.Data) != len(train):
		return fmt.Errorf("dynamics train: %d data names for %d traces", len(o.Data), len(train))
	}
	for i, t := range train {
		if err := t.Check(); err != nil {
			return fmt.Errorf("dynamics train: trace %d: %w", i, err)
		}
		if len(t.Params) != o.Config.NParams {
			return fmt.Errorf("dynamics train: trace %d has %d configuration values, the model reads %d", i, len(t.Params), o.Config.NParams)
		}
	}
	return o.Config.Validate()
}

// Train trains a model on the traces: every epoch visits them in an order
// drawn from (Seed, epoch), each in windows of Window events (one AdamW
// step per window; the states carry over from window to window, the
// gradients stop at a window's start). After each epoch it writes the
// model, its card and the resumable state, and, with validation traces,
// the event loop's FCT error on them. A run is deterministic for a seed,
// and one resumed from its last checkpoint goes on bit for bit.
func Train(o Options, train, val []*bindings.DynTrace) (*Checkpoint, error) {
	if !bindings.Native {
		return nil, fmt.Errorf("dynamics train: %w", bindings.ErrNoNative)
	}
	if o.Replicas == 0 {
		o.Replicas = 1
	}
	if err := o.check(train); err != nil {
		return nil, err
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	reps := make([]*bindings.Dyn, o.Replicas)
	for i := range reps {
		r, err := bindings.NewDyn(o.Config, true)
		if err != nil {
			return nil, fmt.Errorf("dynamics train: replica %d: %w", i, err)
		}
		defer r.Close()
		if err := r.SetThreads(o.Threads); err != nil {
			return nil, err
		}
		reps[i] = r
	}
	d := reps[0] // the model AdamW steps; the others take its parameters
	var err error
	if err := d.Init(o.Seed); err != nil {
		return nil, err
	}
	if o.Init != nil {
		if err := d.SetParams(o.Init); err != nil {
			return nil, fmt.Errorf("dynamics train: the start %s: %w", o.InitName, err)
		}
	}
	info := TrainInfo{Command: o.Command, Data: o.Data, Seed: o.Seed, LR: o.LR, WeightDecay: o.WeightDecay,
		Window: o.Window, Epochs: o.Epochs, Replicas: o.Replicas, Init: o.InitName, Ranges: o.Ranges}
	if o.Out != "" && o.Resume {
		ck, err := Load(ResumePath(o.Out))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			log.Info("no resume state; starting afresh", "path", ResumePath(o.Out))
		case err != nil:
			return nil, err
		default:
			if err := resumable(ck, &o); err != nil {
				return nil, fmt.Errorf("%s: %w", ResumePath(o.Out), err)
			}
			if err := d.SetParams(ck.Params); err != nil {
				return nil, err
			}
			if err := d.SetAdam(ck.ExpAvg, ck.ExpAvgSq); err != nil {
				return nil, err
			}
			info.Epoch, info.Step, info.History = ck.Training.Epoch, ck.Training.Step, ck.Training.History
			log.Info("resuming", "epoch", info.Epoch, "step", info.Step)
		}
	}
	for _, r := range reps[1:] { // the replicas start from the model's parameters
		if err := r.SetParams(d.Params()); err != nil {
			return nil, err
		}
	}
	if info.Epoch == 0 && len(val) > 0 {
		if info.ValFCTErrorStart, err = valError(o.Config, d.Params(), val, o.Threads); err != nil {
			return nil, err
		}
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, "before training: held-out FCT error %.4f\n", info.ValFCTErrorStart)
		}
	}
	for ep := info.Epoch + 1; ep <= o.Epochs; ep++ {
		start := time.Now()
		var sum EpochStat
		events := 0
		order := rand.New(rand.NewPCG(o.Seed, uint64(ep))).Perm(len(train))
		bar := epochProgress(&o, ep, train)
		err := runEpoch(&o, reps, train, order, func(ls []bindings.DynLoss, evs []int) error {
			info.Step++
			if err := d.AdamW(float32(o.LR), float32(o.Beta1), float32(o.Beta2), float32(o.Eps), float32(o.WeightDecay), info.Step); err != nil {
				return err
			}
			for k, l := range ls {
				w := float64(evs[k])
				sum.Loss += w * l.Total
				sum.Slowdown += w * l.Slowdown
				sum.Remain += w * l.Remain
				sum.Queue += w * l.Queue
				sum.Every += w * l.Every
				events += evs[k]
				bar.Add(evs[k])
			}
			return nil
		})
		bar.Finish()
		if err != nil {
			return nil, fmt.Errorf("dynamics train: epoch %d: %w", ep, err)
		}
		st := EpochStat{Epoch: ep, Loss: sum.Loss / float64(events), Slowdown: sum.Slowdown / float64(events),
			Remain: sum.Remain / float64(events), Queue: sum.Queue / float64(events), Every: sum.Every / float64(events)}
		if math.IsNaN(st.Loss) || math.IsInf(st.Loss, 0) {
			return nil, fmt.Errorf("dynamics train: epoch %d: the loss is %g", ep, st.Loss)
		}
		params := d.Params()
		if len(val) > 0 {
			if st.ValFCTError, err = valError(o.Config, params, val, o.Threads); err != nil {
				return nil, err
			}
		}
		st.Seconds = time.Since(start).Seconds()
		info.Epoch = ep
		info.History = append(info.History, st)
		if o.Progress != nil {
			held := "" // no held-out traces: nothing to report
			if len(val) > 0 {
				held = fmt.Sprintf(", held-out FCT error %.4f", st.ValFCTError)
			}
			every := ""
			if o.Config.WEvery > 0 {
				every = fmt.Sprintf(", every event %.4f", st.Every)
			}
			fmt.Fprintf(o.Progress, "epoch %d/%d: loss %.4f (slowdown %.4f, remaining %.4f, queue %.4f%s)%s, %.1f s\n",
				ep, o.Epochs, st.Loss, st.Slowdown, st.Remain, st.Queue, every, held, st.Seconds)
		}
		log.Info("epoch", "epoch", ep, "loss", st.Loss, "slowdown", st.Slowdown, "remain", st.Remain,
			"queue", st.Queue, "every", st.Every, "val_fct_error", st.ValFCTError, "seconds", st.Seconds)
		if o.Out != "" {
			m1, m2, err := d.Adam()
			if err != nil {
				return nil, err
			}
			if err := Save(ResumePath(o.Out), &Checkpoint{Config: o.Config, Params: params, ExpAvg: m1, ExpAvgSq: m2, Training: info}); err != nil {
				return nil, err
			}
			ck := &Checkpoint{Config: o.Config, Params: params, Training: info}
			if err := Save(o.Out, ck); err != nil {
				return nil, err
			}
			if err := WriteCard(CardPath(o.Out), ck); err != nil {
				return nil, err
			}
		}
	}
	return &Checkpoint{Config: o.Config, Params: d.Params(), Training: info}, nil
}

// epochProgress reports epoch ep's training events on o.Progress.
func epochProgress(o *Options, ep int, train []*bindings.DynTrace) progress.Reporter {
	total := 0
	for _, t := range train {
		total += len(t.EvTimeNs)
	}
	every := o.ProgressEvery
	if every <= 0 {
		every = time.Minute
	}
	w := o.Progress
	if w == nil {
		w = io.Discard
	}
	return progress.New(w, total, progress.Options{Desc: fmt.Sprintf("epoch %d/%d", ep, o.Epochs), Unit: "events",
		Every: every, Quiet: o.Progress == nil})
}

// runEpoch replays the training traces in order on the replicas, one
// window a replica a step: each replica takes the next trace when its own
// ends, runs the forward and backward of its next window (the replicas in
// parallel), and with more than one the mean of their gradients goes into
// reps[0] (in replica order: deterministic). step then applies it (AdamW on
// reps[0]) with each window's loss and events, and the other replicas take
// reps[0]'s new parameters.
func runEpoch(o *Options, reps []*bindings.Dyn, train []*bindings.DynTrace, order []int,
	step func(ls []bindings.DynLoss, events []int) error) error {
	type cursor struct{ trace, e0 int } // trace -1: idle
	cur := make([]cursor, len(reps))
	for r := range cur {
		cur[r].trace = -1
	}
	next := 0
	ls, evs := make([]bindings.DynLoss, len(reps)), make([]int, len(reps))
	errs := make([]error, len(reps))
	var mean []float32
	for {
		var active []int
		for r := range reps {
			if cur[r].trace < 0 && next < len(order) {
				cur[r] = cursor{order[next], 0}
				next++
			}
			if cur[r].trace >= 0 {
				active = append(active, r)
			}
		}
		if len(active) == 0 {
			return nil
		}
		if o.Context != nil && o.Context.Err() != nil {
			return fmt.Errorf("stopped: %w", o.Context.Err())
		}
		window := func(r int) {
			t := train[cur[r].trace]
			e0 := cur[r].e0
			e1 := min(len(t.EvTimeNs), e0+o.Window)
			var err error
			if ls[r], err = reps[r].Forward(t, e0, e1); err != nil {
				errs[r] = fmt.Errorf("trace %d: %w", cur[r].trace, err)
				return
			}
			errs[r] = reps[r].Backward()
			evs[r] = e1 - e0
		}
		if len(active) == 1 {
			window(active[0])
		} else {
			var wg sync.WaitGroup
			for _, r := range active {
				wg.Add(1)
				go func() { defer wg.Done(); window(r) }()
			}
			wg.Wait()
		}
		for _, r := range active {
			if errs[r] != nil {
				return errs[r]
			}
		}
		if len(reps) > 1 {
			mean = append(mean[:0], reps[active[0]].Grads()...)
			for _, r := range active[1:] {
				for i, v := range reps[r].Grads() {
					mean[i] += v
				}
			}
			inv := 1 / float32(len(active))
			for i := range mean {
				mean[i] *= inv
			}
			if err := reps[0].SetGrads(mean); err != nil {
				return err
			}
		}
		var stepLs []bindings.DynLoss
		var stepEvs []int
		for _, r := range active {
			stepLs, stepEvs = append(stepLs, ls[r]), append(stepEvs, evs[r])
		}
		if err := step(stepLs, stepEvs); err != nil {
			return err
		}
		if len(reps) > 1 {
			p := reps[0].Params()
			for _, r := range reps[1:] {
				if err := r.SetParams(p); err != nil {
					return err
				}
			}
		}
		for _, r := range active {
			cur[r].e0 += evs[r]
			if cur[r].e0 >= len(train[cur[r].trace].EvTimeNs) {
				cur[r].trace = -1
			}
		}
	}
}

// resumable checks that a resume state belongs to the run o describes.
func resumable(ck *Checkpoint, o *Options) error {
	t := ck.Training
	switch {
	case ck.Config != o.Config:
		return fmt.Errorf("resume state of another model shape (%+v, this run %+v)", ck.Config, o.Config)
	case ck.ExpAvg == nil:
		return fmt.Errorf("resume state without AdamW moments")
	case t.Seed != o.Seed || t.LR != o.LR || t.WeightDecay != o.WeightDecay || t.Window != o.Window || max(t.Replicas, 1) != o.Replicas:
		return fmt.Errorf("resume state of another run (seed %d, lr %g, weight decay %g, window %d, replicas %d)", t.Seed, t.LR, t.WeightDecay, t.Window, max(t.Replicas, 1))
	case o.Data != nil && !slices.Equal(t.Data, o.Data):
		return fmt.Errorf("resume state trained on other data (%d traces)", len(t.Data))
	}
	return nil
}

// valError is the mean FCT error of the event loop over the traces' flows.
func valError(cfg bindings.DynConfig, params []float32, val []*bindings.DynTrace, threads int) (float64, error) {
	ck := &Checkpoint{Config: cfg, Params: params}
	var sum float64
	n := 0
	for i, t := range val {
		est, err := Estimate(ck, &t.DynWorkload, threads)
		if err != nil {
			return 0, fmt.Errorf("validation trace %d: %w", i, err)
		}
		e := FCTError(est, t.FlowFCTNs)
		sum += e * float64(len(est))
		n += len(est)
	}
	return sum / float64(n), nil
}

// Estimate runs ck's event loop over w and returns every flow's FCT (ns) in
// w's order.
func Estimate(ck *Checkpoint, w *bindings.DynWorkload, threads int) ([]float64, error) {
	d, err := bindings.NewDyn(ck.Config, false)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	if err := d.SetParams(ck.Params); err != nil {
		return nil, err
	}
	if err := d.SetThreads(max(threads, 1)); err != nil {
		return nil, err
	}
	return d.Run(w)
}

// FCTError is the mean |est/truth - 1| over flows.
func FCTError(est []float64, truth []int64) float64 {
	var s float64
	for i, e := range est {
		s += math.Abs(e/float64(truth[i]) - 1)
	}
	return s / float64(len(est))
}
