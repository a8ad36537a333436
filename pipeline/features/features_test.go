package features

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/pipeline/cc"
	"github.com/m4sim/m4/pipeline/npyfile"
	"github.com/m4sim/m4/pipeline/scenario"
)

func TestPercentilesMatchNumpyNearest(t *testing.T) {
	if !bindings.Native {
		t.Skip("the percentiles are libm4's; built without cgo")
	}
	// Expected values from numpy 1.24: np.percentile(a, [1, 25, 50, 75, 100],
	// method='nearest'). (10, 20, 30) at p25 and p75 sits exactly half-way
	// (index 0.5 and 1.5) and rounds to the even index.
	cases := []struct {
		a    []float64
		want [5]float64 // p1, p25, p50, p75, p100
	}{
		{[]float64{10, 20, 30}, [5]float64{10, 10, 20, 30, 30}},
		{[]float64{1, 2, 3, 4}, [5]float64{1, 2, 3, 3, 4}},
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, [5]float64{1, 3, 6, 9, 11}},
		{[]float64{7}, [5]float64{7, 7, 7, 7, 7}},
	}
	for i, c := range cases {
		var out [NumPercentiles]float64
		if err := Percentiles(c.a, &out); err != nil {
			t.Fatal(err)
		}
		got := [5]float64{out[0], out[24], out[49], out[74], out[99]}
		if got != c.want {
			t.Errorf("case %d: p1/25/50/75/100 = %v, want %v", i, got, c.want)
		}
	}
	// (1, 2, 3, 4): numpy gives 1 up to p16, 2 from p17 to p49, 3 from p50
	// to p83, 4 from p84.
	var out [NumPercentiles]float64
	if err := Percentiles([]float64{1, 2, 3, 4}, &out); err != nil {
		t.Fatal(err)
	}
	for k, v := range out {
		p := k + 1
		want := 4.0
		switch {
		case p <= 16:
			want = 1
		case p <= 49:
			want = 2
		case p <= 83:
			want = 3
		}
		if v != want {
			t.Errorf("p%d of 1..4 = %v, want %v", p, v, want)
		}
	}
}

func TestOutputBuckets(t *testing.T) {
	cases := []struct {
		size float64
		out  int
	}{
		{1, 0}, {999, 0}, {1000, 1}, {9999, 1}, {10000, 2}, {49999, 2}, {50000, 3}, {1e9, 3},
	}
	for i, c := range cases {
		if g := OutputBucket(c.size); g != c.out {
			t.Errorf("case %d: output bucket of %v B = %d, want %d", i, c.size, g, c.out)
		}
	}
}

// needNative skips a test of the native feature map in a build without cgo.
func needNative(t *testing.T) {
	if !bindings.Native {
		t.Skip(bindings.ErrNoNative)
	}
}

// baseDelay5 is m3's base delay of path5's flows, by hand (checked against
// m3's get_base_delay_pmn + LINK_TO_DELAY_DICT):
//
//	0->4, 500 B: foreground, 4 links: 4*1000 + 4384/10 + 4384/40*2 = 4657.6
//	1->3, 3000 B: internal, 2+1+1 links, 8384 bits/packet: 4000 + 8384/40*2
//	   - 8384/10 + (1 us at neither 1 nor 3) = 3580.8
//	0->2, 1000 B: background, 2+1 links: 3000 + 8384/40 + 1000 (host 2) = 4209.6
//	2->4, 20000 B: background, same = 4209.6
//	4->0, 800 B: src != 0 and dst != 4, so "internal" as in m3: 4+1+1 links,
//	   6784 bits: 6000 + 6784/40*4 - 6784/10 = 6000
var baseDelay5 = []float64{4657.6, 3580.8, 4209.6, 4209.6, 6000}

// slowdown5 is flow i of path5's slowdown for a flowsim FCT, by hand.
func slowdown5(p *scenario.Path, i int, fct float64) float64 {
	size := p.SizeBytes[i]
	ideal := (size + math.Ceil(size/1000)*48) * 8 / 10
	return math.Max(1, (fct+baseDelay5[i])/(ideal+baseDelay5[i]))
}

func TestSlowdownsByHand(t *testing.T) {
	needNative(t)
	p := path5()
	fct := []float64{1000, 5000, 2000, 30000, 700}
	got, err := Slowdowns(p, fct)
	if err != nil {
		t.Fatal(err)
	}
	for i := range fct {
		if w := slowdown5(p, i, fct[i]); math.Abs(got[i]-w) > 1e-12*w {
			t.Errorf("flow %d: slowdown %.15g, want %.15g", i, got[i], w)
		}
	}
	// a flowsim FCT below the ideal clips to 1
	got, _ = Slowdowns(p, make([]float64, 5))
	for i, v := range got {
		if v != 1 {
			t.Errorf("flow %d: slowdown of a zero FCT = %v, want 1", i, v)
		}
	}
	p.SizeBytes[3] = -5
	if _, err := Slowdowns(p, fct); err == nil || !strings.Contains(err.Error(), "size of flow 3") {
		t.Errorf("negative size: %v", err)
	}
}

func TestParamVector(t *testing.T) {
	needNative(t)
	c := DefaultConfig(cc.TIMELY, 371, 19113, false)
	c.TimelyTLow, c.TimelyTHigh = 46729, 118793
	vec := c.Vector()
	got, err := ParamVector(5, vec[:])
	if err != nil {
		t.Fatal(err)
	}
	// The row tail of ns3-paths/shard100_nflows300_nhosts5's feat file.
	want := [NumParams]float64{0, 1, 0, 10, 37.1, 19.113, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 46.729, 118.793}
	if got != want {
		t.Errorf("params %v, want %v", got, want)
	}
	if _, err := ParamVector(4, vec[:]); err == nil {
		t.Error("4 hosts accepted")
	}
	if _, err := ParamVector(3, []float64{1, 2}); err == nil {
		t.Error("a 2-value vector accepted")
	}
	bad := c.Vector()
	bad[5] = math.NaN()
	if _, err := ParamVector(3, bad[:]); err == nil {
		t.Error("NaN accepted")
	}
}

func TestPyFloat(t *testing.T) {
	cases := map[float64]string{0: "0.0", 37.1: "37.1", 19.113: "19.113", 1: "1.0", 71.56939434396183: "71.56939434396183",
		1e-5: "1e-05", 0.0001: "0.0001", 1e16: "1e+16", 123456789012345.0: "123456789012345.0", -2.5: "-2.5"}
	for x, want := range cases {
		if g := PyFloat(x); g != want {
			t.Errorf("PyFloat(%v) = %q, want %q", x, g, want)
		}
	}
}

// path5 is a 5-host scenario with one flow of each kind.
func path5() *scenario.Path {
	return &scenario.Path{Name: "t", Hosts: 5,
		ArrivalNs: []float64{0, 1, 2, 3, 4},
		SizeBytes: []float64{500, 3000, 1000, 20000, 800},
		Src:       []int32{0, 1, 0, 2, 4},
		Dst:       []int32{4, 3, 2, 4, 0}}
}

func TestBuildInputByHand(t *testing.T) {
	needNative(t)
	p := path5()
	fct := []float64{1000, 5000, 2000, 30000, 700}
	params := [NumParams]float64{1, 2, 3}
	in, err := BuildInput(p, fct, params)
	if err != nil {
		t.Fatal(err)
	}
	sldn := func(i int) float32 { return float32(slowdown5(p, i, fct[i])) }
	at := func(row, bucket, pct int) float32 { return in.Res[row*RowWidth+bucket*NumPercentiles+pct-1] }
	// row 0: flow 0 alone (bucket 2: 500 B), every percentile its slowdown.
	if at(0, 2, 1) != sldn(0) || at(0, 2, 100) != sldn(0) || at(0, 1, 50) != 0 {
		t.Errorf("row 0: %v %v %v, want %v %v 0", at(0, 2, 1), at(0, 2, 100), at(0, 1, 50), sldn(0), sldn(0))
	}
	// link 0 (row 1): flow 2 (1000 B, bucket 4). link 1 (row 2): flows 1
	// (3000 B, bucket 5) and 2. link 2 (row 3): flows 1 and 3 (bucket 8).
	// link 3 (row 4): flow 3. Flow 4 (4 -> 0) is in no row.
	wantCounts := [][NumInputBuckets]int{
		{0, 0, 1}, {0, 0, 0, 0, 1}, {0, 0, 0, 0, 1, 1}, {0, 0, 0, 0, 0, 1, 0, 0, 1}, {0, 0, 0, 0, 0, 0, 0, 0, 1},
	}
	for r, w := range wantCounts {
		if g := in.Counts[r*NumInputBuckets : (r+1)*NumInputBuckets]; !slices.Equal(g, w[:]) {
			t.Errorf("row %d counts %v, want %v", r, g, w)
		}
	}
	if at(3, 5, 100) != sldn(1) || at(3, 8, 1) != sldn(3) || at(2, 4, 37) != sldn(2) {
		t.Errorf("background cells hold the wrong slowdowns")
	}
	// row 3 has 2 flows: each cell's share is 1 / (1 + 2).
	if g := in.NumFlowsPerCell[3*CellsPerRow+5*NumPercentiles+7]; g != 1.0/3 {
		t.Errorf("row 3 share %v, want 1/3", g)
	}
	for r := 0; r < 5; r++ {
		if g := in.Res[r*RowWidth+CellsPerRow : (r+1)*RowWidth]; g[0] != 1 || g[1] != 2 || g[2] != 3 || g[3] != 0 {
			t.Errorf("row %d parameters %v", r, g)
		}
	}
}

func TestBuildInputBadInput(t *testing.T) {
	needNative(t)
	p := path5()
	var params [NumParams]float64
	if _, err := BuildInput(p, []float64{1, 2}, params); err == nil || !strings.Contains(err.Error(), "2 flowsim FCTs for 5 flows") {
		t.Errorf("short FCTs: %v", err)
	}
	if _, err := BuildInput(p, []float64{1, 2, math.NaN(), 4, 5}, params); err == nil || !strings.Contains(err.Error(), "flow 2") {
		t.Errorf("NaN FCT: %v", err)
	}
	params[4] = math.Inf(1)
	if _, err := BuildInput(p, []float64{1, 2, 3, 4, 5}, params); err == nil || !strings.Contains(err.Error(), "parameter 4") {
		t.Errorf("Inf parameter: %v", err)
	}
}

func TestBuildOutput(t *testing.T) {
	// Foreground flows of 500 B (slowdown 2 and 4) and 20000 B (slowdown 3);
	// a background flow that must not count.
	size := []float64{500, 500, 20000, 500}
	src := []int32{0, 0, 0, 1}
	dst := []int32{2, 2, 2, 2}
	fct := []float64{200, 400, 300, 1000}
	ideal := []float64{100, 100, 100, 100}
	o, err := BuildOutput(3, size, src, dst, fct, ideal)
	if !bindings.Native {
		if !errors.Is(err, bindings.ErrNoNative) {
			t.Errorf("without cgo (libm4 owns the percentiles): %v", err)
		}
	} else {
		if err != nil {
			t.Fatal(err)
		}
		if o.Counts != [NumOutputBuckets]int{2, 0, 1, 0} {
			t.Errorf("counts %v", o.Counts)
		}
		// bucket 0: (2, 4): p1..p50 -> index round((1)*p/100): 0 up to p50, 1 from p51.
		if o.ResOutput[0] != 2 || o.ResOutput[49] != 2 || o.ResOutput[50] != 4 || o.ResOutput[99] != 4 {
			t.Errorf("bucket 0: %v", o.ResOutput[:100])
		}
		if o.ResOutput[100] != 1 || o.ResOutput[399] != 1 || o.ResOutput[200] != 3 {
			t.Errorf("empty buckets must hold 1, bucket 2 its slowdown: %v %v %v", o.ResOutput[100], o.ResOutput[399], o.ResOutput[200])
		}
		if o.NumFlowsPerCellOutput[0] != float32(2)/3 || o.NumFlowsPerCellOutput[250] != float32(1)/3 || o.NumFlowsPerCellOutput[150] != 0 {
			t.Errorf("shares %v %v %v", o.NumFlowsPerCellOutput[0], o.NumFlowsPerCellOutput[250], o.NumFlowsPerCellOutput[150])
		}
	}
	if _, err := BuildOutput(3, size[3:], src[3:], dst[3:], fct[3:], ideal[3:]); err == nil || !strings.Contains(err.Error(), "no foreground") {
		t.Errorf("no foreground flows: %v", err)
	}
	ideal[1] = 0
	if _, err := BuildOutput(3, size, src, dst, fct, ideal); err == nil || !strings.Contains(err.Error(), "flow 1") {
		t.Errorf("zero ideal FCT: %v", err)
	}
}

func TestReadTruthBadInput(t *testing.T) {
	dir := t.TempDir()
	tag := Tag(3, 0)
	w := func(name string, v []int64) {
		if err := npyfile.Write(filepath.Join(dir, name+"_"+tag+".npy"), v, nil); err != nil {
			t.Fatal(err)
		}
	}
	if tr, err := ReadTruth(dir, tag, 3); tr != nil || err != nil {
		t.Fatalf("no files: %v %v, want nil nil", tr, err)
	}
	w("fid", []int64{0, 1})
	if _, err := ReadTruth(dir, tag, 3); err == nil || !strings.Contains(err.Error(), "fct_i_"+tag+".npy") {
		t.Errorf("partial truth: %v", err)
	}
	w("fct", []int64{10, 20})
	w("fct_i", []int64{5, 5})
	if tr, err := ReadTruth(dir, tag, 3); err != nil || tr.FCT[1] != 20 {
		t.Errorf("good truth: %v %v", tr, err)
	}
	w("fid", []int64{0, 7})
	if _, err := ReadTruth(dir, tag, 3); err == nil || !strings.Contains(err.Error(), "flow id 7") {
		t.Errorf("bad fid: %v", err)
	}
	w("fid", []int64{1, 1})
	if _, err := ReadTruth(dir, tag, 3); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("duplicate fid: %v", err)
	}
	w("fid", []int64{0, 1})
	w("fct", []int64{10, -20})
	if _, err := ReadTruth(dir, tag, 3); err == nil || !strings.Contains(err.Error(), "fct_"+tag+".npy") {
		t.Errorf("negative fct: %v", err)
	}
	w("fct", []int64{10})
	if _, err := ReadTruth(dir, tag, 3); err == nil || !strings.Contains(err.Error(), "mismatched") {
		t.Errorf("short fct: %v", err)
	}
}

func TestReadParamTextBadInput(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "param_topo-pl-3_s0.txt")
	good := DefaultConfig(cc.DCTCP, 300, 10000, true).ParamText()
	cases := []struct{ text, want string }{
		{good, ""},
		{"0.0 1.0\n", "want 2"},
		{strings.Replace(good, "dctcp 20", "cubic 20", 1), "cc_name"},
		{strings.Replace(good, "\n0 300", "\n0 x300", 1), "buffer_KB"},
		{strings.Replace(good, "\n0 300 10000 1", "\n0 300 10000 2", 1), "pfc"},
		{strings.Replace(good, "30.0", "31.0", 1), "disagrees"},
		{strings.Replace(good, " 0.95 ", " nan ", 1), "hpcc_u_target"},
	}
	for i, c := range cases {
		os.WriteFile(path, []byte(c.text), 0o644)
		cfg, err := ReadParamText(path)
		if c.want == "" {
			if err != nil || cfg.BufferKB != 300 || !cfg.PFC || cfg.CC != cc.DCTCP {
				t.Errorf("case %d: %+v %v", i, cfg, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "param_topo-pl-3_s0.txt") {
			t.Errorf("case %d: error %v, want one naming the file and %q", i, err, c.want)
		}
	}
}

func TestWriteNPZ(t *testing.T) {
	needNative(t)
	p := path5()
	in, err := BuildInput(p, []float64{1000, 5000, 2000, 30000, 700}, [NumParams]float64{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, withOutput := range []bool{true, false} {
		m := &Map{Input: in}
		if withOutput {
			m.Output, err = BuildOutput(5, p.SizeBytes, p.Src, p.Dst, []float64{9, 9, 9, 9, 9}, []float64{3, 3, 3, 3, 3})
			if err != nil {
				t.Fatal(err)
			}
		}
		path := filepath.Join(dir, "feat.npz")
		if err := m.WriteNPZ(path); err != nil {
			t.Fatal(err)
		}
		got, err := npyfile.ReadNPZ(path)
		if err != nil {
			t.Fatal(err)
		}
		if withOutput != (got["res_output"] != nil) || got["res"] == nil || !slices.Equal(got["res"].Shape, []int{5, RowWidth}) {
			t.Errorf("output=%v: arrays %v", withOutput, got)
		}
		if n := got["n_input"]; n == nil || len(n.Shape) != 0 || n.Dtype != "<i8" {
			t.Errorf("n_input %+v, want an int64 scalar", n)
		}
		if withOutput && got["res_output"].Data.([]float32)[0] != 3 {
			t.Errorf("res_output %v", got["res_output"].Data.([]float32)[:3])
		}
	}
}

// A Config's JSON (workload.json, m4 run's meta) keeps its keys: files
// written before cc.Record was embedded still load.
func TestConfigJSONKeys(t *testing.T) {
	old := `{"Sample":3,"BufferKB":300,"WindowBytes":18000,"PFC":true,"CC":"hpcc","CCName":"hp95ai500",` +
		`"DCTCPK":20,"DCQCNKmin":10,"DCQCNKmax":40,"HPCCUTarget":0.9,"HPCCAI":500,"TimelyTLow":10000,"TimelyTHigh":50000}`
	var c Config
	if err := json.Unmarshal([]byte(old), &c); err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig(cc.HPCC, 300, 18000, true)
	want.Sample, want.HPCCUTarget, want.HPCCAI, want.CCName = 3, 0.9, 500, "hp95ai500"
	if c != want {
		t.Fatalf("decoded %+v, want %+v", c, want)
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var got, wantKeys map[string]any
	json.Unmarshal(b, &got)
	json.Unmarshal([]byte(old), &wantKeys)
	if !reflect.DeepEqual(got, wantKeys) {
		t.Errorf("encoded %s, want the keys and values of %s", b, old)
	}
}

// Normalized divides the byte counts and HPCC's additive increase by the
// rate scale, rounded, and leaves the thresholds and times as they are.
func TestNormalized(t *testing.T) {
	c := DefaultConfig(cc.HPCC, 750, 45000, true)
	c.HPCCAI, c.DCTCPK, c.TimelyTLow = 1250, 20, 50000
	if got := c.Normalized(1); got != c {
		t.Errorf("k = 1 changed the config: %+v", got)
	}
	got := c.Normalized(2.5)
	want := c
	want.BufferKB, want.WindowBytes, want.HPCCAI = 300, 18000, 500
	if got != want {
		t.Errorf("k = 2.5: %+v, want %+v", got, want)
	}
	if got := c.Normalized(7); got.BufferKB != 107 || got.WindowBytes != 6429 || got.HPCCAI != 179 {
		t.Errorf("k = 7: buffer %d, window %d, AI %d; want 107, 6429, 179 (rounded)", got.BufferKB, got.WindowBytes, got.HPCCAI)
	}
}
