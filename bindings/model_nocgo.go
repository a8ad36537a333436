//go:build !cgo

package bindings

// Model is unavailable without cgo.
type Model struct{}

// NewModel returns ErrNoNative.
func NewModel(ModelConfig, int, int, bool) (*Model, error) { return nil, ErrNoNative }

// DefaultModelConfig returns the zero config: libm4 owns m3's model
// (m4_model_config_default), and nothing can run a config without it either.
func DefaultModelConfig() ModelConfig { return ModelConfig{} }

// Validate checks nothing without the native library, which owns the
// ranges (m4_model_config_check); nothing can run a config without it either.
func (ModelConfig) Validate() error { return nil }

// ModelNumParams needs the native library.
func ModelNumParams(ModelConfig) (int, error) { return 0, ErrNoNative }

// Close does nothing.
func (*Model) Close() {}

// NewReplica returns ErrNoNative.
func (*Model) NewReplica(int) (*Model, error) { return nil, ErrNoNative }

// Config returns the zero config.
func (*Model) Config() ModelConfig { return ModelConfig{} }

// NumParams returns 0.
func (*Model) NumParams() int { return 0 }

// Tensors returns nil.
func (*Model) Tensors() []TensorInfo { return nil }

// Init returns ErrNoNative.
func (*Model) Init(uint64) error { return ErrNoNative }

// Params returns nil.
func (*Model) Params() []float32 { return nil }

// ParamsView returns nil.
func (*Model) ParamsView() []float32 { return nil }

// SetParams returns ErrNoNative.
func (*Model) SetParams([]float32) error { return ErrNoNative }

// Grads returns nil.
func (*Model) Grads() []float32 { return nil }

// Adam returns ErrNoNative.
func (*Model) Adam() ([]float32, []float32, error) { return nil, nil, ErrNoNative }

// SetAdam returns ErrNoNative.
func (*Model) SetAdam(_, _ []float32) error { return ErrNoNative }

// SetThreads returns ErrNoNative.
func (*Model) SetThreads(int) error { return ErrNoNative }

// SetInputNorm returns ErrNoNative.
func (*Model) SetInputNorm(_, _ []float32) error { return ErrNoNative }

// Kernel returns "none".
func (*Model) Kernel() string { return "none" }

// Forward returns ErrNoNative.
func (*Model) Forward([]int32, []float32, []uint8, bool, uint64, []float32) error {
	return ErrNoNative
}

// Loss returns ErrNoNative.
func (*Model) Loss(_, _ []float32) (float32, error) { return 0, ErrNoNative }

// Backward returns ErrNoNative.
func (*Model) Backward(_, _ []float32) (float32, error) { return 0, ErrNoNative }

// BackwardDout returns ErrNoNative.
func (*Model) BackwardDout(_ []float32) error { return ErrNoNative }

// AdamW returns ErrNoNative.
func (*Model) AdamW(_, _, _, _, _ float32, _ int) error { return ErrNoNative }

// BenchFMAPeak returns -1.
func BenchFMAPeak(float64) float64 { return -1 }

// BenchSgemm returns -1.
func BenchSgemm(_, _, _, _, _ int) float64 { return -1 }

// ValidSlowdowns returns ErrNoNative.
func ValidSlowdowns([]float32, int, int) (int, error) { return 0, ErrNoNative }

// CalibrateSlowdowns returns ErrNoNative.
func CalibrateSlowdowns([]float32, int, int, []float32) error { return ErrNoNative }
