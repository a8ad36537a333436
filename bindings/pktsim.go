//go:build cgo

package bindings

/*
#cgo CFLAGS: -std=c99 -I${SRCDIR}/../native
#include <stdint.h>
#include <stdlib.h>
#include "m4.h"

// m4goPktsimProgress is in pktsim_progress.go (a file with //export may
// declare C functions but not define them).
extern void m4goPktsimProgress(uintptr_t h, size_t done, size_t total, int64_t now_ns);
static void m4go_pktsim_progress(void *ctx, size_t done, size_t total, int64_t now_ns) {
	m4goPktsimProgress((uintptr_t)ctx, done, total, now_ns);
}
static void m4go_pktsim_set_progress(m4_pktsim_config *c, uintptr_t h, uint64_t every) {
	c->progress = m4go_pktsim_progress;
	c->progress_ctx = (void *)h;
	c->progress_every_events = every;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"runtime/cgo"
	"unsafe"
)

// PktsimError is an error the packet simulator reports, with its status.
type PktsimError struct {
	Budget bool   // the run hit its event, wall-clock or stop-time budget (M4_ERR_BUDGET)
	Input  bool   // a topology or flow value was rejected (M4_ERR_INVALID_INPUT)
	Msg    string // the native library's message
}

func (e *PktsimError) Error() string { return e.Msg }

// ErrBudget matches (with errors.Is) a run that stopped on its budget.
var ErrBudget = errors.New("pktsim: budget exhausted")

// Is reports whether target is ErrBudget and e is a budget error.
func (e *PktsimError) Is(target error) bool { return target == ErrBudget && e.Budget }

func pktsimErr(st C.m4_status, msg string) error {
	if msg == "" {
		msg = C.GoString(C.m4_strerror(C.int(st)))
	}
	return &PktsimError{Budget: st == C.M4_ERR_BUDGET, Input: st == C.M4_ERR_INVALID_INPUT, Msg: "pktsim: " + msg}
}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

func (c *PktsimConfig) toC() (C.m4_pktsim_config, error) {
	var o C.m4_pktsim_config
	if len(c.ECN) > MaxECNEntries {
		return o, fmt.Errorf("pktsim: %d ECN map entries (at most %d)", len(c.ECN), MaxECNEntries)
	}
	o.cc_mode = C.int(c.CCMode)
	o.payload_bytes = C.uint32_t(c.PayloadBytes)
	o.enable_pfc = cbool(c.EnablePFC)
	o.ack_high_prio = cbool(c.AckHighPrio)
	o.has_win = cbool(c.HasWin)
	o.var_win = cbool(c.VarWin)
	o.fixed_win_bytes = C.uint32_t(c.FixedWinBytes)
	o.base_rtt_ns = C.uint64_t(c.BaseRTTNs)
	o.rate_bound = cbool(c.RateBound)
	o.l2_chunk_size = C.uint32_t(c.L2ChunkSize)
	o.l2_ack_interval = C.uint32_t(c.L2AckInterval)
	o.l2_back_to_zero = cbool(c.L2BackToZero)
	o.nack_interval_us = C.double(c.NackIntervalUs)
	o.alpha_resume_interval_us = C.double(c.AlphaResumeIntervalUs)
	o.rate_decrease_interval_us = C.double(c.RateDecreaseIntervalUs)
	o.rp_timer_us = C.double(c.RPTimerUs)
	o.ewma_gain = C.double(c.EWMAGain)
	o.fast_recovery_times = C.uint32_t(c.FastRecoveryTimes)
	o.clamp_target_rate = cbool(c.ClampTargetRate)
	o.rate_on_first_cnp = C.double(c.RateOnFirstCNP)
	o.rate_ai_bps = C.uint64_t(c.RateAIBps)
	o.rate_hai_bps = C.uint64_t(c.RateHAIBps)
	o.min_rate_bps = C.uint64_t(c.MinRateBps)
	o.max_rate_bps = C.uint64_t(c.MaxRateBps)
	o.dctcp_rate_ai_bps = C.uint64_t(c.DCTCPRateAIBps)
	o.u_target = C.double(c.UTarget)
	o.mi_thresh = C.uint32_t(c.MIThresh)
	o.fast_react = cbool(c.FastReact)
	o.multi_rate = cbool(c.MultiRate)
	o.sample_feedback = cbool(c.SampleFeedback)
	o.int_multi = C.uint32_t(c.INTMulti)
	o.timely_t_low_ns = C.uint64_t(c.TimelyTLowNs)
	o.timely_t_high_ns = C.uint64_t(c.TimelyTHighNs)
	o.timely_beta = C.double(c.TimelyBeta)
	o.timely_alpha = C.double(c.TimelyAlpha)
	o.timely_min_rtt_ns = C.uint64_t(c.TimelyMinRTTNs)
	o.buffer_size_kb = C.uint32_t(c.BufferSizeKB)
	o.pause_time_us = C.uint32_t(c.PauseTimeUs)
	o.n_ecn = C.int(len(c.ECN))
	for i, e := range c.ECN {
		o.ecn_rate_bps[i] = C.uint64_t(e.RateBps)
		o.ecn_kmin_kb[i] = C.uint32_t(e.KminKB)
		o.ecn_kmax_kb[i] = C.uint32_t(e.KmaxKB)
		o.ecn_pmax[i] = C.double(e.Pmax)
	}
	o.stop_time_ns = C.uint64_t(c.StopTimeNs)
	o.ideal_rate_cap_bps = C.uint64_t(c.IdealRateCapBps)
	o.rng_stream_base = C.uint64_t(c.RNGStreamBase)
	o.max_events = C.uint64_t(c.MaxEvents)
	o.max_wall_seconds = C.double(c.MaxWallSeconds)
	o.qlen_interval_ns = C.uint64_t(c.QlenIntervalNs)
	o.qlen_start_ns = C.uint64_t(c.QlenStartNs)
	o.qlen_end_ns = C.uint64_t(c.QlenEndNs)
	return o, nil
}

// DefaultPktsimConfig returns the fork's defaults (m4_pktsim_config_default:
// the globals of scratch/third.cc, e.g. EWMA_GAIN 1/16 in integer arithmetic
// = 0), which apply to keys a config file omits. libm4 owns the values.
func DefaultPktsimConfig() PktsimConfig {
	var o C.m4_pktsim_config
	C.m4_pktsim_config_default(&o)
	return pktsimFromC(&o)
}

// pktsimFromC is toC's inverse (Trace and the progress hook are set apart).
func pktsimFromC(o *C.m4_pktsim_config) PktsimConfig {
	c := PktsimConfig{
		CCMode:                 int(o.cc_mode),
		PayloadBytes:           uint32(o.payload_bytes),
		EnablePFC:              o.enable_pfc != 0,
		AckHighPrio:            o.ack_high_prio != 0,
		HasWin:                 o.has_win != 0,
		VarWin:                 o.var_win != 0,
		FixedWinBytes:          uint32(o.fixed_win_bytes),
		BaseRTTNs:              uint64(o.base_rtt_ns),
		RateBound:              o.rate_bound != 0,
		L2ChunkSize:            uint32(o.l2_chunk_size),
		L2AckInterval:          uint32(o.l2_ack_interval),
		L2BackToZero:           o.l2_back_to_zero != 0,
		NackIntervalUs:         float64(o.nack_interval_us),
		AlphaResumeIntervalUs:  float64(o.alpha_resume_interval_us),
		RateDecreaseIntervalUs: float64(o.rate_decrease_interval_us),
		RPTimerUs:              float64(o.rp_timer_us),
		EWMAGain:               float64(o.ewma_gain),
		FastRecoveryTimes:      uint32(o.fast_recovery_times),
		ClampTargetRate:        o.clamp_target_rate != 0,
		RateOnFirstCNP:         float64(o.rate_on_first_cnp),
		RateAIBps:              uint64(o.rate_ai_bps),
		RateHAIBps:             uint64(o.rate_hai_bps),
		MinRateBps:             uint64(o.min_rate_bps),
		MaxRateBps:             uint64(o.max_rate_bps),
		DCTCPRateAIBps:         uint64(o.dctcp_rate_ai_bps),
		UTarget:                float64(o.u_target),
		MIThresh:               uint32(o.mi_thresh),
		FastReact:              o.fast_react != 0,
		MultiRate:              o.multi_rate != 0,
		SampleFeedback:         o.sample_feedback != 0,
		INTMulti:               uint32(o.int_multi),
		TimelyTLowNs:           uint64(o.timely_t_low_ns),
		TimelyTHighNs:          uint64(o.timely_t_high_ns),
		TimelyBeta:             float64(o.timely_beta),
		TimelyAlpha:            float64(o.timely_alpha),
		TimelyMinRTTNs:         uint64(o.timely_min_rtt_ns),
		BufferSizeKB:           uint32(o.buffer_size_kb),
		PauseTimeUs:            uint32(o.pause_time_us),
		StopTimeNs:             uint64(o.stop_time_ns),
		IdealRateCapBps:        uint64(o.ideal_rate_cap_bps),
		RNGStreamBase:          uint64(o.rng_stream_base),
		MaxEvents:              uint64(o.max_events),
		MaxWallSeconds:         float64(o.max_wall_seconds),
		QlenIntervalNs:         uint64(o.qlen_interval_ns),
		QlenStartNs:            uint64(o.qlen_start_ns),
		QlenEndNs:              uint64(o.qlen_end_ns),
	}
	for i := 0; i < int(o.n_ecn) && i < MaxECNEntries; i++ {
		c.ECN = append(c.ECN, ECNEntry{RateBps: uint64(o.ecn_rate_bps[i]), KminKB: uint32(o.ecn_kmin_kb[i]),
			KmaxKB: uint32(o.ecn_kmax_kb[i]), Pmax: float64(o.ecn_pmax[i])})
	}
	return c
}

// pktsimRoundTrip is toC then pktsimFromC, for the test that they are
// inverses (cgo is not allowed in test files).
func pktsimRoundTrip(c PktsimConfig) (PktsimConfig, error) {
	o, err := c.toC()
	if err != nil {
		return PktsimConfig{}, err
	}
	return pktsimFromC(&o), nil
}

// Pktsim is a packet-level simulator for one topology and configuration. It
// is not safe for concurrent use; create one per goroutine (objects share
// nothing, so several run in parallel).
type Pktsim struct {
	ptr      *C.m4_pktsim
	progress cgo.Handle // of cfg.Progress, 0 without
	links    int        // directed links: 2 per topology link
}

// NewPktsim checks cfg and topo and computes routes.
func NewPktsim(cfg PktsimConfig, topo PktsimTopology) (*Pktsim, error) {
	ccfg, err := cfg.toC()
	if err != nil {
		return nil, err
	}
	var progress cgo.Handle
	if cfg.Progress != nil {
		progress = cgo.NewHandle(cfg.Progress)
		C.m4go_pktsim_set_progress(&ccfg, C.uintptr_t(progress), C.uint64_t(cfg.ProgressEveryEvents))
	}
	created := false
	defer func() {
		if !created && progress != 0 {
			progress.Delete()
		}
	}()
	n := len(topo.IsSwitch)
	l := len(topo.LinkA)
	if len(topo.LinkB) != l || len(topo.RateBps) != l || len(topo.DelayNs) != l || (topo.ErrorRate != nil && len(topo.ErrorRate) != l) {
		return nil, fmt.Errorf("pktsim: topology link arrays have different lengths")
	}
	if n == 0 || l == 0 {
		return nil, fmt.Errorf("pktsim: topology has %d nodes and %d links", n, l)
	}
	// C copies the topology; the buffers live in C memory for the call.
	isSw := (*[1 << 30]C.uint8_t)(C.malloc(C.size_t(n)))[:n:n]
	defer C.free(unsafe.Pointer(&isSw[0]))
	for i, s := range topo.IsSwitch {
		isSw[i] = 0
		if s {
			isSw[i] = 1
		}
	}
	var errp *C.double
	if topo.ErrorRate != nil {
		errp = (*C.double)(C.malloc(C.size_t(8 * l)))
		defer C.free(unsafe.Pointer(errp))
		copy((*[1 << 28]float64)(unsafe.Pointer(errp))[:l:l], topo.ErrorRate)
	}
	la := cInt32s(topo.LinkA)
	defer C.free(unsafe.Pointer(la))
	lb := cInt32s(topo.LinkB)
	defer C.free(unsafe.Pointer(lb))
	rate := cUint64s(topo.RateBps)
	defer C.free(unsafe.Pointer(rate))
	delay := cUint64s(topo.DelayNs)
	defer C.free(unsafe.Pointer(delay))
	ct := C.m4_pktsim_topology{
		n_nodes: C.int32_t(n), is_switch: &isSw[0], n_links: C.int32_t(l),
		link_a: la, link_b: lb, rate_bps: rate, delay_ns: delay, error_rate: errp,
	}
	var p *C.m4_pktsim
	st := C.m4_pktsim_create(&p, &ccfg, &ct)
	if st != C.M4_OK {
		msg := ""
		if p != nil {
			msg = C.GoString(C.m4_pktsim_error(p))
			C.m4_pktsim_destroy(p)
		}
		return nil, pktsimErr(st, msg)
	}
	C.m4_pktsim_set_trace(p, cbool(cfg.Trace))
	s := &Pktsim{ptr: p, progress: progress, links: 2 * l}
	created = true
	runtime.SetFinalizer(s, (*Pktsim).Close)
	return s, nil
}

func cInt32s(v []int32) *C.int32_t {
	p := (*C.int32_t)(C.malloc(C.size_t(4*len(v) + 4)))
	copy((*[1 << 28]int32)(unsafe.Pointer(p))[:len(v):len(v)], v)
	return p
}

func cUint64s(v []uint64) *C.uint64_t {
	p := (*C.uint64_t)(C.malloc(C.size_t(8*len(v) + 8)))
	copy((*[1 << 27]uint64)(unsafe.Pointer(p))[:len(v):len(v)], v)
	return p
}

// Close frees the native simulator. It is safe to call more than once.
func (s *Pktsim) Close() {
	if s.ptr != nil {
		C.m4_pktsim_destroy(s.ptr)
		s.ptr = nil
	}
	if s.progress != 0 {
		s.progress.Delete()
		s.progress = 0
	}
}

// pinFlows returns f as C flows, its arrays pinned by pin (n > 0).
func pinFlows(f *PktsimFlows, pin *runtime.Pinner) C.m4_pktsim_flows {
	for _, p := range []unsafe.Pointer{unsafe.Pointer(&f.ID[0]), unsafe.Pointer(&f.Src[0]), unsafe.Pointer(&f.Dst[0]),
		unsafe.Pointer(&f.PG[0]), unsafe.Pointer(&f.DPort[0]), unsafe.Pointer(&f.SizeBytes[0]), unsafe.Pointer(&f.StartNs[0])} {
		pin.Pin(p)
	}
	return C.m4_pktsim_flows{
		n:          C.size_t(len(f.ID)),
		id:         (*C.uint32_t)(unsafe.Pointer(&f.ID[0])),
		src:        (*C.int32_t)(unsafe.Pointer(&f.Src[0])),
		dst:        (*C.int32_t)(unsafe.Pointer(&f.Dst[0])),
		pg:         (*C.uint16_t)(unsafe.Pointer(&f.PG[0])),
		dport:      (*C.uint16_t)(unsafe.Pointer(&f.DPort[0])),
		size_bytes: (*C.uint64_t)(unsafe.Pointer(&f.SizeBytes[0])),
		start_ns:   (*C.uint64_t)(unsafe.Pointer(&f.StartNs[0])),
	}
}

// checkFlowArrays checks that f's arrays have one length.
func checkFlowArrays(f *PktsimFlows) error {
	n := len(f.ID)
	if len(f.Src) != n || len(f.Dst) != n || len(f.PG) != n || len(f.DPort) != n || len(f.SizeBytes) != n || len(f.StartNs) != n {
		return fmt.Errorf("pktsim: flow arrays have different lengths")
	}
	return nil
}

// Ideal returns each flow's ideal FCT (ns): the fork's standalone FCT, the
// value Run reports in IdealNs, computed without simulating.
func (s *Pktsim) Ideal(f *PktsimFlows) ([]int64, error) {
	if s.ptr == nil {
		return nil, fmt.Errorf("pktsim: used after Close")
	}
	if err := checkFlowArrays(f); err != nil {
		return nil, err
	}
	n := len(f.ID)
	out := make([]int64, n)
	if n == 0 {
		return out, nil
	}
	var pin runtime.Pinner
	defer pin.Unpin()
	cf := pinFlows(f, &pin)
	pin.Pin(&out[0])
	st := C.m4_pktsim_ideal(s.ptr, &cf, (*C.int64_t)(unsafe.Pointer(&out[0])))
	runtime.KeepAlive(s)
	if st != C.M4_OK {
		return nil, pktsimErr(st, C.GoString(C.m4_pktsim_error(s.ptr)))
	}
	return out, nil
}

// Run simulates the flows from an empty network. On a budget error the
// partial result (flows finished so far, FCT -1 for the others) is returned
// with the error.
func (s *Pktsim) Run(f *PktsimFlows) (*PktsimResult, error) {
	if s.ptr == nil {
		return nil, fmt.Errorf("pktsim: used after Close")
	}
	if err := checkFlowArrays(f); err != nil {
		return nil, err
	}
	n := len(f.ID)
	if n == 0 {
		return nil, fmt.Errorf("pktsim: %w", ErrNoFlows)
	}
	res := &PktsimResult{
		FCTNs:   make([]int64, n),
		IdealNs: make([]int64, n),
		SPort:   make([]uint16, n),
		Order:   make([]uint32, n),
	}
	// The structs passed to C hold pointers into Go slices: pin those for the call.
	var pin runtime.Pinner
	defer pin.Unpin()
	var cf C.m4_pktsim_flows
	cf.n = C.size_t(n)
	var cr C.m4_pktsim_result
	if n > 0 {
		cf = pinFlows(f, &pin)
		for _, p := range []unsafe.Pointer{unsafe.Pointer(&res.FCTNs[0]), unsafe.Pointer(&res.IdealNs[0]),
			unsafe.Pointer(&res.SPort[0]), unsafe.Pointer(&res.Order[0])} {
			pin.Pin(p)
		}
		cr.fct_ns = (*C.int64_t)(unsafe.Pointer(&res.FCTNs[0]))
		cr.ideal_ns = (*C.int64_t)(unsafe.Pointer(&res.IdealNs[0]))
		cr.sport = (*C.uint16_t)(unsafe.Pointer(&res.SPort[0]))
		cr.order = (*C.uint32_t)(unsafe.Pointer(&res.Order[0]))
	} else {
		dummy := new(int64)
		pin.Pin(dummy)
		cr.fct_ns = (*C.int64_t)(unsafe.Pointer(dummy))
		st := C.m4_pktsim_run(s.ptr, &cf, &cr)
		runtime.KeepAlive(s)
		if st != C.M4_OK {
			return nil, pktsimErr(st, C.GoString(C.m4_pktsim_error(s.ptr)))
		}
		return res, nil
	}
	st := C.m4_pktsim_run(s.ptr, &cf, &cr)
	runtime.KeepAlive(f)
	var cs C.m4_pktsim_stats
	C.m4_pktsim_get_stats(s.ptr, &cs)
	res.Stats = PktsimStats{Events: uint64(cs.events), Packets: uint64(cs.packets), ECNMarks: uint64(cs.ecn_marks),
		PFCPauses: uint64(cs.pfc_pauses), Drops: uint64(cs.drops), EndNs: uint64(cs.end_ns), MaxPending: uint64(cs.max_pending)}
	var np C.size_t
	ev := C.m4_pktsim_pfc_trace(s.ptr, &np)
	if np > 0 {
		evs := unsafe.Slice(ev, int(np))
		res.PFC = make([]PFCEvent, len(evs))
		for i, e := range evs {
			res.PFC[i] = PFCEvent{TimeNs: uint64(e.time_ns), Node: int32(e.node), NodeType: int32(e.node_type),
				IfIndex: int32(e.ifindex), Pause: e.pause != 0}
		}
	}
	var nports, nkb C.size_t
	var qn, qi *C.int32_t
	var qc *C.uint64_t
	if C.m4_pktsim_qlen_hist(s.ptr, &nports, &nkb, &qn, &qi, &qc) == C.M4_OK && nports > 0 && nkb > 0 {
		h := &QlenHist{KB: int(nkb)}
		for _, v := range unsafe.Slice(qn, int(nports)) {
			h.Node = append(h.Node, int32(v))
		}
		for _, v := range unsafe.Slice(qi, int(nports)) {
			h.IfIndex = append(h.IfIndex, int32(v))
		}
		for _, v := range unsafe.Slice(qc, int(nports*nkb)) {
			h.Counts = append(h.Counts, uint64(v))
		}
		res.Qlen = h
	}
	res.Trace = s.trace()
	runtime.KeepAlive(s)
	if st != C.M4_OK {
		err := pktsimErr(st, C.GoString(C.m4_pktsim_error(s.ptr)))
		if st == C.M4_ERR_BUDGET {
			return res, err
		}
		return nil, err
	}
	return res, nil
}

// trace copies the last run's dynamics trace, or returns nil when it was
// not recorded.
func (s *Pktsim) trace() *PktsimTrace {
	var ct C.m4_pktsim_trace
	if C.m4_pktsim_get_trace(s.ptr, &ct) != C.M4_OK || ct.active_ptr == nil {
		return nil
	}
	n := int(ct.n_events)
	t := &PktsimTrace{
		TimeNs:    goSlice[int64](unsafe.Pointer(ct.time_ns), n),
		Kind:      goSlice[int8](unsafe.Pointer(ct.kind), n),
		Flow:      goSlice[int32](unsafe.Pointer(ct.flow), n),
		ActivePtr: goSlice[int64](unsafe.Pointer(ct.active_ptr), n+1),
		QueuePtr:  goSlice[int64](unsafe.Pointer(ct.queue_ptr), n+1),
	}
	na, nq := int(t.ActivePtr[n]), int(t.QueuePtr[n])
	t.ActiveFlow = goSlice[int32](unsafe.Pointer(ct.active_flow), na)
	t.ActiveRemaining = goSlice[float32](unsafe.Pointer(ct.active_remaining), na)
	t.QueueLink = goSlice[int32](unsafe.Pointer(ct.queue_link), nq)
	t.QueueBytes = goSlice[float32](unsafe.Pointer(ct.queue_bytes), nq)
	return t
}

// goSlice copies n values of type T from C memory at p (an empty slice for
// n == 0, where p may be NULL).
func goSlice[T any](p unsafe.Pointer, n int) []T {
	out := make([]T, n)
	if n > 0 {
		copy(out, unsafe.Slice((*T)(p), n))
	}
	return out
}

// Links returns the directed link table (ids as in PktsimTrace and Routes).
func (s *Pktsim) Links() (*PktsimLinks, error) {
	if s.ptr == nil {
		return nil, fmt.Errorf("pktsim: used after Close")
	}
	n := s.links
	l := &PktsimLinks{From: make([]int32, n), To: make([]int32, n), RateBps: make([]uint64, n), DelayNs: make([]uint64, n)}
	var pin runtime.Pinner
	defer pin.Unpin()
	pin.Pin(&l.From[0])
	pin.Pin(&l.To[0])
	pin.Pin(&l.RateBps[0])
	pin.Pin(&l.DelayNs[0])
	st := C.m4_pktsim_links(s.ptr, (*C.int32_t)(unsafe.Pointer(&l.From[0])), (*C.int32_t)(unsafe.Pointer(&l.To[0])),
		(*C.uint64_t)(unsafe.Pointer(&l.RateBps[0])), (*C.uint64_t)(unsafe.Pointer(&l.DelayNs[0])))
	runtime.KeepAlive(s)
	if st != C.M4_OK {
		return nil, pktsimErr(st, C.GoString(C.m4_pktsim_error(s.ptr)))
	}
	return l, nil
}

// Routes returns the directed links each flow's data packets cross, source
// to destination, without simulating: flow i's are
// route[ptr[i]:ptr[i+1]]. They are the links Run uses for these flows
// (the same source ports and ECMP hash).
func (s *Pktsim) Routes(f *PktsimFlows) (ptr []int64, route []int32, err error) {
	if s.ptr == nil {
		return nil, nil, fmt.Errorf("pktsim: used after Close")
	}
	if err := checkFlowArrays(f); err != nil {
		return nil, nil, err
	}
	n := len(f.ID)
	ptr = make([]int64, n+1)
	if n == 0 {
		return ptr, nil, nil
	}
	var pin runtime.Pinner
	defer pin.Unpin()
	cf := pinFlows(f, &pin)
	pin.Pin(&ptr[0])
	cptr := (*C.int64_t)(unsafe.Pointer(&ptr[0]))
	if st := C.m4_pktsim_routes(s.ptr, &cf, cptr, nil, 0); st != C.M4_OK {
		return nil, nil, pktsimErr(st, C.GoString(C.m4_pktsim_error(s.ptr)))
	}
	route = make([]int32, ptr[n]+1)
	pin.Pin(&route[0])
	st := C.m4_pktsim_routes(s.ptr, &cf, cptr, (*C.int32_t)(unsafe.Pointer(&route[0])), C.size_t(len(route)))
	runtime.KeepAlive(s)
	if st != C.M4_OK {
		return nil, nil, pktsimErr(st, C.GoString(C.m4_pktsim_error(s.ptr)))
	}
	return ptr, route[:ptr[n]], nil
}
