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
	"time"

	"github.com/m4sim/m4/bindings"
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
	Threads     int     // kernel threads (results do not depend on it)
	Out         string  // the model's path ("" writes nothing); Out + ".resume" and the card (CardPath) beside it
	Resume      bool    // carry on from Out + ".resume" when it exists
	Command     string  // recorded in the checkpoint
	Data        []string
	Progress    io.Writer // a line per epoch (nil: none)
	Log         *slog.Logger
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
		Eps: 1e-8, Window: 256, Seed: 1, Threads: 1}
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
	if err := o.check(train); err != nil {
		return nil, err
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d, err := bindings.NewDyn(o.Config, true)
	if err != nil {
		return nil, fmt.Errorf("dynamics train: %w", err)
	}
	defer d.Close()
	if err := d.SetThreads(o.Threads); err != nil {
		return nil, err
	}
	if err := d.Init(o.Seed); err != nil {
		return nil, err
	}
	info := TrainInfo{Command: o.Command, Data: o.Data, Seed: o.Seed, LR: o.LR, WeightDecay: o.WeightDecay,
		Window: o.Window, Epochs: o.Epochs}
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
		for _, i := range order {
			t := train[i]
			n := len(t.EvTimeNs)
			for e0 := 0; e0 < n; e0 += o.Window {
				if o.Context != nil && o.Context.Err() != nil {
					return nil, fmt.Errorf("dynamics train: stopped in epoch %d: %w", ep, o.Context.Err())
				}
				e1 := min(n, e0+o.Window)
				l, err := d.Forward(t, e0, e1)
				if err != nil {
					return nil, fmt.Errorf("dynamics train: trace %d: %w", i, err)
				}
				if err := d.Backward(); err != nil {
					return nil, err
				}
				info.Step++
				if err := d.AdamW(float32(o.LR), float32(o.Beta1), float32(o.Beta2), float32(o.Eps), float32(o.WeightDecay), info.Step); err != nil {
					return nil, err
				}
				w := float64(e1 - e0)
				sum.Loss += w * l.Total
				sum.Slowdown += w * l.Slowdown
				sum.Remain += w * l.Remain
				sum.Queue += w * l.Queue
				events += e1 - e0
			}
		}
		st := EpochStat{Epoch: ep, Loss: sum.Loss / float64(events), Slowdown: sum.Slowdown / float64(events),
			Remain: sum.Remain / float64(events), Queue: sum.Queue / float64(events)}
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
			fmt.Fprintf(o.Progress, "epoch %d/%d: loss %.4f (slowdown %.4f, remaining %.4f, queue %.4f), held-out FCT error %.4f, %.1f s\n",
				ep, o.Epochs, st.Loss, st.Slowdown, st.Remain, st.Queue, st.ValFCTError, st.Seconds)
		}
		log.Info("epoch", "epoch", ep, "loss", st.Loss, "slowdown", st.Slowdown, "remain", st.Remain,
			"queue", st.Queue, "val_fct_error", st.ValFCTError, "seconds", st.Seconds)
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

// resumable checks that a resume state belongs to the run o describes.
func resumable(ck *Checkpoint, o *Options) error {
	t := ck.Training
	switch {
	case ck.Config != o.Config:
		return fmt.Errorf("resume state of another model shape (%+v, this run %+v)", ck.Config, o.Config)
	case ck.ExpAvg == nil:
		return fmt.Errorf("resume state without AdamW moments")
	case t.Seed != o.Seed || t.LR != o.LR || t.WeightDecay != o.WeightDecay || t.Window != o.Window:
		return fmt.Errorf("resume state of another run (seed %d, lr %g, weight decay %g, window %d)", t.Seed, t.LR, t.WeightDecay, t.Window)
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
