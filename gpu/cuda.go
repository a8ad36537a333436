package gpu

import (
	"fmt"
	"runtime"

	"github.com/ebitengine/purego"

	"github.com/m4sim/m4/bindings"
)

// Status codes of m4cuda.h.
const (
	stOK              = 0
	stInvalidArgument = 1
	stInvalidInput    = 2
	stNoMemory        = 3
	stUnsupported     = 7
	stNoDriver        = 8
	stNoDevice        = 9
)

// configC mirrors m4_model_config (native/m4.h) field for field.
type configC struct {
	FeatDim, BucketsIn, Pct, Dim, Layers, Heads, Hidden, MaxSeq, MLPHidden1, MLPHidden2, OutDim int32
	NormEps, RopeTheta, Dropout                                                                 float32
}

// deviceC mirrors m4cuda_device (gpu/m4cuda.h).
type deviceC struct {
	Name                                                     [256]byte
	CCMajor, CCMinor, SMCount, DriverVersion, RuntimeVersion int32
	_                                                        int32
	TotalBytes, FreeBytes                                    uint64
}

// api holds the library's entry points, bound by purego.
type api struct {
	version      func() string
	deviceCount  func(n *int32, err []byte, errLen uintptr) int32
	deviceInfo   func(dev int32, info *deviceC, err []byte, errLen uintptr) int32
	modelCreate  func(out *uintptr, cfg *configC, dev, maxBatch, maxRows int32, err []byte, errLen uintptr) int32
	modelDestroy func(m uintptr)
	numParams    func(m uintptr) uintptr
	numTensors   func(m uintptr) int32
	tensor       func(m uintptr, i int32, name []byte, nameLen uintptr, off, size *uintptr) int32
	setParams    func(m uintptr, src []float32, n uintptr) int32
	setInputNorm func(m uintptr, shift, scale []float32) int32
	forward      func(m uintptr, batch int32, nRows []int32, feat []float32, empty []uint8, out []float32) int32
	lastMs       func(m uintptr, total, kernels *float32) int32
	modelError   func(m uintptr) string
	modelKernel  func(m uintptr) string
	benchSgemm   func(dev, M, N, K, reps int32, err []byte, errLen uintptr) float64
}

func (l *Lib) bind() error {
	fns := []struct {
		fptr any
		name string
	}{
		{&l.api.version, "m4cuda_version"},
		{&l.api.deviceCount, "m4cuda_device_count"},
		{&l.api.deviceInfo, "m4cuda_device_info"},
		{&l.api.modelCreate, "m4cuda_model_create"},
		{&l.api.modelDestroy, "m4cuda_model_destroy"},
		{&l.api.numParams, "m4cuda_model_num_params"},
		{&l.api.numTensors, "m4cuda_model_num_tensors"},
		{&l.api.tensor, "m4cuda_model_tensor"},
		{&l.api.setParams, "m4cuda_model_set_params"},
		{&l.api.setInputNorm, "m4cuda_model_set_input_norm"},
		{&l.api.forward, "m4cuda_model_forward"},
		{&l.api.lastMs, "m4cuda_model_last_ms"},
		{&l.api.modelError, "m4cuda_model_error"},
		{&l.api.modelKernel, "m4cuda_model_kernel"},
		{&l.api.benchSgemm, "m4cuda_bench_sgemm"},
	}
	for _, f := range fns {
		sym, err := purego.Dlsym(l.handle, f.name)
		if err != nil || sym == 0 {
			return fmt.Errorf("no symbol %s: not an m4 CUDA backend, or one of another version", f.name)
		}
		purego.RegisterFunc(f.fptr, sym)
	}
	if v := l.api.version(); v != ABIVersion {
		return fmt.Errorf("backend version %q, this m4 needs %q: rebuild libm4cuda.so from this checkout", v, ABIVersion)
	}
	return nil
}

// statusError turns a failed call's status and text into an *Error.
func statusError(st int32, msg string) error {
	var kind error
	switch st {
	case stNoMemory:
		kind = ErrOutOfMemory
	case stNoDriver:
		kind = ErrNoDriver
	case stNoDevice:
		kind = ErrNoDevice
	case stUnsupported:
		kind = ErrUnsupported
	}
	if msg == "" {
		msg = fmt.Sprintf("CUDA backend status %d", st)
	}
	return &Error{kind, msg}
}

func cstr(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// Device describes one CUDA device.
type Device struct {
	Index          int
	Name           string
	CCMajor        int // compute capability
	CCMinor        int
	SMs            int
	TotalBytes     uint64
	FreeBytes      uint64
	DriverVersion  int // e.g. 13000 for CUDA 13.0
	RuntimeVersion int
}

func (d Device) String() string {
	return fmt.Sprintf("%s (sm_%d%d, %d SMs, %.0f GiB)", d.Name, d.CCMajor, d.CCMinor, d.SMs, float64(d.TotalBytes)/(1<<30))
}

// Devices lists the CUDA devices. With no driver the error matches
// ErrNoDriver, with no device ErrNoDevice.
func (l *Lib) Devices() ([]Device, error) {
	eb := make([]byte, 512)
	var n int32
	if st := l.api.deviceCount(&n, eb, uintptr(len(eb))); st != stOK {
		return nil, statusError(st, cstr(eb))
	}
	ds := make([]Device, n)
	for i := range ds {
		var c deviceC
		if st := l.api.deviceInfo(int32(i), &c, eb, uintptr(len(eb))); st != stOK {
			return nil, statusError(st, fmt.Sprintf("device %d: %s", i, cstr(eb)))
		}
		ds[i] = Device{Index: i, Name: cstr(c.Name[:]), CCMajor: int(c.CCMajor), CCMinor: int(c.CCMinor), SMs: int(c.SMCount),
			TotalBytes: c.TotalBytes, FreeBytes: c.FreeBytes, DriverVersion: int(c.DriverVersion), RuntimeVersion: int(c.RuntimeVersion)}
	}
	return ds, nil
}

// Probe opens the library and returns its first device: what --gpu uses.
func Probe() (*Lib, Device, error) {
	l, err := Open()
	if err != nil {
		return nil, Device{}, err
	}
	ds, err := l.Devices()
	if err != nil {
		return nil, Device{}, fmt.Errorf("%s: %w", l.Path, err)
	}
	return l, ds[0], nil
}

// Model is m3's estimator on a GPU: the forward pass (inference) of
// bindings.Model, with the same parameter layout, inputs and outputs. It is
// not safe for concurrent use.
type Model struct {
	lib     *Lib
	ptr     uintptr
	cfg     bindings.ModelConfig
	nparams int
}

// NewModel creates a model of cfg on device dev for batches of up to
// maxBatch scenarios with up to maxRows transformer rows in all (0 means
// maxBatch * MaxSeq). Its parameters start at zero (SetParams loads them).
func (l *Lib) NewModel(cfg bindings.ModelConfig, dev, maxBatch, maxRows int) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cc := configC{int32(cfg.FeatDim), int32(cfg.BucketsIn), int32(cfg.Pct), int32(cfg.Dim), int32(cfg.Layers),
		int32(cfg.Heads), int32(cfg.Hidden), int32(cfg.MaxSeq), int32(cfg.MLPHidden1), int32(cfg.MLPHidden2),
		int32(cfg.OutDim), cfg.NormEps, cfg.RopeTheta, cfg.Dropout}
	eb := make([]byte, 512)
	var p uintptr
	if st := l.api.modelCreate(&p, &cc, int32(dev), int32(maxBatch), int32(maxRows), eb, uintptr(len(eb))); st != stOK {
		return nil, statusError(st, fmt.Sprintf("gpu model: create (batch %d, rows %d): %s", maxBatch, maxRows, cstr(eb)))
	}
	m := &Model{lib: l, ptr: p, cfg: cfg, nparams: int(l.api.numParams(p))}
	runtime.SetFinalizer(m, (*Model).Close)
	return m, nil
}

// Close frees the model's device memory. It is safe to call more than once.
func (m *Model) Close() {
	if m.ptr != 0 {
		m.lib.api.modelDestroy(m.ptr)
		m.ptr = 0
	}
}

func (m *Model) err(op string, st int32) error {
	return statusError(st, fmt.Sprintf("%s: %s", op, m.lib.api.modelError(m.ptr)))
}

// Config returns the model's configuration.
func (m *Model) Config() bindings.ModelConfig { return m.cfg }

// NumParams returns the number of parameters (float32 values).
func (m *Model) NumParams() int { return m.nparams }

// Kernel names the kernels and the device, e.g. "cuda-fp32 sgemm (NVIDIA
// H100 80GB HBM3, sm_90)".
func (m *Model) Kernel() string { return m.lib.api.modelKernel(m.ptr) }

// Tensor is one named tensor of the flat parameter layout.
type Tensor struct {
	Name         string
	Offset, Size int
}

// Tensors lists the parameter layout the library uses (it must be
// bindings.Model's; a test checks it).
func (m *Model) Tensors() []Tensor {
	n := int(m.lib.api.numTensors(m.ptr))
	ts := make([]Tensor, n)
	name := make([]byte, 128)
	for i := range ts {
		var off, size uintptr
		m.lib.api.tensor(m.ptr, int32(i), name, uintptr(len(name)), &off, &size)
		ts[i] = Tensor{cstr(name), int(off), int(size)}
	}
	return ts
}

// SetParams copies the parameters (bindings.Model's layout) to the device;
// NaN or Inf is an error naming the tensor.
func (m *Model) SetParams(p []float32) error {
	if len(p) != m.nparams {
		return fmt.Errorf("gpu model: %d parameters given, the model has %d", len(p), m.nparams)
	}
	if st := m.lib.api.setParams(m.ptr, p, uintptr(len(p))); st != stOK {
		return m.err("gpu model parameters", st)
	}
	return nil
}

// SetInputNorm sets the per-column map x = (x - shift) * scale applied to
// every feature row (FeatDim values each); nil, nil removes it.
func (m *Model) SetInputNorm(shift, scale []float32) error {
	if shift == nil && scale == nil {
		m.lib.api.setInputNorm(m.ptr, nil, nil)
		return nil
	}
	if len(shift) != m.cfg.FeatDim || len(scale) != m.cfg.FeatDim {
		return fmt.Errorf("gpu model: input normalisation of %d and %d values, want %d", len(shift), len(scale), m.cfg.FeatDim)
	}
	if st := m.lib.api.setInputNorm(m.ptr, shift, scale); st != stOK {
		return m.err("gpu model input normalisation", st)
	}
	return nil
}

// Forward runs a batch, as bindings.Model.Forward with training off: nRows[b]
// = H of scenario b, feat its H rows of FeatDim values after the previous
// scenario's, empty (nil or one flag per row and input bucket) marks buckets
// without flows; out (len(nRows) * OutDim) receives the estimates.
func (m *Model) Forward(nRows []int32, feat []float32, empty []uint8, out []float32) error {
	if err := m.cfg.CheckBatch(nRows, feat, empty, out); err != nil {
		return fmt.Errorf("gpu model: %w", err)
	}
	if st := m.lib.api.forward(m.ptr, int32(len(nRows)), nRows, feat, empty, out); st != stOK {
		return m.err("gpu model forward", st)
	}
	runtime.KeepAlive(m)
	return nil
}

// LastMs returns the device time of the last successful Forward in
// milliseconds: total from the first copy to the device to the last copy
// back, and the kernels alone.
func (m *Model) LastMs() (total, kernels float64, err error) {
	var t, k float32
	if st := m.lib.api.lastMs(m.ptr, &t, &k); st != stOK {
		return 0, 0, fmt.Errorf("gpu model: no timed forward")
	}
	return float64(t), float64(k), nil
}
