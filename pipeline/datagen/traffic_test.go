package datagen

import (
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/m4sim/m4/pipeline/cc"
)

func TestSampleIsDeterministic(t *testing.T) {
	spec := DefaultSpec()
	a, err := spec.Sample(spec.Item(7))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := spec.Sample(spec.Item(7))
	if !reflect.DeepEqual(a, b) {
		t.Error("one item sampled twice gives two scenarios")
	}
	c, _ := spec.Sample(spec.Item(8)) // same draw S, another H
	spec.Seed++
	d, _ := spec.Sample(spec.Item(7))
	if reflect.DeepEqual(a.Traffic.Stats, c.Traffic.Stats) || reflect.DeepEqual(a.Traffic.Stats, d.Traffic.Stats) {
		t.Error("different items or seeds give the same traffic")
	}
}

func TestSolvePsi(t *testing.T) {
	for _, a := range []float64{1.9, 1.95, 1.999} {
		psi, err := solvePsi(a)
		if err != nil {
			t.Fatal(err)
		}
		if v := math.Pow(1+psi*a, 1/psi); math.Abs(v-5) > 1e-9 || psi <= 0 || psi >= 1 {
			t.Errorf("a=%v: psi %v gives %v, want 5", a, psi, v)
		}
	}
	if _, err := solvePsi(0.5); err == nil {
		t.Error("a tail with no shape in (0, 1) accepted")
	}
}

func TestEmpiricalAndPoisson(t *testing.T) {
	// A CDF uniform on [1000, 3000] bytes: mean 2000.
	ts := DefaultSpec().Traffic
	ts.SizeDists = []string{"flat"}
	ts.SizeCDFs = map[string]CDFSpec{"flat": {Points: [][]float64{{1000, 0}, {3000, 100}}}}
	ts.Arrival = "poisson"
	ts.Load = []float64{0.5, 0.5}
	ts.BottleneckLoad = []float64{0.5, 0.5}
	rng := rand.New(rand.NewPCG(1, 2))
	tr, err := GenerateTraffic(rng, &ts, 3, 20000, 10)
	if err != nil {
		t.Fatal(err)
	}
	p := tr.Path
	mean, lo, hi := 0.0, math.Inf(1), 0.0
	for _, s := range p.SizeBytes {
		mean += s
		lo, hi = min(lo, s), max(hi, s)
	}
	mean /= float64(p.Len())
	if math.Abs(mean-2000) > 20 || lo < 1000 || hi > 3000 {
		t.Errorf("sizes: mean %v in [%v, %v], want 2000 in [1000, 3000]", mean, lo, hi)
	}
	if tr.Stats.IASSigmaCandidate != 0 {
		t.Errorf("poisson arrivals record a burstiness sigma %v", tr.Stats.IASSigmaCandidate)
	}
	// Poisson gaps: coefficient of variation 1.
	var m, m2 float64
	for i := 1; i < p.Len(); i++ {
		g := p.ArrivalNs[i] - p.ArrivalNs[i-1]
		m += g
		m2 += g * g
	}
	n := float64(p.Len() - 1)
	m /= n
	cv := math.Sqrt(m2/n-m*m) / m
	if math.Abs(cv-1) > 0.03 {
		t.Errorf("poisson gaps: coefficient of variation %v, want 1", cv)
	}
}

func TestSampleConfig(t *testing.T) {
	spec := DefaultSpec()
	rng := rand.New(rand.NewPCG(4, 4))
	seen := map[cc.CC]int{}
	for i := 0; i < 2000; i++ {
		c, err := SampleConfig(rng, &spec.Config)
		if err != nil {
			t.Fatal(err)
		}
		seen[c.CC]++
		if c.BufferKB < 200 || c.BufferKB >= 500 || c.WindowBytes < 5000 || c.WindowBytes >= 30000 {
			t.Fatalf("buffer %d, window %d", c.BufferKB, c.WindowBytes)
		}
		switch c.CC {
		case cc.DCQCN:
			if !c.PFC || c.DCQCNKmin < 20 || c.DCQCNKmax < 50 || c.DCQCNKmax >= 100 {
				t.Fatalf("dcqcn %+v", c)
			}
		case cc.HPCC:
			if c.HPCCUTarget < 0.7 || c.HPCCUTarget >= 0.95 || c.HPCCAI < 500 || c.CCName[:6] != "hp95ai" {
				t.Fatalf("hpcc %+v", c)
			}
		case cc.TIMELY:
			if c.TimelyTLow < 40000 || c.TimelyTHigh < 100000 || c.DCTCPK != 20 {
				t.Fatalf("timely %+v", c)
			}
		}
	}
	for _, c := range cc.All() {
		if seen[c] < 400 {
			t.Errorf("%s drawn %d times of 2000", c, seen[c])
		}
	}
}

// A spec's default parameters (cc.DefaultSpec) lie inside the ranges m3
// draws them from, so a workload that leaves them out is one the model was
// trained on. run_m3.py's placeholders (cc.NewRecord) need not be: HPCC's
// AI is not.
func TestCCDefaultsInsideRanges(t *testing.T) {
	d, r, rec := cc.DefaultSpec(), DefaultSpec().Config, cc.NewRecord(cc.DCTCP, 300, 18000, false)
	for i, tc := range []struct {
		key string
		def float64
		rng []float64
	}{
		{"buffer_kb", d.BufferKB, r.BufferKB},
		{"window_bytes", float64(d.WindowBytes), r.WindowBytes},
		{"dctcp_k", d.DCTCPK, r.DCTCPK},
		{"dcqcn_kmin", d.DCQCNKmin, r.DCQCNKmin},
		{"dcqcn_kmax", d.DCQCNKmax, r.DCQCNKmax},
		{"hpcc_u_target", d.HPCCUTarget, r.HPCCUTarget},
		{"hpcc_ai", d.HPCCAI, r.HPCCAI},
		{"timely_t_low_ns", d.TimelyTLowNs, r.TimelyTLow},
		{"timely_t_high_ns", d.TimelyTHighNs, r.TimelyTHigh},
	} {
		if tc.def < tc.rng[0] || tc.def > tc.rng[1] {
			t.Errorf("%d: %s default %v outside m3's range %v", i, tc.key, tc.def, tc.rng)
		}
	}
	if float64(rec.HPCCAI) >= r.HPCCAI[0] {
		t.Errorf("run_m3.py's placeholder HPCC AI %d is inside m3's range %v: the package comment of cc is wrong", rec.HPCCAI, r.HPCCAI)
	}
}
