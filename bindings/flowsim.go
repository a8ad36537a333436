//go:build cgo

package bindings

/*
#cgo CFLAGS: -std=c99 -I${SRCDIR}/../native
#include <stdlib.h>
#include "m4.h"
*/
import "C"

import (
	"fmt"
	"runtime"
	"unsafe"

	_ "github.com/m4sim/m4/native" // compiles the C sources this file calls
)

// Version returns the native library's version string.
func Version() string { return C.GoString(C.m4_version()) }

// HeaderVersion returns M4_VERSION_STRING as this package saw m4.h at build
// time; it equals Version() unless the build is stale.
func HeaderVersion() string { return C.M4_VERSION_STRING }

func statusError(op string, st C.m4_status) error {
	return fmt.Errorf("%s: %s", op, C.GoString(C.m4_strerror(C.int(st))))
}

// Flowsim is a reusable flow-level simulator for one parking-lot path. It is
// not safe for concurrent use; create one per goroutine.
type Flowsim struct {
	ptr *C.m4_flowsim
	cfg PathConfig
}

// DefaultPathConfig returns m3's parking-lot constants for a path of h hosts
// (m4_path_config_default: 10 Gbit/s edge links and flow cap, 40 Gbit/s
// inner links, 1000 B payload and 48 B of headers per packet).
func DefaultPathConfig(h int) PathConfig {
	var c C.m4_path_config
	C.m4_path_config_default(&c, C.int(h))
	return PathConfig{Hosts: int(c.n_hosts), EdgeGbps: float64(c.edge_gbps), CoreGbps: float64(c.core_gbps),
		FlowCapGbps: float64(c.flow_cap_gbps), PayloadBytes: float64(c.payload_bytes),
		HeaderBytes: float64(c.header_bytes)}
}

// NewFlowsim creates a simulator for cfg.
func NewFlowsim(cfg PathConfig) (*Flowsim, error) {
	ccfg := C.m4_path_config{
		n_hosts:       C.int(cfg.Hosts),
		edge_gbps:     C.double(cfg.EdgeGbps),
		core_gbps:     C.double(cfg.CoreGbps),
		flow_cap_gbps: C.double(cfg.FlowCapGbps),
		payload_bytes: C.double(cfg.PayloadBytes),
		header_bytes:  C.double(cfg.HeaderBytes),
	}
	var p *C.m4_flowsim
	if st := C.m4_flowsim_create(&p, &ccfg); st != C.M4_OK {
		return nil, fmt.Errorf("flowsim: bad path config %+v: %w", cfg, statusError("create", st))
	}
	f := &Flowsim{ptr: p, cfg: cfg}
	runtime.SetFinalizer(f, (*Flowsim).Close)
	return f, nil
}

// Close frees the native simulator. It is safe to call more than once.
func (f *Flowsim) Close() {
	if f.ptr != nil {
		C.m4_flowsim_destroy(f.ptr)
		f.ptr = nil
	}
}

// Run simulates the flows and returns each one's FCT in ns (completion minus
// arrival). All slices must have the same length; arrivals must be ascending.
// Input problems come back as *InputError.
func (f *Flowsim) Run(arrivalNs, sizeBytes []float64, src, dst []int32) ([]float64, error) {
	fct := make([]float64, len(arrivalNs))
	if err := f.RunInto(arrivalNs, sizeBytes, src, dst, fct); err != nil {
		return nil, err
	}
	return fct, nil
}

// RunInto is Run writing the FCTs into fct (one per flow).
func (f *Flowsim) RunInto(arrivalNs, sizeBytes []float64, src, dst []int32, fct []float64) error {
	n := len(arrivalNs)
	if len(sizeBytes) != n || len(src) != n || len(dst) != n || len(fct) != n {
		return fmt.Errorf("flowsim: mismatched lengths: %d arrivals, %d sizes, %d src, %d dst, %d FCTs",
			n, len(sizeBytes), len(src), len(dst), len(fct))
	}
	if f.ptr == nil {
		return fmt.Errorf("flowsim: used after Close")
	}
	if n == 0 {
		return fmt.Errorf("flowsim: %w", ErrNoFlows)
	}
	st := C.m4_flowsim_run(f.ptr, C.size_t(n),
		(*C.double)(unsafe.Pointer(&arrivalNs[0])), (*C.double)(unsafe.Pointer(&sizeBytes[0])),
		(*C.int32_t)(unsafe.Pointer(&src[0])), (*C.int32_t)(unsafe.Pointer(&dst[0])),
		(*C.double)(unsafe.Pointer(&fct[0])))
	runtime.KeepAlive(f)
	if st == C.M4_ERR_INVALID_INPUT {
		var field *C.char
		var idx C.size_t
		msg := C.GoString(C.m4_flowsim_error(f.ptr, &field, &idx))
		return &InputError{Field: C.GoString(field), Index: int(idx), Msg: msg}
	}
	if st != C.M4_OK {
		return statusError("flowsim", st)
	}
	return nil
}

// Stats returns the counters of the last Run.
func (f *Flowsim) Stats() FlowsimStats {
	var s C.m4_flowsim_stats
	C.m4_flowsim_get_stats(f.ptr, &s)
	return FlowsimStats{Events: uint64(s.events), RateSolves: uint64(s.rate_solves), MaxActive: uint64(s.max_active)}
}
