//go:build cgo

package bindings

/*
#include "m4.h"
#include <stdlib.h>
*/
import "C"

import (
	"fmt"
	"runtime"
	"unsafe"
)

// Shapes of m3's input feature map (m4.h's M4_FEAT_*).
const (
	FeatBuckets     = C.M4_FEAT_BUCKETS     // input size buckets per row
	FeatPercentiles = C.M4_FEAT_PERCENTILES // percentiles 1..100 per bucket
	FeatParams      = C.M4_FEAT_PARAMS      // parameters appended to each row
	FeatOutputs     = C.M4_FEAT_OUTPUTS     // estimates per scenario: 4 buckets x 100 percentiles
	FeatCells       = C.M4_FEAT_CELLS       // buckets x percentiles
	FeatRow         = C.M4_FEAT_ROW         // values per row
)

// Features builds m3's input feature maps in the native library
// (m4_features_build). It keeps scratch buffers between calls; it is not safe
// for concurrent use.
type Features struct {
	ptr *C.m4_features
}

// NewFeatures creates a feature-map builder.
func NewFeatures() (*Features, error) {
	var p *C.m4_features
	if st := C.m4_features_create(&p); st != C.M4_OK {
		return nil, statusError("m4_features_create", st)
	}
	f := &Features{ptr: p}
	runtime.SetFinalizer(f, (*Features).Close)
	return f, nil
}

// Close frees the builder. It is safe to call more than once.
func (f *Features) Close() {
	if f.ptr != nil {
		C.m4_features_destroy(f.ptr)
		f.ptr = nil
	}
}

func (f *Features) err(op string, st C.m4_status) error {
	var field *C.char
	var idx C.size_t
	msg := C.GoString(C.m4_features_error(f.ptr, &field, &idx))
	if st == C.M4_ERR_INVALID_INPUT && field != nil {
		return &InputError{Field: C.GoString(field), Index: int(idx), Msg: msg}
	}
	if msg != "" {
		return fmt.Errorf("%s: %s", op, msg)
	}
	return statusError(op, st)
}

func checkFlows(size []float64, src, dst []int32, fct []float64) error {
	n := len(size)
	if len(src) != n || len(dst) != n || len(fct) != n {
		return fmt.Errorf("features: mismatched lengths: %d sizes, %d src, %d dst, %d FCTs", n, len(src), len(dst), len(fct))
	}
	return nil
}

// Build writes the input map of the flows (size, src, dst, flowsim FCT in ns)
// on a hosts-host path with the FeatParams parameters: res gets hosts x
// FeatRow values; numFlows (nil to skip) hosts x FeatCells shares; counts
// (nil to skip) hosts x FeatBuckets flow counts. Flow problems come back as
// *InputError (fields "size_bytes", "src", "dst", "fct_ns", "params").
func (f *Features) Build(hosts int, size []float64, src, dst []int32, fct []float64, params []float64,
	res []float32, numFlows []float64, counts []int64) error {
	if f.ptr == nil {
		return fmt.Errorf("features: used after Close")
	}
	if err := checkFlows(size, src, dst, fct); err != nil {
		return err
	}
	if hosts < 2 {
		return fmt.Errorf("features: %d hosts, want >= 2", hosts)
	}
	if len(params) != FeatParams {
		return fmt.Errorf("features: %d parameters, want %d", len(params), FeatParams)
	}
	if len(res) != hosts*FeatRow || (numFlows != nil && len(numFlows) != hosts*FeatCells) ||
		(counts != nil && len(counts) != hosts*FeatBuckets) {
		return fmt.Errorf("features: output buffers of %d, %d and %d values for %d rows", len(res), len(numFlows), len(counts), hosts)
	}
	n := len(size)
	if n == 0 {
		return fmt.Errorf("features: %w", ErrNoFlows)
	}
	ps, pf := (*C.double)(unsafe.Pointer(&size[0])), (*C.double)(unsafe.Pointer(&fct[0]))
	psrc, pdst := (*C.int32_t)(unsafe.Pointer(&src[0])), (*C.int32_t)(unsafe.Pointer(&dst[0]))
	var pnf *C.double
	if numFlows != nil {
		pnf = (*C.double)(unsafe.Pointer(&numFlows[0]))
	}
	var pc *C.int64_t
	if counts != nil {
		pc = (*C.int64_t)(unsafe.Pointer(&counts[0]))
	}
	st := C.m4_features_build(f.ptr, C.int(hosts), C.size_t(n), ps, psrc, pdst, pf,
		(*C.double)(unsafe.Pointer(&params[0])), (*C.float)(unsafe.Pointer(&res[0])), pnf, pc)
	runtime.KeepAlive(f)
	if st != C.M4_OK {
		return f.err("features", st)
	}
	return nil
}

// Slowdowns writes each flow's input-side slowdown (m3's (fct + base delay)
// / (ideal + base delay), clipped below at 1) to out, with Build's checks.
func (f *Features) Slowdowns(hosts int, size []float64, src, dst []int32, fct []float64, out []float64) error {
	if f.ptr == nil {
		return fmt.Errorf("features: used after Close")
	}
	if err := checkFlows(size, src, dst, fct); err != nil {
		return err
	}
	if len(out) != len(size) {
		return fmt.Errorf("features: %d output values for %d flows", len(out), len(size))
	}
	if len(size) == 0 {
		return fmt.Errorf("features: %w", ErrNoFlows)
	}
	st := C.m4_features_slowdowns(f.ptr, C.int(hosts), C.size_t(len(size)),
		(*C.double)(unsafe.Pointer(&size[0])), (*C.int32_t)(unsafe.Pointer(&src[0])),
		(*C.int32_t)(unsafe.Pointer(&dst[0])), (*C.double)(unsafe.Pointer(&fct[0])),
		(*C.double)(unsafe.Pointer(&out[0])))
	runtime.KeepAlive(f)
	if st != C.M4_OK {
		return f.err("features", st)
	}
	return nil
}

// FeatureParams turns a 15-value configuration vector (param_*.npy) into the
// FeatParams parameters of an hosts-host path (m4_features_params).
func FeatureParams(hosts int, vec []float64) ([]float64, error) {
	return FeatureParamsFor(FeaturesV1, hosts, false, 0, vec)
}

// Feature definitions by name (M4_FEATURES_V1, _V2, _V3).
const (
	FeaturesV1 = C.M4_FEATURES_V1
	FeaturesV2 = C.M4_FEATURES_V2
	FeaturesV3 = C.M4_FEATURES_V3
)

// FeatureParamsFor turns a 15-value configuration vector into the
// FeatParams parameters of an hosts-host path under the feature definition
// named features; network tells a path cut from a network from m3's parking
// lots, foreground is the path's own flows (m4_features_params_for).
func FeatureParamsFor(features string, hosts int, network bool, foreground int, vec []float64) ([]float64, error) {
	if len(vec) != 15 {
		return nil, fmt.Errorf("configuration vector has %d values, want 15", len(vec))
	}
	if features != FeaturesV1 && features != FeaturesV2 && features != FeaturesV3 {
		return nil, fmt.Errorf("feature definition %q: m4 builds %s, %s and %s", features, FeaturesV1, FeaturesV2, FeaturesV3)
	}
	if foreground < 0 {
		return nil, fmt.Errorf("%d foreground flows: want >= 0", foreground)
	}
	cs := C.CString(features)
	defer C.free(unsafe.Pointer(cs))
	nw := C.int(0)
	if network {
		nw = 1
	}
	out := make([]float64, FeatParams)
	switch st := C.m4_features_params_for(cs, C.int(hosts), nw, C.long(foreground), (*C.double)(unsafe.Pointer(&vec[0])), (*C.double)(unsafe.Pointer(&out[0]))); st {
	case C.M4_OK:
		return out, nil
	case C.M4_ERR_UNSUPPORTED:
		return nil, fmt.Errorf("the parameter encoding %s is defined for 3-, 5- and 7-host paths, not %d", features, hosts)
	case C.M4_ERR_INVALID_INPUT:
		return nil, fmt.Errorf("configuration vector %v has a NaN or Inf value (or, for %s, a negative value or a buffer or window <= 0)", vec, features)
	default:
		return nil, statusError("m4_features_params_for", st)
	}
}

// EmptyBuckets writes m3's empty-bucket flags (m4_features_empty_buckets)
// of len(empty) buckets of pct num_flows_per_cell values each: 1 where a
// bucket has no flows (the mean of its values below 1e-12), else 0.
func EmptyBuckets(numFlows []float64, pct int, empty []uint8) error {
	if pct < 1 || len(numFlows) != len(empty)*pct {
		return fmt.Errorf("empty buckets: %d values for %d buckets of %d", len(numFlows), len(empty), pct)
	}
	if len(empty) == 0 {
		return nil
	}
	if st := C.m4_features_empty_buckets(C.size_t(len(empty)), C.int(pct), (*C.double)(&numFlows[0]),
		(*C.uint8_t)(&empty[0])); st != C.M4_OK {
		return statusError("m4_features_empty_buckets", st)
	}
	return nil
}

// EmptyCounts writes the same flags from m4_features_build's counts
// (m4_features_empty_counts): 1 where a bucket's count is 0. A builder
// that has the counts need not write the share map for it.
func EmptyCounts(counts []int64, empty []uint8) error {
	if len(counts) != len(empty) {
		return fmt.Errorf("empty buckets: %d counts for %d buckets", len(counts), len(empty))
	}
	if len(empty) == 0 {
		return nil
	}
	if st := C.m4_features_empty_counts(C.size_t(len(empty)), (*C.int64_t)(&counts[0]), (*C.uint8_t)(&empty[0])); st != C.M4_OK {
		return statusError("m4_features_empty_counts", st)
	}
	return nil
}

// Percentiles writes percentiles 1..FeatPercentiles of the ascending values
// sorted to out (m4_features_percentiles: numpy's 'nearest',
// sorted[round-half-even((n-1) p/100)]). sorted must not be empty.
func Percentiles(sorted []float64, out *[FeatPercentiles]float64) error {
	if len(sorted) == 0 {
		return fmt.Errorf("percentiles of no values")
	}
	C.m4_features_percentiles((*C.double)(&sorted[0]), C.size_t(len(sorted)), (*C.double)(&out[0]))
	return nil
}
