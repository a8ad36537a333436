//go:build cgo

package bindings

/*
#include <stdlib.h>
#include "m4.h"
*/
import "C"

import (
	"fmt"
	"runtime"
	"unsafe"
)

// Model is m3's estimator in m4's native kernels (see ModelConfig): forward,
// backward and AdamW. It is not safe for concurrent use.
type Model struct {
	ptr      *C.m4_model
	cfg      ModelConfig
	tensors  []TensorInfo
	nparams  int
	training bool
	batch    int    // scenarios of the last Forward
	base     *Model // a replica's (NewReplica): reachable while the replica is, so finalized after it
}

func toC(c ModelConfig) C.m4_model_config {
	return C.m4_model_config{
		feat_dim: C.int(c.FeatDim), n_buckets_in: C.int(c.BucketsIn), n_pct: C.int(c.Pct),
		dim: C.int(c.Dim), n_layers: C.int(c.Layers), n_heads: C.int(c.Heads),
		hidden_dim: C.int(c.Hidden), max_seq: C.int(c.MaxSeq),
		mlp_hidden1: C.int(c.MLPHidden1), mlp_hidden2: C.int(c.MLPHidden2), out_dim: C.int(c.OutDim),
		norm_eps: C.float(c.NormEps), rope_theta: C.float(c.RopeTheta), dropout: C.float(c.Dropout),
	}
}

// DefaultModelConfig returns m3's model (m4_model_config_default; m3's
// config/train_config_path.yaml): 18.1M parameters.
func DefaultModelConfig() ModelConfig {
	var c C.m4_model_config
	C.m4_model_config_default(&c)
	return fromC(c)
}

// Validate reports the first field out of range (m4_model_config_check:
// libm4 owns the ranges).
func (c ModelConfig) Validate() error {
	cc := toC(c)
	var msg [128]C.char
	if st := C.m4_model_config_check(&cc, &msg[0], C.size_t(len(msg))); st != C.M4_OK {
		return fmt.Errorf("model config: %s", C.GoString(&msg[0]))
	}
	return nil
}

// NewModel creates a model for batches of up to maxBatch scenarios with up
// to maxRows transformer rows in all (the sum of H-1; 0 means maxBatch *
// MaxSeq). training also allocates gradients and AdamW state. A training
// model's parameters start at m3's initialisation with seed 0, an inference
// model's at zero (SetParams loads them).
func NewModel(cfg ModelConfig, maxBatch, maxRows int, training bool) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cc := toC(cfg)
	tr := C.int(0)
	if training {
		tr = 1
	}
	var p *C.m4_model
	if st := C.m4_model_create(&p, &cc, C.int(maxBatch), C.int(maxRows), tr); st != C.M4_OK {
		return nil, fmt.Errorf("model: create (batch %d, rows %d): %w", maxBatch, maxRows, statusError("m4_model_create", st))
	}
	return wrapModel(p, cfg, training), nil
}

// NewReplica returns another inference model of m's weights for batches of
// up to maxBatch scenarios (m4_model_create_replica), for a second
// goroutine to run forward passes beside m's: it reads m's parameters,
// packed weights, input normalisation and calibration in place (nothing
// copied or packed again) and has activations of its own, on one thread.
// Close it before m. While it lives, m and it refuse to change those
// weights.
func (m *Model) NewReplica(maxBatch int) (*Model, error) {
	var p *C.m4_model
	if st := C.m4_model_create_replica(&p, m.ptr, C.int(maxBatch)); st != C.M4_OK {
		return nil, fmt.Errorf("model: replica (batch %d): %w", maxBatch, statusError("m4_model_create_replica", st))
	}
	r := wrapModel(p, m.cfg, false)
	r.base = m
	return r, nil
}

// ModelNumParams returns the number of parameters of a model of cfg
// without making one (m4_model_config_num_params).
func ModelNumParams(cfg ModelConfig) (int, error) {
	if err := cfg.Validate(); err != nil {
		return 0, err
	}
	cc := toC(cfg)
	n := int(C.m4_model_config_num_params(&cc))
	if n == 0 {
		return 0, fmt.Errorf("model config: refused by libm4 (m4_model_config_num_params)")
	}
	return n, nil
}

// wrapModel makes a Model of a native one (from m4_model_create or
// m4_model_load), which it then owns.
func wrapModel(p *C.m4_model, cfg ModelConfig, training bool) *Model {
	m := &Model{ptr: p, cfg: cfg, training: training}
	m.nparams = int(C.m4_model_num_params(p))
	n := int(C.m4_model_num_tensors(p))
	m.tensors = make([]TensorInfo, n)
	for i := range m.tensors {
		var ti C.m4_tensor_info
		C.m4_model_tensor(p, C.int(i), &ti)
		shape := []int{int(ti.shape[0])}
		if ti.ndim == 2 {
			shape = append(shape, int(ti.shape[1]))
		}
		m.tensors[i] = TensorInfo{Name: C.GoString(ti.name), Offset: int(ti.offset), Size: int(ti.size),
			Shape: shape, Decay: ti.decay != 0}
	}
	runtime.SetFinalizer(m, (*Model).Close)
	return m
}

// Close frees the native model. It is safe to call more than once.
func (m *Model) Close() {
	if m.ptr != nil {
		C.m4_model_destroy(m.ptr)
		m.ptr = nil
	}
}

func (m *Model) err(op string, st C.m4_status) error {
	msg := C.GoString(C.m4_model_error(m.ptr))
	if msg == "" {
		return statusError(op, st)
	}
	return fmt.Errorf("%s: %s", op, msg)
}

// Config returns the model's configuration.
func (m *Model) Config() ModelConfig { return m.cfg }

// NumParams returns the number of parameters (float32 values).
func (m *Model) NumParams() int { return m.nparams }

// Tensors lists the named parameter tensors in storage order.
func (m *Model) Tensors() []TensorInfo { return m.tensors }

// Init draws the parameters as m3 does, from seed, and zeroes AdamW state.
func (m *Model) Init(seed uint64) error {
	if st := C.m4_model_init(m.ptr, C.uint64_t(seed)); st != C.M4_OK {
		return m.err("model init", st)
	}
	return nil
}

// Params returns a copy of the parameters.
func (m *Model) Params() []float32 {
	out := make([]float32, m.nparams)
	src := unsafe.Slice((*float32)(unsafe.Pointer(C.m4_model_params(m.ptr))), m.nparams)
	copy(out, src)
	runtime.KeepAlive(m)
	return out
}

// ParamsView returns the parameters in place, without a copy: read-only,
// valid until the next call that changes them (SetParams, AdamW, Init) or
// Close.
func (m *Model) ParamsView() []float32 {
	return unsafe.Slice((*float32)(unsafe.Pointer(C.m4_model_params(m.ptr))), m.nparams)
}

// SetParams replaces the parameters; NaN or Inf is an error naming the tensor.
func (m *Model) SetParams(p []float32) error {
	if len(p) != m.nparams {
		return fmt.Errorf("model: %d parameters given, the model has %d", len(p), m.nparams)
	}
	if st := C.m4_model_set_params(m.ptr, (*C.float)(unsafe.Pointer(&p[0])), C.size_t(len(p))); st != C.M4_OK {
		return m.err("model parameters", st)
	}
	return nil
}

// Grads returns a copy of the gradients of the last Backward (nil unless
// the model was created for training).
func (m *Model) Grads() []float32 {
	g := C.m4_model_grads(m.ptr)
	if g == nil {
		return nil
	}
	out := make([]float32, m.nparams)
	copy(out, unsafe.Slice((*float32)(unsafe.Pointer(g)), m.nparams))
	runtime.KeepAlive(m)
	return out
}

// Adam returns copies of the AdamW first and second moments.
func (m *Model) Adam() (mom1, mom2 []float32, err error) {
	if !m.training {
		return nil, nil, fmt.Errorf("model: no AdamW state (not created for training)")
	}
	mom1, mom2 = make([]float32, m.nparams), make([]float32, m.nparams)
	C.m4_model_get_adam(m.ptr, (*C.float)(unsafe.Pointer(&mom1[0])), (*C.float)(unsafe.Pointer(&mom2[0])), C.size_t(m.nparams))
	return mom1, mom2, nil
}

// SetAdam restores the AdamW moments.
func (m *Model) SetAdam(mom1, mom2 []float32) error {
	if !m.training {
		return fmt.Errorf("model: no AdamW state (not created for training)")
	}
	if len(mom1) != m.nparams || len(mom2) != m.nparams {
		return fmt.Errorf("model: AdamW state of %d and %d values, the model has %d parameters", len(mom1), len(mom2), m.nparams)
	}
	if st := C.m4_model_set_adam(m.ptr, (*C.float)(unsafe.Pointer(&mom1[0])), (*C.float)(unsafe.Pointer(&mom2[0])), C.size_t(m.nparams)); st != C.M4_OK {
		return m.err("model AdamW state", st)
	}
	return nil
}

// SetThreads sets how many threads the kernels use (results do not change).
func (m *Model) SetThreads(n int) error {
	if st := C.m4_model_set_threads(m.ptr, C.int(n)); st != C.M4_OK {
		return fmt.Errorf("model: %d threads: %w", n, statusError("m4_model_set_threads", st))
	}
	return nil
}

// SetInputNorm sets the per-column map x = (x - shift) * scale applied to
// every feature row (FeatDim values each); nil, nil removes it.
func (m *Model) SetInputNorm(shift, scale []float32) error {
	if shift == nil && scale == nil {
		C.m4_model_set_input_norm(m.ptr, nil, nil)
		return nil
	}
	if len(shift) != m.cfg.FeatDim || len(scale) != m.cfg.FeatDim {
		return fmt.Errorf("model: input normalisation of %d and %d values, want %d", len(shift), len(scale), m.cfg.FeatDim)
	}
	if st := C.m4_model_set_input_norm(m.ptr, (*C.float)(unsafe.Pointer(&shift[0])), (*C.float)(unsafe.Pointer(&scale[0]))); st != C.M4_OK {
		return m.err("model input normalisation", st)
	}
	return nil
}

// Kernel names the matrix-multiply kernel in use ("avx512", "avx2", "generic").
func (m *Model) Kernel() string { return C.GoString(C.m4_model_kernel(m.ptr)) }

// Forward runs a batch: nRows[b] = H of scenario b, feat its H rows of
// FeatDim values after the previous scenario's, empty (nil or one flag per
// row and input bucket) marks buckets without flows. out (len(nRows) *
// OutDim) receives the estimates. train applies dropout drawn from seed.
func (m *Model) Forward(nRows []int32, feat []float32, empty []uint8, train bool, seed uint64, out []float32) error {
	if err := m.cfg.CheckBatch(nRows, feat, empty, out); err != nil {
		return fmt.Errorf("model: %w", err)
	}
	b := len(nRows)
	var ep *C.uint8_t
	if empty != nil {
		ep = (*C.uint8_t)(unsafe.Pointer(&empty[0]))
	}
	tr := C.int(0)
	if train {
		tr = 1
	}
	st := C.m4_model_forward(m.ptr, C.int(b), (*C.int32_t)(unsafe.Pointer(&nRows[0])),
		(*C.float)(unsafe.Pointer(&feat[0])), ep, tr, C.uint64_t(seed), (*C.float)(unsafe.Pointer(&out[0])))
	runtime.KeepAlive(m)
	if st != C.M4_OK {
		return m.err("model forward", st)
	}
	m.batch = b
	return nil
}

func (m *Model) checkTargets(target, mask []float32) error {
	if len(target) == 0 || len(target) != len(mask) || len(target)%m.cfg.OutDim != 0 {
		return fmt.Errorf("model: %d targets and %d mask values, want the last batch x %d", len(target), len(mask), m.cfg.OutDim)
	}
	return nil
}

// Loss returns m3's masked relative L1 loss of the last Forward's estimates.
// target and mask hold batch x OutDim values.
func (m *Model) Loss(target, mask []float32) (float32, error) {
	if err := m.checkTargets(target, mask); err != nil {
		return 0, err
	}
	var l C.float
	if st := C.m4_model_loss(m.ptr, (*C.float)(unsafe.Pointer(&target[0])), (*C.float)(unsafe.Pointer(&mask[0])), &l); st != C.M4_OK {
		return 0, m.err("model loss", st)
	}
	return float32(l), nil
}

// Backward computes the loss and every parameter's gradient for the last
// Forward (the model must be created for training).
func (m *Model) Backward(target, mask []float32) (float32, error) {
	if err := m.checkTargets(target, mask); err != nil {
		return 0, err
	}
	var l C.float
	if st := C.m4_model_backward(m.ptr, (*C.float)(unsafe.Pointer(&target[0])), (*C.float)(unsafe.Pointer(&mask[0])), &l); st != C.M4_OK {
		return 0, m.err("model backward", st)
	}
	return float32(l), nil
}

// BackwardDout computes every parameter's gradient for the last Forward
// from dout, the gradient of some loss with respect to its estimates
// (batch x OutDim values): for losses other than m3's, computed by the caller.
func (m *Model) BackwardDout(dout []float32) error {
	if m.batch == 0 || len(dout) != m.batch*m.cfg.OutDim {
		return fmt.Errorf("model: %d loss gradients, want the last batch (%d) x %d", len(dout), m.batch, m.cfg.OutDim)
	}
	st := C.m4_model_backward_dout(m.ptr, (*C.float)(unsafe.Pointer(&dout[0])))
	runtime.KeepAlive(m)
	if st != C.M4_OK {
		return m.err("model backward", st)
	}
	return nil
}

// AdamW applies one step of PyTorch's AdamW with the current gradients;
// weightDecay applies to the tensors with Decay set; step counts from 1.
func (m *Model) AdamW(lr, beta1, beta2, eps, weightDecay float32, step int) error {
	if st := C.m4_model_adamw(m.ptr, C.float(lr), C.float(beta1), C.float(beta2), C.float(eps), C.float(weightDecay), C.int(step)); st != C.M4_OK {
		return m.err("model AdamW", st)
	}
	return nil
}

// BenchFMAPeak measures one core's fp32 FMA rate in GFLOP/s.
func BenchFMAPeak(seconds float64) float64 { return float64(C.m4_bench_fma_peak(C.double(seconds))) }

// BenchSgemm times C (M,N) = A (M,K) @ B (K,N) with B pre-packed, on threads
// threads, best of reps; it returns GFLOP/s.
func BenchSgemm(M, N, K, threads, reps int) float64 {
	return float64(C.m4_bench_sgemm(C.int(M), C.int(N), C.int(K), C.int(threads), C.int(reps)))
}

// ValidSlowdowns makes each of v's buckets x pct slowdown percentiles
// (bucket-major, as the model writes them) a valid distribution in place:
// at least 1 and non-decreasing (m4_slowdowns_valid, the one place m4 does
// this). It returns how many values moved, or an error for a NaN or Inf.
func ValidSlowdowns(v []float32, buckets, pct int) (int, error) {
	if buckets < 1 || pct < 1 || len(v) != buckets*pct {
		return 0, fmt.Errorf("slowdowns: %d values for %d buckets x %d percentiles", len(v), buckets, pct)
	}
	n := C.m4_slowdowns_valid((*C.float)(unsafe.Pointer(&v[0])), C.int(buckets), C.int(pct))
	if n < 0 {
		return 0, fmt.Errorf("slowdowns: a NaN or Inf estimate")
	}
	return int(n), nil
}

// CalibrateSlowdowns re-reads each bucket of valid slowdown percentiles v
// (after ValidSlowdowns) at the calibration levels (same layout, in [0, 1],
// non-decreasing per bucket): m4_slowdowns_calibrate, the one place m4 does
// this.
func CalibrateSlowdowns(v []float32, buckets, pct int, levels []float32) error {
	if buckets < 1 || pct < 1 || len(v) != buckets*pct || len(levels) != len(v) {
		return fmt.Errorf("calibration: %d values and %d levels for %d buckets x %d percentiles", len(v), len(levels), buckets, pct)
	}
	if C.m4_slowdowns_calibrate((*C.float)(unsafe.Pointer(&v[0])), C.int(buckets), C.int(pct), (*C.float)(unsafe.Pointer(&levels[0]))) != 0 {
		return fmt.Errorf("calibration: %d percentiles per bucket is beyond the native limit", pct)
	}
	return nil
}
