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
	"slices"
	"strings"
	"unsafe"
)

func fromC(c C.m4_model_config) ModelConfig {
	return ModelConfig{FeatDim: int(c.feat_dim), BucketsIn: int(c.n_buckets_in), Pct: int(c.n_pct),
		Dim: int(c.dim), Layers: int(c.n_layers), Heads: int(c.n_heads), Hidden: int(c.hidden_dim),
		MaxSeq: int(c.max_seq), MLPHidden1: int(c.mlp_hidden1), MLPHidden2: int(c.mlp_hidden2),
		OutDim: int(c.out_dim), NormEps: float32(c.norm_eps), RopeTheta: float32(c.rope_theta),
		Dropout: float32(c.dropout)}
}

func infoFromC(ci *C.m4_checkpoint_info) CheckpointInfo {
	return CheckpointInfo{Config: fromC(ci.config), Features: C.GoString(&ci.features[0]),
		M3Features: ci.m3_features != 0, F16: ci.f16 != 0, InputNorm: ci.has_input_norm != 0,
		Calibration:    ci.has_calibration != 0,
		OptimizerState: ci.has_optimizer_state != 0, Checksum: ci.checksum != 0}
}

func loadResult(st C.m4_status, p *C.m4_model, ci *C.m4_checkpoint_info, errbuf []C.char, maxBatch int, keep bool) (*Model, CheckpointInfo, error) {
	if st != C.M4_OK {
		msg := C.GoString(&errbuf[0])
		if msg == "" {
			msg = C.GoString(C.m4_strerror(C.int(st)))
		}
		return nil, CheckpointInfo{}, &CheckpointError{Msg: msg, Unsupported: st == C.M4_ERR_UNSUPPORTED, IO: st == C.M4_ERR_IO}
	}
	info := infoFromC(ci)
	if !keep {
		return nil, info, nil
	}
	return wrapModel(p, info.Config, false), info, nil
}

// LoadModel loads an m4 checkpoint with the native reader (m4_model_load),
// for inference on batches of up to maxBatch scenarios. A refused file comes
// back as *CheckpointError.
func LoadModel(path string, maxBatch int) (*Model, CheckpointInfo, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	errbuf := make([]C.char, 512)
	var p *C.m4_model
	var ci C.m4_checkpoint_info
	st := C.m4_model_load(&p, cpath, C.int(maxBatch), &ci, &errbuf[0], C.size_t(len(errbuf)))
	return loadResult(st, p, &ci, errbuf, maxBatch, true)
}

// LoadModelBytes is LoadModel on a checkpoint image; name is used in errors.
func LoadModelBytes(name string, data []byte, maxBatch int) (*Model, CheckpointInfo, error) {
	return loadBytes(name, data, maxBatch, true)
}

// CheckCheckpoint checks a checkpoint image with the native reader without
// keeping a model.
func CheckCheckpoint(name string, data []byte) (CheckpointInfo, error) {
	_, info, err := loadBytes(name, data, 1, false)
	return info, err
}

// TrainedRanges are a checkpoint's trained ranges as libm4 reads them
// (m4_checkpoint_info.ranges).
type TrainedRanges struct{ r C.m4_trained_ranges }

// ReadTrainedRanges reads the trained ranges of checkpoint image data
// (m4_model_load_buffer, without keeping a model).
func ReadTrainedRanges(name string, data []byte) (*TrainedRanges, error) {
	var ci C.m4_checkpoint_info
	if _, _, err := loadBytesInfo(name, data, 1, false, &ci); err != nil {
		return nil, err
	}
	return &TrainedRanges{ci.ranges}, nil
}

// Check lists, one line each, the inputs of cfg outside r, as libm4
// reports them to its users (m4_check_config; network: a path cut from a
// network, else one of m3's parking lots). None where r records no ranges.
func (r *TrainedRanges) Check(cfg CCConfig, network bool) ([]string, error) {
	c := C.m4_cc_config{sample: C.int(cfg.Sample), buffer_kb: C.int(cfg.BufferKB), window_bytes: C.int(cfg.WindowBytes),
		pfc: cbool(cfg.PFC), cc: C.int(cfg.Mode), dctcp_k: C.int(cfg.DCTCPK), dcqcn_kmin: C.int(cfg.DCQCNKmin),
		dcqcn_kmax: C.int(cfg.DCQCNKmax), hpcc_u_target: C.double(cfg.HPCCUTarget), hpcc_ai: C.int(cfg.HPCCAI),
		timely_t_low_ns: C.int(cfg.TimelyTLowNs), timely_t_high_ns: C.int(cfg.TimelyTHighNs)}
	report := make([]C.char, 4096)
	n := C.m4_check_config(&r.r, &c, cbool(network), &report[0], C.size_t(len(report)))
	if n < 0 {
		return nil, fmt.Errorf("m4_check_config: CC_MODE %d is not one of libm4's algorithms", cfg.Mode)
	}
	if n == 0 {
		return nil, nil
	}
	lines := strings.Split(strings.TrimSuffix(C.GoString(&report[0]), "\n"), "\n")
	if len(lines) != int(n) {
		return nil, fmt.Errorf("m4_check_config: %d inputs outside, %d lines in its report", n, len(lines))
	}
	return lines, nil
}

// cImage copies a checkpoint image into C memory (free it with C.free): the
// readers must not see Go memory move (they do not), and a copy lets
// ASan-instrumented builds see exact bounds.
func cImage(data []byte) unsafe.Pointer {
	p := C.malloc(C.size_t(len(data) + 1))
	copy(unsafe.Slice((*byte)(p), len(data)), data)
	return p
}

func loadBytes(name string, data []byte, maxBatch int, keep bool) (*Model, CheckpointInfo, error) {
	var ci C.m4_checkpoint_info
	return loadBytesInfo(name, data, maxBatch, keep, &ci)
}

// loadBytesInfo is loadBytes leaving libm4's own reading of the file in ci.
func loadBytesInfo(name string, data []byte, maxBatch int, keep bool, ci *C.m4_checkpoint_info) (*Model, CheckpointInfo, error) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	cdata := cImage(data)
	defer C.free(cdata)
	errbuf := make([]C.char, 512)
	var p *C.m4_model
	var out **C.m4_model
	if keep {
		out = &p
	}
	st := C.m4_model_load_buffer(out, cdata, C.size_t(len(data)), cname, C.int(maxBatch), ci, &errbuf[0], C.size_t(len(errbuf)))
	return loadResult(st, p, ci, errbuf, maxBatch, keep)
}

// ReadCheckpoint reads and checks a checkpoint image with the native reader
// (m4_checkpoint_read, the one reader of the format) and returns all it
// holds, whatever its features. A refused file comes back as
// *CheckpointError naming the file and the tensor or metadata field.
func ReadCheckpoint(name string, data []byte) (*CheckpointData, error) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	cdata := cImage(data)
	defer C.free(cdata)
	errbuf := make([]C.char, 512)
	ck := (*C.m4_checkpoint)(C.malloc(C.size_t(unsafe.Sizeof(C.m4_checkpoint{}))))
	defer C.free(unsafe.Pointer(ck))
	st := C.m4_checkpoint_read(ck, cdata, C.size_t(len(data)), cname, &errbuf[0], C.size_t(len(errbuf)))
	defer C.m4_checkpoint_free(ck)
	if st != C.M4_OK {
		msg := C.GoString(&errbuf[0])
		if msg == "" {
			msg = C.GoString(C.m4_strerror(C.int(st)))
		}
		return nil, &CheckpointError{Msg: msg, IO: st == C.M4_ERR_IO}
	}
	n := int(ck.n_params)
	floats := func(p *C.float, n int) []float32 {
		if p == nil {
			return nil
		}
		return slices.Clone(unsafe.Slice((*float32)(unsafe.Pointer(p)), n))
	}
	text := func(p *C.char) []byte {
		if p == nil {
			return nil
		}
		return []byte(C.GoString(p))
	}
	f := int(ck.info.config.feat_dim)
	return &CheckpointData{Info: infoFromC(&ck.info), Params: floats(ck.params, n),
		NormShift: floats(ck.norm_shift, f), NormScale: floats(ck.norm_scale, f),
		Calibration: floats(ck.calibration, int(ck.info.config.out_dim)),
		ExpAvg:      floats(ck.exp_avg, n), ExpAvgSq: floats(ck.exp_avg_sq, n), EMA: floats(ck.ema, n),
		ModelConfig: text(ck.model_config), Features: text(ck.features), Training: text(ck.training)}, nil
}

// EstimatePath estimates a path scenario end to end in the native library
// (m4_estimate_path): flowsim, m3's feature map with the FeatParams
// parameters, and the model. It returns the model's OutDim slowdowns.
func (m *Model) EstimatePath(hosts int, arrivalNs, sizeBytes []float64, src, dst []int32, params []float64) ([]float32, error) {
	n := len(arrivalNs)
	if len(sizeBytes) != n || len(src) != n || len(dst) != n {
		return nil, fmt.Errorf("estimate: mismatched lengths: %d arrivals, %d sizes, %d src, %d dst", n, len(sizeBytes), len(src), len(dst))
	}
	if len(params) != FeatParams {
		return nil, fmt.Errorf("estimate: %d parameters, want %d", len(params), FeatParams)
	}
	if m.ptr == nil {
		return nil, fmt.Errorf("estimate: model used after Close")
	}
	sc := C.m4_path_scenario{n_hosts: C.int(hosts), n_flows: C.size_t(n), params: (*C.double)(unsafe.Pointer(&params[0]))}
	// the scenario struct holds pointers to Go memory: pass it in C memory
	csc := (*C.m4_path_scenario)(C.malloc(C.size_t(unsafe.Sizeof(sc))))
	defer C.free(unsafe.Pointer(csc))
	var pin runtime.Pinner
	defer pin.Unpin()
	pin.Pin(&params[0])
	if n > 0 {
		pin.Pin(&arrivalNs[0])
		pin.Pin(&sizeBytes[0])
		pin.Pin(&src[0])
		pin.Pin(&dst[0])
		sc.arrival_ns = (*C.double)(unsafe.Pointer(&arrivalNs[0]))
		sc.size_bytes = (*C.double)(unsafe.Pointer(&sizeBytes[0]))
		sc.src = (*C.int32_t)(unsafe.Pointer(&src[0]))
		sc.dst = (*C.int32_t)(unsafe.Pointer(&dst[0]))
	}
	*csc = sc
	out := make([]float32, m.cfg.OutDim)
	errbuf := make([]C.char, 512)
	st := C.m4_estimate_path(m.ptr, csc, (*C.float)(unsafe.Pointer(&out[0])), &errbuf[0], C.size_t(len(errbuf)))
	runtime.KeepAlive(m)
	if st != C.M4_OK {
		msg := C.GoString(&errbuf[0])
		if msg == "" {
			msg = C.GoString(C.m4_strerror(C.int(st)))
		}
		return nil, fmt.Errorf("estimate: %s", msg)
	}
	return out, nil
}
