package features

import (
	"reflect"
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
