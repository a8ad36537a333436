//go:build cgo

package bindings

import "testing"

// DefaultPktsimConfig (Go) and m4_pktsim_config_default (C) must agree.
func TestPktsimDefaultsMatchC(t *testing.T) {
	c := nativeDefaultPktsimConfig()
	g := DefaultPktsimConfig()
	gc, err := g.toC()
	if err != nil {
		t.Fatal(err)
	}
	if gc != c {
		t.Errorf("Go defaults differ from C's:\nGo %+v\nC  %+v", gc, c)
	}
}

// The C API rejects bad topologies with a message naming the link.
func TestPktsimTopologyErrors(t *testing.T) {
	cfg := DefaultPktsimConfig()
	cfg.CCMode = 8
	for i, c := range []struct {
		topo PktsimTopology
		want string
	}{
		{PktsimTopology{IsSwitch: []bool{false, true}, LinkA: []int32{0}, LinkB: []int32{5}, RateBps: []uint64{1e10}, DelayNs: []uint64{1000}}, "link 0 joins nodes 0 and 5"},
		{PktsimTopology{IsSwitch: []bool{false, true}, LinkA: []int32{0}, LinkB: []int32{1}, RateBps: []uint64{0}, DelayNs: []uint64{1000}}, "link 0 (0-1) has rate 0"},
		{PktsimTopology{IsSwitch: []bool{false, false, true}, LinkA: []int32{0, 0}, LinkB: []int32{2, 1}, RateBps: []uint64{1e10, 1e10}, DelayNs: []uint64{1, 1}}, "host 0 has 2 links"},
	} {
		_, err := NewPktsim(cfg, c.topo)
		if err == nil || !contains(err.Error(), c.want) {
			t.Errorf("%d: %v, want %q", i, err, c.want)
		}
	}
	cfg.CCMode = 5
	_, err := NewPktsim(cfg, PktsimTopology{IsSwitch: []bool{false, true}, LinkA: []int32{0}, LinkB: []int32{1}, RateBps: []uint64{1e10}, DelayNs: []uint64{1}})
	if err == nil || !contains(err.Error(), "CC_MODE 5 is not supported") {
		t.Errorf("cc 5: %v", err)
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
