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

// Dyn is m4's flow-level dynamics model in the native kernels (see
// DynConfig and m4.h): forward and backward over a trace's events, AdamW,
// and the event loop that estimates every flow of a workload. It is not
// safe for concurrent use.
type Dyn struct {
	ptr      *C.m4_dyn
	cfg      DynConfig
	tensors  []TensorInfo
	nparams  int
	training bool

	// the trace of the last Forward, pinned and described in C memory until
	// the next Forward from event 0 or Close: a window continues from it
	ctr *C.m4_dyn_trace
	cur *DynTrace
	pin runtime.Pinner
}

func dynToC(c DynConfig) C.m4_dyn_config {
	return C.m4_dyn_config{hidden: C.int(c.Hidden), gnn_width: C.int(c.GNNWidth), gnn_layers: C.int(c.GNNLayers),
		mlp_hidden: C.int(c.MLPHidden), ln_eps: C.float(c.LNEps), w_remain: C.float(c.WRemain),
		w_queue: C.float(c.WQueue), queue_norm_bytes: C.float(c.QueueNormBytes), n_params: C.int(c.NParams),
		prior: C.int(c.Prior), w_every: C.float(c.WEvery)}
}

// NewDyn creates a model; training also allocates gradients and AdamW
// state. Parameters start at Init(0).
func NewDyn(cfg DynConfig, training bool) (*Dyn, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cc := dynToC(cfg)
	tr := C.int(0)
	if training {
		tr = 1
	}
	var p *C.m4_dyn
	if st := C.m4_dyn_create(&p, &cc, tr); st != C.M4_OK {
		return nil, fmt.Errorf("dynamics model: create: %w", statusError("m4_dyn_create", st))
	}
	return wrapDyn(p, cfg, training), nil
}

// wrapDyn makes a Dyn of a native model.
func wrapDyn(p *C.m4_dyn, cfg DynConfig, training bool) *Dyn {
	d := &Dyn{ptr: p, cfg: cfg, training: training}
	d.nparams = int(C.m4_dyn_num_params(p))
	d.tensors = make([]TensorInfo, int(C.m4_dyn_num_tensors(p)))
	for i := range d.tensors {
		var ti C.m4_tensor_info
		C.m4_dyn_tensor(p, C.int(i), &ti)
		shape := []int{int(ti.shape[0])}
		if ti.ndim == 2 {
			shape = append(shape, int(ti.shape[1]))
		}
		d.tensors[i] = TensorInfo{Name: C.GoString(ti.name), Offset: int(ti.offset), Size: int(ti.size),
			Shape: shape, Decay: ti.decay != 0}
	}
	runtime.SetFinalizer(d, (*Dyn).Close)
	return d
}

// Validate reports the first field out of range (m4_dyn_config_check: the
// native library owns the ranges).
func (c DynConfig) Validate() error {
	cc := dynToC(c)
	var msg [128]C.char
	if st := C.m4_dyn_config_check(&cc, &msg[0], C.size_t(len(msg))); st != C.M4_OK {
		return fmt.Errorf("dynamics config: %s", C.GoString(&msg[0]))
	}
	return nil
}

// DefaultDynConfig returns the paper's sizes (m4_dyn_config_default:
// libm4 owns them): states of 200, three graph layers of width 300, heads
// of 200, auxiliary losses at 0.1 each, no configuration values; about
// 1.5M parameters.
func DefaultDynConfig() DynConfig {
	var c C.m4_dyn_config
	C.m4_dyn_config_default(&c)
	return dynFromC(c)
}

func dynFromC(c C.m4_dyn_config) DynConfig {
	return DynConfig{Hidden: int(c.hidden), GNNWidth: int(c.gnn_width), GNNLayers: int(c.gnn_layers),
		MLPHidden: int(c.mlp_hidden), LNEps: float32(c.ln_eps), WRemain: float32(c.w_remain),
		WQueue: float32(c.w_queue), QueueNormBytes: float32(c.queue_norm_bytes), NParams: int(c.n_params),
		Prior: int(c.prior), WEvery: float32(c.w_every)}
}

// LoadDyn loads a dynamics checkpoint with the native reader (m4_dyn_load).
// training creates the model for training, with the file's AdamW moments
// when it has them (Adam); otherwise they are checked and dropped. A refused
// file comes back as *CheckpointError naming the file and field.
func LoadDyn(path string, training bool) (*Dyn, DynCheckpointInfo, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var ci C.m4_dyn_checkpoint_info
	errbuf := make([]C.char, 512)
	var p *C.m4_dyn
	st := C.m4_dyn_load(&p, cpath, boolToC(training), &ci, &errbuf[0], C.size_t(len(errbuf)))
	return dynLoadResult(st, p, &ci, errbuf, training)
}

// LoadDynBytes is LoadDyn on a checkpoint image; name is used in errors.
func LoadDynBytes(name string, data []byte, training bool) (*Dyn, DynCheckpointInfo, error) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	cdata := cImage(data)
	defer C.free(cdata)
	var ci C.m4_dyn_checkpoint_info
	errbuf := make([]C.char, 512)
	var p *C.m4_dyn
	st := C.m4_dyn_load_buffer(&p, cdata, C.size_t(len(data)), cname, boolToC(training), &ci, &errbuf[0], C.size_t(len(errbuf)))
	return dynLoadResult(st, p, &ci, errbuf, training)
}

func boolToC(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

func dynLoadResult(st C.m4_status, p *C.m4_dyn, ci *C.m4_dyn_checkpoint_info, errbuf []C.char, training bool) (*Dyn, DynCheckpointInfo, error) {
	defer C.m4_dyn_checkpoint_info_free(ci)
	if st != C.M4_OK {
		msg := C.GoString(&errbuf[0])
		if msg == "" {
			msg = C.GoString(C.m4_strerror(C.int(st)))
		}
		return nil, DynCheckpointInfo{}, &CheckpointError{Msg: msg, Unsupported: st == C.M4_ERR_UNSUPPORTED, IO: st == C.M4_ERR_IO}
	}
	info := DynCheckpointInfo{Config: dynFromC(ci.config), OptimizerState: ci.has_optimizer_state != 0}
	if ci.training != nil {
		info.Training = []byte(C.GoString(ci.training))
	}
	return wrapDyn(p, info.Config, training), info, nil
}

// Close frees the native model. It is safe to call more than once.
func (d *Dyn) Close() {
	d.release()
	if d.ptr != nil {
		C.m4_dyn_destroy(d.ptr)
		d.ptr = nil
	}
}

// release forgets the pinned trace.
func (d *Dyn) release() {
	d.pin.Unpin()
	if d.ctr != nil {
		C.free(unsafe.Pointer(d.ctr))
		d.ctr = nil
	}
	d.cur = nil
}

func (d *Dyn) err(op string, st C.m4_status) error {
	msg := C.GoString(C.m4_dyn_error(d.ptr))
	if msg == "" {
		return statusError(op, st)
	}
	return fmt.Errorf("%s: %s", op, msg)
}

// Config returns the model's configuration.
func (d *Dyn) Config() DynConfig { return d.cfg }

// NumParams returns the number of parameters (float32 values).
func (d *Dyn) NumParams() int { return d.nparams }

// Tensors lists the named parameter tensors in storage order.
func (d *Dyn) Tensors() []TensorInfo { return d.tensors }

// Init draws PyTorch's default initialisation from seed and zeroes the
// AdamW state.
func (d *Dyn) Init(seed uint64) error {
	if st := C.m4_dyn_init(d.ptr, C.uint64_t(seed)); st != C.M4_OK {
		return d.err("dynamics init", st)
	}
	return nil
}

// Params returns a copy of the parameters.
func (d *Dyn) Params() []float32 {
	out := make([]float32, d.nparams)
	copy(out, unsafe.Slice((*float32)(unsafe.Pointer(C.m4_dyn_params(d.ptr))), d.nparams))
	runtime.KeepAlive(d)
	return out
}

// SetParams replaces the parameters; NaN or Inf is an error naming the tensor.
func (d *Dyn) SetParams(p []float32) error {
	if len(p) != d.nparams {
		return fmt.Errorf("dynamics model: %d parameters given, the model has %d", len(p), d.nparams)
	}
	if st := C.m4_dyn_set_params(d.ptr, (*C.float)(unsafe.Pointer(&p[0])), C.size_t(len(p))); st != C.M4_OK {
		return d.err("dynamics parameters", st)
	}
	return nil
}

// Grads returns a copy of the gradients of the last Backward (nil unless
// the model was created for training).
func (d *Dyn) Grads() []float32 {
	g := C.m4_dyn_grads(d.ptr)
	if g == nil {
		return nil
	}
	out := make([]float32, d.nparams)
	copy(out, unsafe.Slice((*float32)(unsafe.Pointer(g)), d.nparams))
	runtime.KeepAlive(d)
	return out
}

// SetGrads replaces the gradients the next AdamW applies (a training model;
// len(g) = NumParams): data-parallel training averages its replicas'
// gradients into one model.
func (d *Dyn) SetGrads(g []float32) error {
	if len(g) != d.nparams {
		return fmt.Errorf("dynamics model: %d gradients given, the model has %d parameters", len(g), d.nparams)
	}
	if st := C.m4_dyn_set_grads(d.ptr, (*C.float)(unsafe.Pointer(&g[0])), C.size_t(len(g))); st != C.M4_OK {
		return d.err("dynamics set gradients", st)
	}
	return nil
}

// Adam returns copies of the AdamW first and second moments.
func (d *Dyn) Adam() (mom1, mom2 []float32, err error) {
	if !d.training {
		return nil, nil, fmt.Errorf("dynamics model: no AdamW state (not created for training)")
	}
	mom1, mom2 = make([]float32, d.nparams), make([]float32, d.nparams)
	C.m4_dyn_get_adam(d.ptr, (*C.float)(unsafe.Pointer(&mom1[0])), (*C.float)(unsafe.Pointer(&mom2[0])), C.size_t(d.nparams))
	return mom1, mom2, nil
}

// SetAdam restores the AdamW moments.
func (d *Dyn) SetAdam(mom1, mom2 []float32) error {
	if !d.training {
		return fmt.Errorf("dynamics model: no AdamW state (not created for training)")
	}
	if len(mom1) != d.nparams || len(mom2) != d.nparams {
		return fmt.Errorf("dynamics model: AdamW state of %d and %d values, the model has %d parameters", len(mom1), len(mom2), d.nparams)
	}
	if st := C.m4_dyn_set_adam(d.ptr, (*C.float)(unsafe.Pointer(&mom1[0])), (*C.float)(unsafe.Pointer(&mom2[0])), C.size_t(d.nparams)); st != C.M4_OK {
		return d.err("dynamics AdamW state", st)
	}
	return nil
}

// SetThreads sets how many threads the forward (training's and Run's) uses:
// each event's rows are shared out, so results do not change; the backward
// runs on one.
func (d *Dyn) SetThreads(n int) error {
	if st := C.m4_dyn_set_threads(d.ptr, C.int(n)); st != C.M4_OK {
		return fmt.Errorf("dynamics model: %d threads: %w", n, statusError("m4_dyn_set_threads", st))
	}
	return nil
}

// ptrOf returns the address of v's first element, pinned by pin, or nil
// for an empty slice.
func ptrOf[T any](v []T, pin *runtime.Pinner) unsafe.Pointer {
	if len(v) == 0 {
		return nil
	}
	pin.Pin(&v[0])
	return unsafe.Pointer(&v[0])
}

// workloadToC describes w in C terms, its arrays pinned by pin.
func workloadToC(w *DynWorkload, pin *runtime.Pinner) C.m4_dyn_workload {
	return C.m4_dyn_workload{
		n_flows:       C.size_t(len(w.FlowSize)),
		size_bytes:    (*C.int64_t)(ptrOf(w.FlowSize, pin)),
		start_ns:      (*C.int64_t)(ptrOf(w.FlowStartNs, pin)),
		ideal_ns:      (*C.int64_t)(ptrOf(w.FlowIdealNs, pin)),
		route_ptr:     (*C.int64_t)(ptrOf(w.FlowRoutePtr, pin)),
		route:         (*C.int32_t)(ptrOf(w.FlowRoute, pin)),
		n_links:       C.size_t(len(w.LinkGbps)),
		link_gbps:     (*C.double)(ptrOf(w.LinkGbps, pin)),
		link_delay_ns: (*C.int64_t)(ptrOf(w.LinkDelayNs, pin)),
		params:        (*C.float)(ptrOf(w.Params, pin)),
		prior:         (*C.float)(ptrOf(w.Prior, pin)),
	}
}

// Forward replays events [e0, e1) of t and returns their loss. e0 = 0
// starts from fresh states; another e0 must be where the previous Forward on
// the same t stopped (truncated backpropagation through time: Backward then
// stops at e0). Errors name the field and index.
func (d *Dyn) Forward(t *DynTrace, e0, e1 int) (DynLoss, error) {
	if d.ptr == nil {
		return DynLoss{}, fmt.Errorf("dynamics forward: model used after Close")
	}
	if e0 == 0 || t != d.cur {
		d.release()
		if err := t.Check(); err != nil {
			return DynLoss{}, fmt.Errorf("dynamics forward: %w", err)
		}
		if err := d.checkParams(&t.DynWorkload); err != nil {
			return DynLoss{}, fmt.Errorf("dynamics forward: %w", err)
		}
		d.ctr = (*C.m4_dyn_trace)(C.malloc(C.size_t(unsafe.Sizeof(C.m4_dyn_trace{}))))
		p := &d.pin
		*d.ctr = C.m4_dyn_trace{
			w:                   workloadToC(&t.DynWorkload, p),
			fct_ns:              (*C.int64_t)(ptrOf(t.FlowFCTNs, p)),
			n_events:            C.size_t(len(t.EvTimeNs)),
			ev_time_ns:          (*C.int64_t)(ptrOf(t.EvTimeNs, p)),
			ev_kind:             (*C.int8_t)(ptrOf(t.EvKind, p)),
			ev_flow:             (*C.int32_t)(ptrOf(t.EvFlow, p)),
			ev_active_ptr:       (*C.int64_t)(ptrOf(t.EvActivePtr, p)),
			ev_active_flow:      (*C.int32_t)(ptrOf(t.EvActiveFlow, p)),
			ev_active_remaining: (*C.float)(ptrOf(t.EvActiveRemaining, p)),
			ev_queue_ptr:        (*C.int64_t)(ptrOf(t.EvQueuePtr, p)),
			ev_queue_link:       (*C.int32_t)(ptrOf(t.EvQueueLink, p)),
			ev_queue_bytes:      (*C.float)(ptrOf(t.EvQueueBytes, p)),
		}
		d.cur = t
	}
	if e0 < 0 || e1 <= e0 || e1 > len(t.EvTimeNs) {
		return DynLoss{}, fmt.Errorf("dynamics forward: window [%d, %d) of %d events", e0, e1, len(t.EvTimeNs))
	}
	var l C.m4_dyn_loss
	if st := C.m4_dyn_forward(d.ptr, d.ctr, C.size_t(e0), C.size_t(e1), &l); st != C.M4_OK {
		return DynLoss{}, d.err("dynamics forward", st)
	}
	return DynLoss{Total: float64(l.total), Slowdown: float64(l.slowdown), Remain: float64(l.remain),
		Queue: float64(l.queue), Every: float64(l.every), NSlowdown: int(l.n_slowdown), NRemain: int(l.n_remain),
		NQueue: int(l.n_queue), NEvery: int(l.n_every)}, nil
}

// checkParams checks that w carries the configuration values and the
// prior slowdowns the model reads (a model without a prior ignores any).
func (d *Dyn) checkParams(w *DynWorkload) error {
	if len(w.Params) != d.cfg.NParams {
		return fmt.Errorf("workload: %d configuration values, the model reads %d", len(w.Params), d.cfg.NParams)
	}
	if d.cfg.Prior != 0 && len(w.Prior) != len(w.FlowSize) {
		return fmt.Errorf("workload: %d prior slowdowns for %d flows (the model reads one per flow)", len(w.Prior), len(w.FlowSize))
	}
	return nil // a model without a prior reads none
}

// Backward computes the gradients of the last Forward's loss (Grads).
func (d *Dyn) Backward() error {
	if st := C.m4_dyn_backward(d.ptr); st != C.M4_OK {
		return d.err("dynamics backward", st)
	}
	return nil
}

// AdamW applies one AdamW step (PyTorch's formula; decay on the matrices);
// step >= 1.
func (d *Dyn) AdamW(lr, beta1, beta2, eps, weightDecay float32, step int) error {
	if st := C.m4_dyn_adamw(d.ptr, C.float(lr), C.float(beta1), C.float(beta2), C.float(eps), C.float(weightDecay), C.int(step)); st != C.M4_OK {
		return d.err("dynamics AdamW", st)
	}
	return nil
}

// Run estimates every flow of w from an empty network and returns their
// FCTs (ns) in w's order: completions predicted by the model, no trace.
func (d *Dyn) Run(w *DynWorkload) ([]float64, error) {
	if d.ptr == nil {
		return nil, fmt.Errorf("dynamics run: model used after Close")
	}
	if err := w.Check(false); err != nil {
		return nil, fmt.Errorf("dynamics run: %w", err)
	}
	if err := d.checkParams(w); err != nil {
		return nil, fmt.Errorf("dynamics run: %w", err)
	}
	var pin runtime.Pinner
	defer pin.Unpin()
	cw := workloadToC(w, &pin)
	out := make([]float64, len(w.FlowSize))
	if st := C.m4_dyn_run(d.ptr, &cw, (*C.double)(ptrOf(out, &pin))); st != C.M4_OK {
		return nil, d.err("dynamics run", st)
	}
	runtime.KeepAlive(d)
	return out, nil
}

// DynIdealNs is the ideal FCT Run uses for a flow without one
// (m4_dyn_ideal_ns): the route's propagation delay plus size + 48 B per
// 1000 B at the slowest link's rate.
func DynIdealNs(size int64, route []int32, linkGbps []float64, linkDelayNs []int64) float64 {
	if len(route) == 0 {
		return 0
	}
	for _, l := range route {
		if l < 0 || int(l) >= len(linkGbps) || int(l) >= len(linkDelayNs) {
			return 0
		}
	}
	return float64(C.m4_dyn_ideal_ns(C.int64_t(size), (*C.int32_t)(unsafe.Pointer(&route[0])), C.size_t(len(route)),
		(*C.double)(unsafe.Pointer(&linkGbps[0])), (*C.int64_t)(unsafe.Pointer(&linkDelayNs[0]))))
}
