package features

import (
	"reflect"
	"strings"
	"testing"

	"github.com/m4sim/m4/pipeline/cc"
)

// TestRangesMerge: merging the ranges of two sets of scenarios gives the
// ranges of all of them, and what lies outside both is still reported.
func TestRangesMerge(t *testing.T) {
	type scen struct {
		c       Config
		hosts   int
		network bool
	}
	a := []scen{{DefaultConfig(cc.DCTCP, 300, 15000, true), 3, false}, {DefaultConfig(cc.HPCC, 3000, 18000, true), 5, true}}
	b := []scen{{DefaultConfig(cc.TIMELY, 256, 9000, false), 2, true}, {DefaultConfig(cc.DCTCP, 8192, 64000, true), 7, true}}
	var ra, rb, all Ranges
	for _, s := range a {
		ra.Add(s.c, s.hosts, s.network)
		all.Add(s.c, s.hosts, s.network)
	}
	for _, s := range b {
		rb.Add(s.c, s.hosts, s.network)
		all.Add(s.c, s.hosts, s.network)
	}
	ra.Merge(&rb)
	if len(ra.PFC) == 2 && ra.PFC[0] != all.PFC[0] { // order of first sight differs; compare as sets
		ra.PFC[0], ra.PFC[1] = ra.PFC[1], ra.PFC[0]
	}
	if !reflect.DeepEqual(ra, all) {
		t.Fatalf("merged %+v\nwant   %+v", ra, all)
	}
	if got := ra.Values["buffer_kb"]; got != [2]float64{256, 8192} {
		t.Errorf("buffer_kb range %v, want [256 8192]", got)
	}
	out := ra.Check(DefaultConfig(cc.DCTCP, 32768, 15000, true), true)
	if len(out) != 1 || out[0].Name != "buffer_kb" {
		t.Errorf("a 32 MB buffer against 256-8192 KB: %v", out)
	}
	var empty Ranges
	empty.Merge(nil)
	empty.Merge(&rb)
	if !reflect.DeepEqual(empty, rb) {
		t.Errorf("merge into empty ranges: %+v, want %+v", empty, rb)
	}
}

// TestRangesNetworkPFC: PFC off seen on parking lots only is outside the
// range on a path cut from a network, not on a parking lot; a record that
// did not keep the network paths' PFC (before 2026-12-08) checks nothing
// by it.
func TestRangesNetworkPFC(t *testing.T) {
	var r Ranges
	r.Add(DefaultConfig(cc.DCTCP, 300, 18000, false), 3, false)
	r.Add(DefaultConfig(cc.DCTCP, 3000, 18000, true), 7, true)
	if !reflect.DeepEqual(r.PFC, []bool{false, true}) || !reflect.DeepEqual(r.NetworkPFC, []bool{true}) {
		t.Fatalf("pfc %v, network pfc %v", r.PFC, r.NetworkPFC)
	}
	off := DefaultConfig(cc.DCTCP, 1000, 18000, false)
	for _, c := range []struct {
		network bool
		nilRec  bool
		want    int
	}{{true, false, 1}, {false, false, 0}, {true, true, 0}} {
		rr := r
		if c.nilRec {
			rr.NetworkPFC = nil
		}
		out := rr.Check(off, c.network)
		if len(out) != c.want || (c.want == 1 && (out[0].Name != "pfc" || out[0].Value != "false" ||
			!strings.HasPrefix(out[0].Range, "[true] on paths cut from a network (false on m3's parking lots only; the model reads it as true,"))) {
			t.Errorf("network %v, record without network pfc %v: %v", c.network, c.nilRec, out)
		}
		// what the model reads on a network path: PFC on, unless the record
		// does not say what its network paths had
		read, sub := rr.OnNetwork(off)
		if sub != !c.nilRec || read.PFC != sub {
			t.Errorf("network %v, record without network pfc %v: reads %+v (substituted %v)", c.network, c.nilRec, read, sub)
		}
	}
	// PFC on, or a record that saw PFC off on networks too: read as given
	on := DefaultConfig(cc.DCTCP, 1000, 18000, true)
	both := r
	both.NetworkPFC = []bool{true, false}
	for _, x := range []struct {
		r *Ranges
		c Config
	}{{&r, on}, {&both, off}, {nil, off}} {
		if read, sub := x.r.OnNetwork(x.c); sub || read != x.c {
			t.Errorf("%+v on %+v: reads %+v (substituted %v)", x.c, x.r, read, sub)
		}
	}
	if out := r.Check(DefaultConfig(cc.DCTCP, 1000, 18000, true), true); len(out) != 0 {
		t.Errorf("PFC on, on a network path: %v", out)
	}
}

// TestRangesEdge: a value up to RangeEdge past an edge of the trained range
// is inside (the edges are the extremes of random draws), one further out
// is reported, on both sides.
func TestRangesEdge(t *testing.T) {
	var r Ranges
	for _, buf := range []int{400, 3000} {
		r.Add(DefaultConfig(cc.DCTCP, buf, 18000, true), 7, true)
	}
	for _, tc := range []struct {
		buf     int
		outside bool
	}{
		{400, false}, {3000, false},
		{391, false}, {3074, false}, // within 2.5%
		{389, true}, {3076, true}, // past it
		{200, true}, {6000, true},
	} {
		out := r.Check(DefaultConfig(cc.DCTCP, tc.buf, 18000, true), true)
		if got := len(out) == 1 && out[0].Name == "buffer_kb"; got != tc.outside || (!tc.outside && len(out) != 0) {
			t.Errorf("buffer %d KB against [400, 3000]: %v, want outside %v", tc.buf, out, tc.outside)
		}
	}
}
