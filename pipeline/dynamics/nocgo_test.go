//go:build !cgo

package dynamics

import (
	"errors"
	"testing"

	"github.com/m4sim/m4/bindings"
)

// Without cgo every entry point that needs the native model says so.
func TestNoNative(t *testing.T) {
	w := &bindings.DynWorkload{FlowSize: []int64{1000}, FlowStartNs: []int64{0}, FlowRoutePtr: []int64{0, 1},
		FlowRoute: []int32{0}, LinkGbps: []float64{10}, LinkDelayNs: []int64{1000}}
	if _, err := Fluid(w); !errors.Is(err, bindings.ErrNoNative) {
		t.Errorf("Fluid: %v, want ErrNoNative", err)
	}
	o := Options{Config: bindings.DefaultDynConfig(), Epochs: 1, Window: 8, LR: 1e-3, Threads: 1}
	if _, err := Train(o, []*bindings.DynTrace{{DynWorkload: *w}}, nil); !errors.Is(err, bindings.ErrNoNative) {
		t.Errorf("Train: %v, want ErrNoNative", err)
	}
}
