package ns3

import (
	"path/filepath"
	"testing"

	"github.com/m4sim/m4/internal/refdata"
	"github.com/m4sim/m4/pipeline/cc"
	"github.com/m4sim/m4/pipeline/pktsim"
)

// TestSharedFabrics: each shared fork run loads with its flows, topology
// and model configuration, its FCT file reads back complete, and the keys
// the model never saw varied are named.
func TestSharedFabrics(t *testing.T) {
	ref := refdata.Root(t)
	for _, fab := range []string{"fab1", "fab2", "fab3", "fab6", "fab7"} {
		dir := filepath.Join(ref, "ns3-fabrics", fab)
		r, err := Load(filepath.Join(dir, "config.txt"))
		if err != nil {
			t.Fatal(err)
		}
		if r.Flows.Len() != 10000 || r.Workload.Flows.Len() != 10000 || len(r.Workload.Topo.Hosts()) != 256 ||
			r.HostGbps != 10 || r.FabricGbps != 40 {
			t.Fatalf("%s: %d flows, %d hosts, %g/%g Gbps", fab, r.Flows.Len(), len(r.Workload.Topo.Hosts()), r.HostGbps, r.FabricGbps)
		}
		fct, err := r.ReadFCT(r.FCTFile)
		if err != nil {
			t.Fatal(err)
		}
		for i, f := range fct.FCTNs {
			if f <= 0 || fct.IdealNs[i] <= 0 || fct.Slowdown(i) < 1 {
				t.Fatalf("%s: flow %d: fct %d ideal %d", fab, i, f, fct.IdealNs[i])
			}
		}
		m, err := r.ModelConfig()
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]cc.Record{
			"fab1": {BufferKB: 3072, CC: cc.DCTCP, DCTCPK: 20},
			"fab2": {BufferKB: 1024, CC: cc.DCQCN, DCQCNKmin: 30, DCQCNKmax: 80},
			"fab3": {BufferKB: 512, CC: cc.HPCC, HPCCUTarget: 0.95, HPCCAI: 50},
			"fab6": {BufferKB: 8192, CC: cc.DCTCP, DCTCPK: 30},
			"fab7": {BufferKB: 3072, CC: cc.HPCC, HPCCUTarget: 0.95, HPCCAI: 50},
		}[fab]
		if m.BufferKB != want.BufferKB || m.CC != want.CC || m.WindowBytes != 18000 || !m.PFC ||
			m.CC == cc.DCTCP && m.DCTCPK != want.DCTCPK ||
			m.CC == cc.DCQCN && (m.DCQCNKmin != want.DCQCNKmin || m.DCQCNKmax != want.DCQCNKmax) ||
			m.CC == cc.HPCC && (m.HPCCUTarget != want.HPCCUTarget || m.HPCCAI != want.HPCCAI) {
			t.Errorf("%s: model config %+v, want %+v", fab, m, want)
		}
		// the generator writes exactly what m4's training data runs
		un, err := Untrained(r.Config, m, r.HostGbps, r.FabricGbps)
		if err != nil || len(un) != 0 {
			t.Errorf("%s: untrained settings %v (%v)", fab, un, err)
		}
		c := *r.Config
		c.EWMAGain, c.MinRate = 0.5, 5e8
		un, _ = Untrained(&c, m, r.HostGbps, r.FabricGbps)
		if m.CC == cc.DCTCP && (len(un) != 2 || un[0].Name != "EWMA_GAIN" || un[1].Name != "MIN_RATE") {
			t.Errorf("%s: changed EWMA_GAIN and MIN_RATE: %v", fab, un)
		}
		// ECN maps written for a 10/10 Gbps network are what m4's data
		// would run there, not at the 4x default
		if m.CC == cc.DCTCP || m.CC == cc.DCQCN {
			tmpl, err := pktsim.M3Config(m, pktsim.M3Options{LinkGbps: 10, FabricGbps: 10, BaseRTTNs: 14400, StopS: 4, QlenMonStartNs: 1})
			if err != nil {
				t.Fatal(err)
			}
			c := *r.Config
			c.KmaxMap, c.KminMap, c.PmaxMap = tmpl.KmaxMap, tmpl.KminMap, tmpl.PmaxMap
			if un, _ := Untrained(&c, m, 10, 10); len(un) != 0 {
				t.Errorf("%s: 10/10 Gbps maps at 10/10 Gbps: untrained %v", fab, un)
			}
			if un, _ := Untrained(&c, m, 10, 0); len(un) == 0 || un[0].Name != "KMAX_MAP" {
				t.Errorf("%s: 10/10 Gbps maps against the 4x default: untrained %v, want KMAX_MAP first", fab, un)
			}
		}
	}
}
