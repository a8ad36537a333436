//go:build !cgo

package bindings

import "errors"

// PktsimError is an error the packet simulator reports.
type PktsimError struct {
	Budget bool
	Input  bool
	Msg    string
}

func (e *PktsimError) Error() string { return e.Msg }

// ErrBudget matches a run that stopped on its budget.
var ErrBudget = errors.New("pktsim: budget exhausted")

// Pktsim is unavailable without cgo.
type Pktsim struct{}

// NewPktsim returns ErrNoNative.
func NewPktsim(PktsimConfig, PktsimTopology) (*Pktsim, error) { return nil, ErrNoNative }

// Close does nothing.
func (*Pktsim) Close() {}

// Run returns ErrNoNative.
func (*Pktsim) Run(*PktsimFlows) (*PktsimResult, error) { return nil, ErrNoNative }

// Ideal returns ErrNoNative.
func (*Pktsim) Ideal(*PktsimFlows) ([]int64, error) { return nil, ErrNoNative }

// Links returns ErrNoNative.
func (*Pktsim) Links() (*PktsimLinks, error) { return nil, ErrNoNative }

// Routes returns ErrNoNative.
func (*Pktsim) Routes(*PktsimFlows) ([]int64, []int32, error) { return nil, nil, ErrNoNative }

// DefaultPktsimConfig returns the zero config: libm4 owns the fork's
// defaults (m4_pktsim_config_default), and nothing can run a config
// without it either.
func DefaultPktsimConfig() PktsimConfig { return PktsimConfig{} }
