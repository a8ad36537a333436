//go:build cgo

package bindings

import (
	"reflect"
	"testing"
)

// DefaultPktsimConfig is m4_pktsim_config_default as third.cc documents
// its globals (a few, by key), and toC and pktsimFromC translate every field
// both ways.
func TestPktsimDefaultsFromC(t *testing.T) {
	d := DefaultPktsimConfig()
	if d.CCMode != 1 || d.PayloadBytes != 1000 || !d.EnablePFC || d.BufferSizeKB != 16 || d.UTarget != 0.95 ||
		d.MinRateBps != 100e6 || d.StopTimeNs != 3009999999 || d.EWMAGain != 0 || d.TimelyAlpha != 0.875 {
		t.Errorf("defaults are not the fork's: %+v", d)
	}
	for i, c := range []PktsimConfig{d, distinctPktsimConfig()} {
		got, err := pktsimRoundTrip(c)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, c) {
			t.Errorf("%d: round trip changed the config:\n got  %+v\n want %+v", i, got, c)
		}
	}
}

// distinctPktsimConfig sets every translated field to a value of its own,
// so a field toC or pktsimFromC forgets, or two it swaps, show.
func distinctPktsimConfig() PktsimConfig {
	var c PktsimConfig
	v := reflect.ValueOf(&c).Elem()
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		switch name := v.Type().Field(i).Name; {
		case name == "Trace" || name == "Progress" || name == "ProgressEveryEvents":
			// not in m4_pktsim_config's plain fields
		case f.Kind() == reflect.Bool:
			f.SetBool(true)
		case f.CanInt():
			f.SetInt(int64(i + 1))
		case f.CanUint():
			f.SetUint(uint64(i + 1))
		case f.CanFloat():
			f.SetFloat(float64(i) + 0.5)
		}
	}
	c.ECN = []ECNEntry{{RateBps: 1e10, KminKB: 3, KmaxKB: 4, Pmax: 0.25}, {RateBps: 4e10, KminKB: 12, KmaxKB: 16, Pmax: 0.5}}
	return c
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

// Ideal gives the run's ideal FCTs without running, and the progress hook
// sees the run's flows finish.
func TestPktsimIdealAndProgress(t *testing.T) {
	cfg := DefaultPktsimConfig()
	cfg.CCMode = 8
	cfg.ECN = []ECNEntry{{RateBps: 1e10, KminKB: 12, KmaxKB: 12, Pmax: 1}, {RateBps: 4e10, KminKB: 48, KmaxKB: 48, Pmax: 1}}
	cfg.FixedWinBytes = 18000
	cfg.BufferSizeKB = 300
	cfg.AckHighPrio, cfg.VarWin, cfg.BaseRTTNs = true, true, 14400
	cfg.L2ChunkSize, cfg.L2AckInterval = 4000, 1
	cfg.EWMAGain, cfg.MinRateBps, cfg.DCTCPRateAIBps = 0.0625, 1e9, 615e6
	var calls, lastDone, total int
	cfg.Progress = func(done, n int, nowNs int64) {
		calls++
		lastDone, total = done, n
	}
	cfg.ProgressEveryEvents = 100
	// hosts 0, 1, 2 on switch 3; host 2's link at 40 Gbps
	topo := PktsimTopology{IsSwitch: []bool{false, false, false, true}, LinkA: []int32{0, 1, 2}, LinkB: []int32{3, 3, 3},
		RateBps: []uint64{1e10, 1e10, 4e10}, DelayNs: []uint64{1000, 1000, 1000}}
	sim, err := NewPktsim(cfg, topo)
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	f := &PktsimFlows{ID: []uint32{7, 8, 9}, Src: []int32{0, 1, 2}, Dst: []int32{2, 2, 0}, PG: []uint16{3, 3, 3},
		DPort: []uint16{100, 100, 100}, SizeBytes: []uint64{100000, 300000, 1}, StartNs: []uint64{1e9, 1e9, 1e9 + 10}}
	ideal, err := sim.Ideal(f)
	if err != nil {
		t.Fatal(err)
	}
	// flow 0 by hand: 2 us, the first 1048 B packet at 10 and 40 Gbps
	// (838 + 209 ns), 99 000 B + 99 headers at 10 Gbps (79 200 + 99 * 38 ns)
	if want := int64(2000 + 838 + 209 + 79200 + 99*38); ideal[0] != want {
		t.Errorf("ideal of flow 0: %d ns, want %d", ideal[0], want)
	}
	res, err := sim.Run(f)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ideal {
		if ideal[i] != res.IdealNs[i] {
			t.Errorf("flow %d: Ideal %d ns, Run's %d", i, ideal[i], res.IdealNs[i])
		}
	}
	if want := int(res.Stats.Events / 100); calls != want || total != 3 || lastDone > 3 {
		t.Errorf("progress: %d calls (want %d), total %d, last done %d", calls, want, total, lastDone)
	}
	f.Dst[2] = 3
	if _, err := sim.Ideal(f); err == nil || !contains(err.Error(), "dst 3 is not a host") {
		t.Errorf("a flow to a switch: %v", err)
	}
}
