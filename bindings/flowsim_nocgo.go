//go:build !cgo

package bindings

// Version reports that no native library is linked.
func Version() string { return "none (built without cgo)" }

// HeaderVersion reports that no native header was compiled in.
func HeaderVersion() string { return Version() }

// DefaultPathConfig returns a config of h hosts and zero rates and sizes:
// libm4 owns m3's constants (m4_path_config_default), and nothing can
// simulate a path without it either.
func DefaultPathConfig(h int) PathConfig { return PathConfig{Hosts: h} }

// Flowsim is unavailable without cgo.
type Flowsim struct{}

// NewFlowsim returns ErrNoNative.
func NewFlowsim(PathConfig) (*Flowsim, error) { return nil, ErrNoNative }

// Close does nothing.
func (*Flowsim) Close() {}

// Run returns ErrNoNative.
func (*Flowsim) Run(_, _ []float64, _, _ []int32) ([]float64, error) { return nil, ErrNoNative }

// RunInto returns ErrNoNative.
func (*Flowsim) RunInto(_, _ []float64, _, _ []int32, _ []float64) error { return ErrNoNative }

// Stats returns zeros.
func (*Flowsim) Stats() FlowsimStats { return FlowsimStats{} }
