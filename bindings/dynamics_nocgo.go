//go:build !cgo

package bindings

// Dyn is unavailable without cgo.
type Dyn struct{}

// DefaultDynConfig returns the zero config: libm4 owns the defaults.
func DefaultDynConfig() DynConfig { return DynConfig{} }

// Validate checks nothing without the native library, which owns the
// ranges (m4_dyn_config_check); nothing can run a config without it either.
func (DynConfig) Validate() error { return nil }

// LoadDyn returns ErrNoNative.
func LoadDyn(string, bool) (*Dyn, DynCheckpointInfo, error) {
	return nil, DynCheckpointInfo{}, ErrNoNative
}

// LoadDynBytes returns ErrNoNative.
func LoadDynBytes(string, []byte, bool) (*Dyn, DynCheckpointInfo, error) {
	return nil, DynCheckpointInfo{}, ErrNoNative
}

// NewDyn returns ErrNoNative.
func NewDyn(DynConfig, bool) (*Dyn, error) { return nil, ErrNoNative }

// Close does nothing.
func (*Dyn) Close() {}

// Config returns the zero config.
func (*Dyn) Config() DynConfig { return DynConfig{} }

// NumParams returns 0.
func (*Dyn) NumParams() int { return 0 }

// Tensors returns nil.
func (*Dyn) Tensors() []TensorInfo { return nil }

// Init returns ErrNoNative.
func (*Dyn) Init(uint64) error { return ErrNoNative }

// Params returns nil.
func (*Dyn) Params() []float32 { return nil }

// SetParams returns ErrNoNative.
func (*Dyn) SetParams([]float32) error { return ErrNoNative }

// Grads returns nil.
func (*Dyn) Grads() []float32 { return nil }

// SetGrads returns ErrNoNative.
func (*Dyn) SetGrads([]float32) error { return ErrNoNative }

// Adam returns ErrNoNative.
func (*Dyn) Adam() ([]float32, []float32, error) { return nil, nil, ErrNoNative }

// SetAdam returns ErrNoNative.
func (*Dyn) SetAdam(_, _ []float32) error { return ErrNoNative }

// SetThreads returns ErrNoNative.
func (*Dyn) SetThreads(int) error { return ErrNoNative }

// Forward returns ErrNoNative.
func (*Dyn) Forward(*DynTrace, int, int) (DynLoss, error) { return DynLoss{}, ErrNoNative }

// Backward returns ErrNoNative.
func (*Dyn) Backward() error { return ErrNoNative }

// AdamW returns ErrNoNative.
func (*Dyn) AdamW(_, _, _, _, _ float32, _ int) error { return ErrNoNative }

// Run returns ErrNoNative.
func (*Dyn) Run(*DynWorkload) ([]float64, error) { return nil, ErrNoNative }

// DynIdealNs returns 0.
func DynIdealNs(int64, []int32, []float64, []int64) float64 { return 0 }
