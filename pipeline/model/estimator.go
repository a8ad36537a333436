package model

import (
	"fmt"

	"github.com/m4sim/m4/bindings"
)

// Input is one path scenario's model input: Hosts feature rows of FeatDim
// values (row 0 the foreground flows, row 1+l the flows crossing link l), and
// one flag per row and input bucket, 1 where the bucket had no flows.
type Input struct {
	Hosts int
	Res   []float32
	Empty []uint8
}

// EmptyBuckets applies m3's rule to a num_flows_per_cell map (hosts rows of
// buckets x pct values): a bucket is empty when the mean of its values is
// below 1e-12 (util/model.py, EPS), i.e. it has no flows. libm4 owns the rule
// (m4_features_empty_buckets, which m4_estimate_path uses too).
func EmptyBuckets(numFlows []float64, hosts, buckets, pct int) ([]uint8, error) {
	if len(numFlows) != hosts*buckets*pct {
		return nil, fmt.Errorf("num_flows_per_cell has %d values, want %d x %d x %d", len(numFlows), hosts, buckets, pct)
	}
	out := make([]uint8, hosts*buckets)
	if err := bindings.EmptyBuckets(numFlows, pct, out); err != nil {
		return nil, err
	}
	return out, nil
}

// Backend runs the model's forward pass for inference on one device: the
// native CPU kernels (bindings.Model, through NewEstimator) or a GPU
// (gpu.Model, chosen by the CLI's --gpu), with the same parameter layout,
// inputs and outputs.
type Backend interface {
	SetParams(p []float32) error
	SetInputNorm(shift, scale []float32) error
	// Forward is bindings.Model.Forward with training off.
	Forward(nRows []int32, feat []float32, empty []uint8, out []float32) error
	Kernel() string
	Close()
}

// cpuBackend is the native CPU model as a Backend.
type cpuBackend struct{ *bindings.Model }

func (b cpuBackend) Forward(nRows []int32, feat []float32, empty []uint8, out []float32) error {
	return b.Model.Forward(nRows, feat, empty, false, 0, out)
}

// Estimator runs a checkpoint's model on path scenarios.
type Estimator struct {
	ck       *Checkpoint
	m        Backend
	maxBatch int
	replicas []*Estimator // see Replicas
}

// NewEstimator loads ck into the native kernels for batches of up to
// maxBatch scenarios on threads threads.
func NewEstimator(ck *Checkpoint, maxBatch, threads int) (*Estimator, error) {
	if maxBatch < 1 {
		maxBatch = 1
	}
	m, err := bindings.NewModel(ck.Config, maxBatch, 0, false)
	if err != nil {
		return nil, err
	}
	if threads > 1 {
		if err := m.SetThreads(threads); err != nil {
			m.Close()
			return nil, err
		}
	}
	return NewEstimatorOn(ck, cpuBackend{m}, maxBatch)
}

// NewEstimatorOn loads ck into b, a backend created for ck.Config and
// batches of up to maxBatch scenarios, and returns an estimator running on
// it. The estimator owns b: Close closes it, and so does a failure here.
func NewEstimatorOn(ck *Checkpoint, b Backend, maxBatch int) (*Estimator, error) {
	if maxBatch < 1 {
		maxBatch = 1
	}
	if err := b.SetParams(ck.Params); err != nil {
		b.Close()
		return nil, err
	}
	if ck.InputNorm != nil {
		if err := b.SetInputNorm(ck.InputNorm.Shift, ck.InputNorm.Scale); err != nil {
			b.Close()
			return nil, err
		}
	}
	return &Estimator{ck: ck, m: b, maxBatch: maxBatch}, nil
}

// Replicas returns n estimators of e's checkpoint for n goroutines to run
// at the same time: e itself first, then replicas on backends of their own,
// made on first use and kept for later calls (Close closes them). On the
// CPU a replica is a native model on one thread that reads e's weights in
// place (bindings.Model.NewReplica: nothing copied or packed again), and e
// should run on one thread too (the kernels give the same results on any
// number of threads). It returns nil when the backend cannot be copied (a
// GPU): callers then share e, one call at a time.
func (e *Estimator) Replicas(n int) ([]*Estimator, error) {
	if e.Shared() {
		return nil, nil
	}
	base := e.m.(cpuBackend).Model
	for len(e.replicas) < n-1 {
		m, err := base.NewReplica(e.maxBatch)
		if err != nil {
			return nil, err
		}
		e.replicas = append(e.replicas, &Estimator{ck: e.ck, m: cpuBackend{m}, maxBatch: e.maxBatch})
	}
	return append([]*Estimator{e}, e.replicas[:max(0, n-1)]...), nil
}

// Shared reports whether the estimator runs on a backend that cannot be
// copied (a GPU), so that goroutines share it (see Replicas).
func (e *Estimator) Shared() bool {
	_, ok := e.m.(cpuBackend)
	return !ok
}

// MaxBatch returns the most scenarios one backend call takes.
func (e *Estimator) MaxBatch() int { return e.maxBatch }

// PredictBatch is Predict on a batch laid out as the backend takes it
// (bindings.Model.Forward: nRows[b] = H of scenario b, feat its H rows of
// FeatDim values after the previous scenario's, empty one flag per row and
// input bucket), writing len(nRows) x OutDim estimates into out. It
// allocates nothing: for callers that build batches in buffers of their own.
func (e *Estimator) PredictBatch(nRows []int32, feat []float32, empty []uint8, out []float32) error {
	c := e.ck.Config
	if len(nRows) > e.maxBatch {
		return fmt.Errorf("a batch of %d scenarios; the estimator takes up to %d", len(nRows), e.maxBatch)
	}
	for i, h := range nRows {
		if h < 2 || int(h) > c.MaxSeq+1 {
			return fmt.Errorf("scenario %d: %d hosts: the model reads paths of 2 to %d hosts", i, h, c.MaxSeq+1)
		}
	}
	if err := e.m.Forward(nRows, feat, empty, out); err != nil {
		return err
	}
	for i := range nRows {
		if err := e.finish(out[i*c.OutDim : (i+1)*c.OutDim]); err != nil {
			return fmt.Errorf("scenario %d: %w", i, err)
		}
	}
	return nil
}

// Close frees the model's native or device memory, and its replicas'.
func (e *Estimator) Close() {
	for _, r := range e.replicas {
		r.Close()
	}
	e.replicas = nil
	e.m.Close()
}

// Checkpoint returns the checkpoint the estimator runs.
func (e *Estimator) Checkpoint() *Checkpoint { return e.ck }

// Kernel names the matrix-multiply kernel in use (and the GPU, on one).
func (e *Estimator) Kernel() string { return e.m.Kernel() }

// Check reports whether in fits the model: row count and widths.
func (e *Estimator) Check(in Input) error {
	c := e.ck.Config
	switch {
	case in.Hosts < 2 || in.Hosts > c.MaxSeq+1:
		return fmt.Errorf("%d hosts: the model reads paths of 2 to %d hosts", in.Hosts, c.MaxSeq+1)
	case len(in.Res) != in.Hosts*c.FeatDim:
		return fmt.Errorf("%d feature values, want %d rows of %d", len(in.Res), in.Hosts, c.FeatDim)
	case in.Empty != nil && len(in.Empty) != in.Hosts*c.BucketsIn:
		return fmt.Errorf("%d empty-bucket flags, want %d rows of %d", len(in.Empty), in.Hosts, c.BucketsIn)
	}
	return nil
}

// Predict returns each scenario's OutDim estimates: slowdown percentiles
// (Pct per output bucket), made a valid distribution by
// bindings.ValidSlowdowns (each at least 1, non-decreasing in each bucket)
// and calibrated when the checkpoint says how (finish).
func (e *Estimator) Predict(in []Input) ([][]float32, error) {
	out, err := e.Raw(in)
	if err != nil {
		return nil, err
	}
	for i := range out {
		if err := e.finish(out[i]); err != nil {
			return nil, fmt.Errorf("scenario %d: %w", i, err)
		}
	}
	return out, nil
}

// finish turns one scenario's raw outputs into its estimate: a valid
// distribution (bindings.ValidSlowdowns), then re-read at the checkpoint's
// calibration levels when it has them (bindings.CalibrateSlowdowns).
func (e *Estimator) finish(v []float32) error {
	c := e.ck.Config
	if _, err := bindings.ValidSlowdowns(v, c.OutDim/c.Pct, c.Pct); err != nil {
		return err
	}
	if e.ck.Calibration != nil {
		return bindings.CalibrateSlowdowns(v, c.OutDim/c.Pct, c.Pct, e.ck.Calibration)
	}
	return nil
}

// Raw returns each scenario's OutDim model outputs as the forward pass
// gives them.
func (e *Estimator) Raw(in []Input) ([][]float32, error) {
	c := e.ck.Config
	out := make([][]float32, len(in))
	for lo := 0; lo < len(in); lo += e.maxBatch {
		hi := min(lo+e.maxBatch, len(in))
		var rows []int32
		var feat []float32
		var empty []uint8
		for i := lo; i < hi; i++ {
			if err := e.Check(in[i]); err != nil {
				return nil, fmt.Errorf("scenario %d: %w", i, err)
			}
			rows = append(rows, int32(in[i].Hosts))
			feat = append(feat, in[i].Res...)
			if in[i].Empty != nil {
				empty = append(empty, in[i].Empty...)
			} else {
				empty = append(empty, make([]uint8, in[i].Hosts*c.BucketsIn)...)
			}
		}
		buf := make([]float32, len(rows)*c.OutDim)
		if err := e.m.Forward(rows, feat, empty, buf); err != nil {
			return nil, fmt.Errorf("scenarios %d..%d: %w", lo, hi-1, err)
		}
		for i := lo; i < hi; i++ {
			out[i] = buf[(i-lo)*c.OutDim : (i-lo+1)*c.OutDim]
		}
	}
	return out, nil
}
