package pktsim

import (
	"errors"
	"math"
	"math/big"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/internal/refdata"
	"github.com/m4sim/m4/pipeline/cc"
)

// referenceDir returns the reference data folder, or skips.
func referenceDir(t testing.TB) string { return refdata.Root(t) }

func needNative(t testing.TB) {
	if !bindings.Native {
		t.Skip("built without cgo")
	}
}

// star is hosts 0..n-1 on switch n, every link at rate with 1 us delay.
func star(n int, rate Rate) *NS3Topology {
	t := &NS3Topology{Nodes: n + 1, Switches: []int32{int32(n)}, Name: "star"}
	for i := 0; i < n; i++ {
		t.Links = append(t.Links, Link{A: int32(i), B: int32(n), Rate: rate, DelayNs: 1000})
	}
	return t
}

func wireBytes(size uint64) float64 { return float64(size + (size+999)/1000*48) }

func mustTemplate(t *testing.T, a cc.CC) *Config {
	t.Helper()
	c, err := TemplateConfig(a)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSecondsToNs(t *testing.T) {
	// ns-3 keeps floor(x) and the fraction truncated to 64 bits, then floors
	// the product with 1e9: floor(x)*1e9 + floor(trunc(frac*2^64)*1e9 / 2^64).
	// So Seconds(1e-9) is 0 ns, and 1e-6 (just below a microsecond) is 999.
	two64 := new(big.Int).Lsh(big.NewInt(1), 64)
	for i, c := range []struct {
		x    float64
		want int64
	}{{0, 0}, {8e-7, 799}, {8.384e-7, 838}, {2.096e-7, 209}, {1e-9, 0}, {1e-6, 999}, {0.5, 5e8}, {3.01, 3009999999}, {4, 4e9}} {
		r := new(big.Rat).SetFloat64(c.x)
		hi := new(big.Int).Quo(r.Num(), r.Denom())
		frac := new(big.Rat).Sub(r, new(big.Rat).SetInt(hi))
		lo := new(big.Rat).Mul(frac, new(big.Rat).SetInt(two64))
		loInt := new(big.Int).Quo(lo.Num(), lo.Denom())
		prod := new(big.Int).Mul(loInt, big.NewInt(1e9))
		want := new(big.Int).Add(new(big.Int).Mul(hi, big.NewInt(1e9)), prod.Quo(prod, two64)).Int64()
		if want != c.want {
			t.Fatalf("%d: model gives %d for %v, table says %d", i, want, c.x, c.want)
		}
		if got := SecondsToNs(c.x); got != want {
			t.Errorf("%d: SecondsToNs(%v) = %d, want %d", i, c.x, got, want)
		}
	}
	// Start times go through "%.9f" seconds: at most 1 ns early, never late.
	early := 0
	for ns := int64(1e9); ns < 1e9+20000; ns += 7 {
		s, _ := strconv.ParseFloat(StartText(ns), 64)
		got := SecondsToNs(s)
		if got != ns && got != ns-1 {
			t.Fatalf("start %d ns -> %q -> %d ns", ns, StartText(ns), got)
		}
		if got == ns-1 {
			early++
		}
	}
	if early == 0 {
		t.Error("no start came out 1 ns early; the fork's rounding is not reproduced")
	}
}

func TestParseRate(t *testing.T) {
	for i, c := range []struct {
		in   string
		want Rate
		err  bool
	}{
		{"10Gbps", 10e9, false}, {"100000Gbps", 1e14, false}, {"10.0Mb/s", 10e6, false},
		{"1000Mb/s", 1e9, false}, {"523Mb/s", 523e6, false}, {"8bps", 8, false}, {"1KB/s", 8000, false},
		{"10", 0, true}, {"Gbps", 0, true}, {"10Xbps", 0, true}, {"", 0, true},
	} {
		got, err := ParseRate(c.in)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("%d: ParseRate(%q) = %d, %v; want %d, error %v", i, c.in, got, err, c.want, c.err)
		}
		if err == nil {
			if back, _ := ParseRate(got.String()); back != got {
				t.Errorf("%d: %d -> %q -> %d", i, got, got.String(), back)
			}
		}
	}
}

func TestParseDelay(t *testing.T) {
	for i, c := range []struct {
		in   string
		want uint64
		err  bool
	}{{"1000ns", 1000, false}, {"1us", 1000, false}, {"2.5us", 2500, false}, {"0.000001", 999, false}, {"1ms", 1e6, false},
		{"3", 3e9, false}, {"2000000", 0, true}, {"5xs", 0, true}, {"-1ns", 0, true}} {
		got, err := ParseDelay(c.in)
		if (err != nil) != c.err || (err == nil && got != c.want) {
			t.Errorf("%d: ParseDelay(%q) = %d, %v; want %d, error %v", i, c.in, got, err, c.want, c.err)
		}
	}
}

func TestConfigRoundTrip(t *testing.T) {
	for _, a := range cc.All() {
		c := mustTemplate(t, a)
		c.TopologyFile = "topo.txt"
		c.LinkDown = [3]uint64{0, 1, 2}
		back, err := ParseConfig("gen", strings.NewReader(c.Format()))
		if err != nil {
			t.Fatalf("%s: %v\n%s", a, err, c.Format())
		}
		if back.Source != "gen" {
			t.Errorf("source %q", back.Source)
		}
		back.Source = ""
		if !reflect.DeepEqual(c, back) {
			t.Errorf("%s: round trip changed the config:\n%+v\n%+v", a, c, back)
		}
	}
}

// DefaultConfig takes the simulator's keys from libm4: converted back for
// the simulator it is m4_pktsim_config_default, and its stop time is the
// fork's 3.01 s.
func TestDefaultConfigFromNative(t *testing.T) {
	if !bindings.Native {
		t.Skip("the defaults are libm4's; built without cgo")
	}
	d := DefaultConfig()
	n, err := d.Native()
	if err != nil {
		t.Fatal(err)
	}
	if want := bindings.DefaultPktsimConfig(); !reflect.DeepEqual(n, want) {
		t.Errorf("Native(DefaultConfig()):\n got  %+v\n want %+v", n, want)
	}
	if d.SimulatorStopTime != 3.01 || d.BufferSize != 16 || d.MinRate != 100e6 || d.CCMode != 1 {
		t.Errorf("not the fork's defaults: %+v", d)
	}
	for _, ns := range []uint64{0, 3009999999, 4e9, 2100000000} {
		if got := uint64(SecondsToNs(nsToSeconds(ns))); got != ns {
			t.Errorf("nsToSeconds(%d) = %v reads back as %d", ns, nsToSeconds(ns), got)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for i, c := range []struct{ text, want string }{
		{"CC_MODE 8\nFOO 3\n", "cfg:2: FOO: unknown key"},
		{"CC_MODE eight\n", "cfg:1: CC_MODE: \"eight\" is not a non-negative integer"},
		{"CC_MODE\n", "cfg:1: CC_MODE: want 1 value(s), got 0"},
		{"\n\nRATE_AI 10Xb/s\n", "cfg:3: RATE_AI: rate \"10Xb/s\": unknown unit"},
		{"KMAX_MAP 2 10000000000 16\n", "cfg:1: KMAX_MAP: count 2 wants 4 values after it, got 2"},
		{"PMAX_MAP 1 10000000000 1.5\n", "cfg:1: PMAX_MAP: entry 0: \"1.5\" is not a probability"},
		{"KMIN_MAP 1 10000000000 x\n", "cfg:1: KMIN_MAP: entry 0: threshold \"x\" is not an integer KB"},
		{"KMIN_MAP 1 ten 16\n", "cfg:1: KMIN_MAP: entry 0: rate \"ten\" is not an integer bit/s"},
		{"EWMA_GAIN NaN\n", "cfg:1: EWMA_GAIN: \"NaN\" is not a finite number"},
		{"LINK_DOWN 0 0\n", "cfg:1: LINK_DOWN: want 3 value(s), got 2"},
		{"BUFFER_SIZE -4\n", "cfg:1: BUFFER_SIZE: \"-4\" is not a non-negative integer"},
		{"SIMULATOR_STOP_TIME 0\n", "cfg:1: SIMULATOR_STOP_TIME: 0 s is out of range"},
	} {
		_, err := ParseConfig("cfg", strings.NewReader(c.text))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%d: error %v, want it to contain %q", i, err, c.want)
		}
	}
	// Keys that do not apply to the CC mode are accepted.
	if _, err := ParseConfig("cfg", strings.NewReader("CC_MODE 8\nTIMELY_T_HIGH 5\nU_TARGET 0.9\nPINT_PROB 1\n")); err != nil {
		t.Error(err)
	}
	// Unsupported modes fail when converted for the simulator.
	c, _ := ParseConfig("cfg", strings.NewReader("CC_MODE 10\n"))
	if _, err := c.Native(); err == nil || !strings.Contains(err.Error(), "CC_MODE 10") {
		t.Errorf("CC_MODE 10: %v", err)
	}
}

func TestTopologyParse(t *testing.T) {
	for h := 3; h <= 9; h += 2 {
		pl, err := ParkingLot(h)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseTopology("pl", strings.NewReader(pl.Format()))
		if err != nil {
			t.Fatal(err)
		}
		back.Name = pl.Name
		if !reflect.DeepEqual(pl, back) {
			t.Errorf("topo-pl-%d: round trip differs", h)
		}
	}
	for i, c := range []struct{ text, want string }{
		{"4 1 3\n3\n0 3 10Gbps 1000ns 0\n1 3 10Gbps 1000ns 0\n", "t:4: link 3 node a: unexpected end of file"},
		{"4 1 3\n3\n0 3 10Gbps 1000ns 0\n1 3 0Gbps 1000ns 0\n2 3 10Gbps 1000ns 0\n", "t:4: link 2 rate: \"0Gbps\" is a zero rate"},
		{"4 1 2\n3\n0 0 10Gbps 1000ns 0\n", "t:3: link 1: joins node 0 to itself"},
		{"4 1 1\n7\n0 3 10Gbps 1000ns 0\n", "t:2: switch id 1: \"7\" is not an integer in 0..3"},
		{"4 1 1\n3\n0 3 10Gbps 1000ns 0\n9\n", "t:4: trailing data: unexpected \"9\""},
		{"4 1 1\n3\n0 3 10Gbps 1000qs 0\n", "t:3: link 1 delay: delay \"1000qs\": unknown unit"},
		{"4 1 1\n3\n0 3 10Gbps 1000ns 2\n", "t:3: link 1 error rate: \"2\" is not a probability"},
		{"x\n", "t:1: node count: \"x\" is not an integer"},
	} {
		_, err := ParseTopology("t", strings.NewReader(c.text))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%d: error %v, want it to contain %q", i, err, c.want)
		}
	}
}

func TestParkingLotMatchesForkFiles(t *testing.T) {
	ref := referenceDir(t)
	for _, h := range []int{3, 5, 7} {
		path := filepath.Join(ref, "ns3-topologies", "topo-pl-"+strconv.Itoa(h)+".txt")
		file, err := ParseTopologyFile(path)
		if err != nil {
			t.Fatal(err)
		}
		pl, _ := ParkingLot(h)
		file.Name = pl.Name
		if !reflect.DeepEqual(file, pl) {
			t.Errorf("topo-pl-%d differs from %s:\n%s\nvs\n%s", h, path, pl.Format(), file.Format())
		}
	}
}

func TestFlowsParse(t *testing.T) {
	f := &NS3Flows{Name: "gen"}
	f.Add(0, 0, 2, 1000, 1000000000)
	f.Add(1, 1, 2, 5000, 1000001152)
	back, err := ParseFlows("gen", strings.NewReader(f.Format()))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f, back) {
		t.Errorf("round trip: %+v vs %+v", f, back)
	}
	// the fork's generator ends the file with the last start + 1 s
	if g, err := ParseFlows("gen", strings.NewReader(f.Format()+"2.000001152\n")); err != nil || !reflect.DeepEqual(f, g) {
		t.Errorf("flow file with the generator's trailing line: %v", err)
	}
	for i, c := range []struct{ text, want string }{
		{"2\n0 0 2 3 100 1000 1.0\n", "f:2: flow 2 id: unexpected end of file"},
		{"2\n0 0 2 3 100 1000 1.0\n1 0 2 3 100 1000 0.5\n", "f:3: flow 2 start: 0.5 s is before the previous flow's start"},
		{"1\n0 0 2 9 100 1000 1.0\n", "f:2: flow 1 pg: \"9\" is not an integer in 1..7"},
		{"1\n0 0 2 3 100 0 1.0\n", "f:2: flow 1 size: \"0\" is not an integer in 1..4294967295"},
		{"1\n0 0 2 3 100 10 1.0\n1 0 2 3 100 10 1.0\n", "f:3: trailing data"},
		{"1\n0 0 2 3 100 10 1.0\n2.0 3\n", "f:3: trailing data"},
		{"1\n0 0 2 3 100 10 1.0\nx\n", "f:3: trailing data: unexpected \"x\""},
		{"1\n0 0 2 3 100 10 abc\n", "f:2: flow 1 start: \"abc\" is not a start time"},
	} {
		_, err := ParseFlows("f", strings.NewReader(c.text))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%d: error %v, want it to contain %q", i, err, c.want)
		}
	}
}

func TestSimulateInputErrors(t *testing.T) {
	needNative(t)
	c := mustTemplate(t, cc.DCTCP)
	pl, _ := ParkingLot(3)
	for i, tc := range []struct {
		src, dst int32
		want     string
	}{{0, 3, "dst 3 is a switch"}, {0, 9, "dst 9 is not a node"}, {1, 1, "src and dst are both 1"}} {
		f := &NS3Flows{Name: "flows.txt"}
		f.Add(0, tc.src, tc.dst, 1000, 1e9)
		_, err := Simulate(c, pl, f)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "flows.txt") {
			t.Errorf("%d: %v, want %q naming the file", i, err, tc.want)
		}
	}
	// Two islands: host 0 on switch 4, hosts 1-2 on switch 3.
	isl := &NS3Topology{Nodes: 5, Switches: []int32{3, 4}, Name: "islands", Links: []Link{
		{A: 0, B: 4, Rate: 10e9, DelayNs: 1000}, {A: 1, B: 3, Rate: 10e9, DelayNs: 1000}, {A: 2, B: 3, Rate: 10e9, DelayNs: 1000}}}
	f := &NS3Flows{Name: "flows.txt"}
	f.Add(0, 0, 2, 1000, 1e9)
	if _, err := Simulate(c, isl, f); err == nil || !strings.Contains(err.Error(), "no path from host 0 to host 2") {
		t.Errorf("disconnected: %v", err)
	}
	// A config value the simulator rejects names the config file.
	bad, _ := ParseConfig("cfg.txt", strings.NewReader("CC_MODE 8\nPACKET_PAYLOAD_SIZE 0\n"))
	if _, err := Simulate(bad, pl, f); err == nil || !strings.HasPrefix(err.Error(), "cfg.txt: ") || !strings.Contains(err.Error(), "PACKET_PAYLOAD_SIZE 0") {
		t.Errorf("bad config value: %v", err)
	}
	// HPCC cannot encode a 7 Gbps link in INT.
	odd := star(3, 7e9)
	if _, err := Simulate(mustTemplate(t, cc.HPCC), odd, f); err == nil || !strings.Contains(err.Error(), "INT header") {
		t.Errorf("HPCC at 7 Gbps: %v", err)
	}
}

func TestBudget(t *testing.T) {
	needNative(t)
	c := mustTemplate(t, cc.DCQCN)
	pl, _ := ParkingLot(3)
	f := &NS3Flows{Name: "flows.txt"}
	f.Add(0, 0, 2, 10e6, 1e9)
	f.Add(1, 1, 2, 10e6, 1e9)
	r, err := SimulateWith(c, pl, f, Options{MaxEvents: 1000})
	if !errors.Is(err, bindings.ErrBudget) || !strings.Contains(err.Error(), "event budget of 1000") {
		t.Fatalf("event budget: %v", err)
	}
	if r == nil || r.FCTNs[0] != -1 {
		t.Errorf("partial result: %+v", r)
	}
	c.SimulatorStopTime = 1.001 // 1 ms after the start: 10 MB needs 8 ms
	_, err = Simulate(c, pl, f)
	if !errors.Is(err, bindings.ErrBudget) || !strings.Contains(err.Error(), "did not finish by the stop time") {
		t.Fatalf("stop time: %v", err)
	}
}

// One flow alone with a window above the BDP finishes in the fork's ideal
// FCT. From first principles: n packets of 1000 B + header leave the NIC
// back to back every tx = floor(bytes * 8 / 10 Gbps) ns; the last one is
// stored and forwarded once more at the switch; two links add 1000 ns each.
// The ideal counts a 48 B header; TIMELY's packets carry 8 B more (its
// timestamp), so its FCT is that much above the ideal.
func TestSingleFlowIsIdeal(t *testing.T) {
	needNative(t)
	pl, _ := ParkingLot(3)
	for _, a := range []cc.CC{cc.DCTCP, cc.DCQCN, cc.TIMELY} {
		c := mustTemplate(t, a)
		hdr := uint64(48)
		if a == cc.TIMELY {
			hdr += 8
		}
		for _, size := range []uint64{100, 1000, 100000, 1000000} {
			f := &NS3Flows{Name: "one"}
			f.Add(0, 0, 2, size, 1e9)
			r, err := Simulate(c, pl, f)
			if err != nil {
				t.Fatal(err)
			}
			n := (size + 999) / 1000
			last := size - (n-1)*1000 + hdr
			want := int64((n-1)*((1000+hdr)*8/10) + 2*(last*8/10) + 2000)
			if r.FCTNs[0] != want {
				t.Errorf("%s %d B: fct %d, want %d", a, size, r.FCTNs[0], want)
			}
			if a != cc.TIMELY && r.IdealNs[0] != want {
				t.Errorf("%s %d B: ideal %d, want %d", a, size, r.IdealNs[0], want)
			}
			if math.Abs(float64(r.FCTNs[0])/float64(r.IdealNs[0])-1) > 0.01 {
				t.Errorf("%s %d B: fct %d is not within 1%% of the ideal %d", a, size, r.FCTNs[0], r.IdealNs[0])
			}
		}
	}
}

// Two equal long flows into one 10 Gbps port share it evenly: each gets
// half the rate within 2% (HPCC: half of U_TARGET times the rate, its
// designed utilization).
func TestFairShare(t *testing.T) {
	needNative(t)
	const size = 20e6
	for _, a := range cc.All() {
		c := mustTemplate(t, a)
		f := &NS3Flows{Name: "two"}
		f.Add(0, 0, 2, size, 1e9)
		f.Add(1, 1, 2, size, 1e9)
		r, err := Simulate(c, star(3, 10e9), f)
		if err != nil {
			t.Fatal(err)
		}
		want := 5.0
		if a == cc.HPCC {
			want *= c.UTarget
		}
		for i, fct := range r.FCTNs {
			got := wireBytes(size) * 8 / float64(fct)
			if math.Abs(got/want-1) > 0.02 {
				t.Errorf("%s flow %d: %.3f Gbps, want %.3f within 2%%", a, i, got, want)
			}
		}
	}
}

// Two senders at line rate into one port, no ECN and no window: the
// switch buffer fills and PFC pauses the senders instead of dropping; the
// port stays busy, so both flows end when all bytes have crossed it.
func TestPFCPause(t *testing.T) {
	needNative(t)
	c := mustTemplate(t, cc.DCTCP)
	c.KminMap = []KMapEntry{{10e9, 100000}}
	c.KmaxMap = []KMapEntry{{10e9, 100000}}
	c.PmaxMap = []PMapEntry{{10e9, 1}}
	c.HasWin = 0
	c.EnablePFC = true
	c.BufferSize = 100
	f := &NS3Flows{Name: "incast"}
	f.Add(0, 0, 2, 1e6, 1e9)
	f.Add(1, 1, 2, 1e6, 1e9)
	r, err := Simulate(c, star(3, 10e9), f)
	if err != nil {
		t.Fatal(err)
	}
	if r.Stats.PFCPauses == 0 || len(r.PFC) == 0 {
		t.Fatal("no PAUSE frame")
	}
	if r.Stats.Drops != 0 {
		t.Errorf("%d drops with PFC on", r.Stats.Drops)
	}
	pauses, resumes := 0, 0
	for _, e := range r.PFC {
		if e.NodeType != 0 || (e.Node != 0 && e.Node != 1) {
			t.Errorf("PAUSE at %+v: want the two senders", e)
		}
		if e.Pause {
			pauses++
		} else {
			resumes++
		}
	}
	if pauses != resumes {
		t.Errorf("%d pauses, %d resumes", pauses, resumes)
	}
	drain := 2 * wireBytes(1e6) * 8 / 10 // ns through the 10 Gbps port
	last := float64(max(r.FCTNs[0], r.FCTNs[1]))
	if last < drain || last > drain*1.01+3000 {
		t.Errorf("last FCT %.0f ns, want the port's drain time %.0f ns (+1%%)", last, drain)
	}
	// The same with PFC off: frames are sent but ignored, so nobody pauses.
	c.EnablePFC = false
	r2, err := SimulateWith(c, star(3, 10e9), f, Options{MaxEvents: 1e6})
	if r2 == nil {
		t.Fatal(err)
	}
	if len(r2.PFC) != 0 {
		t.Errorf("PFC off: %d frames obeyed", len(r2.PFC))
	}
}

// Simulators share nothing: runs in parallel give the serial results.
func TestParallelRuns(t *testing.T) {
	needNative(t)
	pl, _ := ParkingLot(5)
	var flows []*NS3Flows
	for k := 0; k < 4; k++ {
		f := &NS3Flows{Name: "p"}
		for i := 0; i < 200; i++ {
			src := int32((i + k) % 4)
			f.Add(uint32(i), src, 4, uint64(1000+i*137%20000), int64(1e9+i*3000))
		}
		flows = append(flows, f)
	}
	serial := make([][]int64, len(flows))
	for i, f := range flows {
		r, err := Simulate(mustTemplate(t, cc.All()[i]), pl, f)
		if err != nil {
			t.Fatal(err)
		}
		serial[i] = r.FCTNs
	}
	var wg sync.WaitGroup
	par := make([][]int64, len(flows))
	for rep := 0; rep < 2; rep++ {
		for i, f := range flows {
			wg.Add(1)
			go func(i int, f *NS3Flows) {
				defer wg.Done()
				c, _ := TemplateConfig(cc.All()[i])
				if r, err := Simulate(c, pl, f); err == nil {
					par[i] = r.FCTNs
				}
			}(i, f)
		}
		wg.Wait()
		if !reflect.DeepEqual(serial, par) {
			t.Fatal("parallel runs differ from serial runs")
		}
	}
}
