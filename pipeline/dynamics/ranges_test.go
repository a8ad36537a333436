package dynamics

import (
	"strings"
	"testing"

	"github.com/m4sim/m4/pipeline/cc"
	"github.com/m4sim/m4/pipeline/features"
)

// Ranges cover what was added and merged; Check names each input outside
// them once, and nothing inside.
func TestRanges(t *testing.T) {
	dctcp := features.DefaultConfig(cc.DCTCP, 300, 18000, true)
	dctcp.DCTCPK = 20
	wide := dctcp
	wide.BufferKB, wide.DCTCPK = 3000, 60
	var a, b Ranges
	a.Add(dctcp, 32, []float64{10, 40})
	b.Add(wide, 64, []float64{10, 100})
	a.Merge(&b)
	if a.Hosts != [2]int{32, 64} || len(a.LinkGbps) != 3 || a.Config.Values["buffer_kb"] != [2]float64{300, 3000} {
		t.Fatalf("merged: %+v", a)
	}
	if got := a.String(); !strings.Contains(got, "32-64 hosts; links {10, 40, 100} Gbps; buffer_kb 300-3000; dctcp_k 20-60") {
		t.Errorf("String: %s", got)
	}
	mid := dctcp
	mid.BufferKB = 1000
	for _, c := range []struct {
		cfg   features.Config
		hosts int
		gbps  []float64
		want  []string
	}{
		{mid, 48, []float64{10, 40, 100}, nil},
		{mid, 16, []float64{10, 25, 25, 400}, []string{"hosts = 16 is outside the trained range [32, 64]",
			"link rate = 25 Gbps, 400 Gbps is outside the trained range {10, 40, 100} Gbps"}},
		{features.DefaultConfig(cc.HPCC, 300, 18000, true), 32, nil,
			[]string{"cc = hpcc is outside the trained range {dctcp}"}},
	} {
		out := a.Check(c.cfg, c.hosts, c.gbps)
		var got []string
		for _, o := range out {
			got = append(got, o.String())
		}
		if strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("Check(%v, %d hosts, %v) = %q, want %q", c.cfg.CC, c.hosts, c.gbps, got, c.want)
		}
	}
	var none *Ranges
	if out := none.Check(dctcp, 1000, []float64{1}); out != nil {
		t.Errorf("nil ranges check %v", out)
	}
}
