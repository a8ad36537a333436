package infer

import (
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/ckpts"
	"github.com/m4sim/m4/pipeline/aggregate"
	"github.com/m4sim/m4/pipeline/cc"
	"github.com/m4sim/m4/pipeline/features"
	"github.com/m4sim/m4/pipeline/model"
	"github.com/m4sim/m4/pipeline/workload"
)

// rateWorkload is smallSpec's fat-tree at the given link rates and buffer
// and window.
func rateWorkload(t *testing.T, host, fabric float64, bufferKB, window int) (*workload.Workload, features.Config) {
	t.Helper()
	spec := strings.Replace(smallSpec, "kind: fattree, k: 4", "kind: fattree, k: 4, host_gbps: "+strconv.FormatFloat(host, 'g', -1, 64)+", fabric_gbps: "+strconv.FormatFloat(fabric, 'g', -1, 64), 1)
	spec = strings.Replace(spec, "window_bytes: 18000", "buffer_kb: "+strconv.Itoa(bufferKB)+", window_bytes: "+strconv.Itoa(window), 1)
	return specWorkload(t, spec)
}

// The inputs are checked as the model sees them: on 25 Gbps hosts a 750 KB
// buffer and a 45000 B window are the trained 300 KB and 18000 B, and the
// rate itself is reported; a 300 KB buffer there is 120 KB to the model.
func TestOutOfRangeRateNormalised(t *testing.T) {
	if !bindings.Native {
		t.Skip(bindings.ErrNoNative)
	}
	ck, err := model.Decode(ckpts.DefaultName, ckpts.Default)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		host, fabric   float64
		buffer, window int
		want           []string // names, in order
		value0         string   // a prefix of the first entry's value
	}{
		{10, 40, 300, 18000, nil, ""},
		{25, 100, 750, 45000, []string{"host link rate"}, "25 Gbps"},
		{25, 100, 300, 18000, []string{"buffer_kb", "host link rate"}, "120 (the given value / 2.5"},
		{10, 10, 300, 18000, []string{"fabric/host link rate ratio"}, "1 (10 / 10 Gbps)"},
		{100, 100, 3000, 180000, []string{"host link rate", "fabric/host link rate ratio"}, "100 Gbps"},
	} {
		w, cfg := rateWorkload(t, c.host, c.fabric, c.buffer, c.window)
		got := OutOfRange(ck, w, cfg)
		var names []string
		for _, o := range got {
			names = append(names, o.Name)
		}
		if strings.Join(names, ",") != strings.Join(c.want, ",") {
			t.Errorf("%g Gbps, %d KB, %d B: %v, want %v", c.host, c.buffer, c.window, got, c.want)
			continue
		}
		if len(got) > 0 && !strings.HasPrefix(got[0].Value, c.value0) {
			t.Errorf("%g Gbps, %d KB: value %q, want it to start %q", c.host, c.buffer, got[0].Value, c.value0)
		}
	}
}

// Every path of a 25/100 Gbps workload is estimated on its rate-normalised
// twin, and the network-wide weights still count each flow once, in the
// bucket of its own size; the model's percentiles are valid distributions.
func TestRunRateNormalised(t *testing.T) {
	w, cfg := rateWorkload(t, 25, 100, 750, 45000)
	ck, err := model.Decode(ckpts.DefaultName, ckpts.Default)
	if err != nil {
		t.Fatal(err)
	}
	est, err := model.NewEstimator(ck, 16, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer est.Close()
	r, err := Run(w, cfg, est, Options{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	var want [aggregate.NumBuckets]float64
	for _, sz := range w.Flows.Size {
		want[features.OutputBucket(float64(sz))]++
	}
	if r.Model.Weight != want || r.Flowsim.Weight != want {
		t.Fatalf("weights per bucket %v and %v, want the workload's flow counts %v", r.Model.Weight, r.Flowsim.Weight, want)
	}
	for _, p := range r.Paths {
		for b, n := range p.Flows {
			if n == 0 {
				continue
			}
			prev := 1.0
			for j, v := range p.Model[b] {
				if !(v >= prev) || math.IsInf(v, 0) {
					t.Fatalf("path %d bucket %d: model percentile %d = %v after %v", p.Path, b, j+1, v, prev)
				}
				prev = v
			}
		}
	}
}

// Go's trained-range check (model.Checkpoint.OutOfRange, what m4 run
// reports) and libm4's (m4_check_config, what a C user reads) are two
// readings of the same record: on every shipped path checkpoint they name
// the same inputs, for configurations inside and outside each range.
func TestOutOfRangeAgreesWithLibm4(t *testing.T) {
	if !bindings.Native {
		t.Skip(bindings.ErrNoNative)
	}
	type image struct {
		name string
		data []byte
	}
	images := []image{{ckpts.DefaultName, ckpts.Default}, {ckpts.LotsName, ckpts.Lots}}
	outside := 0 // cases where both name inputs
	for _, alg := range ckpts.Specialists() {
		name, data := ckpts.For(alg)
		images = append(images, image{name, data})
	}
	for _, im := range images {
		ck, err := model.Decode(im.name, im.data)
		if err != nil {
			t.Fatal(err)
		}
		if ck.Training == nil || ck.Training.Ranges == nil {
			t.Fatalf("%s records no ranges", im.name)
		}
		r := ck.Training.Ranges
		cr, err := bindings.ReadTrainedRanges(im.name, im.data)
		if err != nil {
			t.Fatal(err)
		}
		for _, alg := range cc.All() {
			for _, key := range append([]string{"", "pfc"}, slices.Sorted(maps.Keys(cc.NewRecord(alg, 300, 18000, true).Values()))...) {
				// far outside the range on each side, and just inside and
				// just outside the edge allowance (features.RangeEdge)
				for _, side := range []float64{-1, 1, -0.015, 0.015, -0.04, 0.04} {
					rec := cc.NewRecord(alg, 300, 18000, true)
					if lh, ok := r.Values[key]; ok {
						switch side {
						case -1:
							setValue(&rec, key, lh[0]*0.5)
						case 1:
							setValue(&rec, key, lh[1]*1.5+1)
						case -0.015, -0.04:
							setValue(&rec, key, lh[0]*(1+side))
						default:
							setValue(&rec, key, lh[1]*(1+side))
						}
					}
					if key == "pfc" {
						rec.PFC = side > 0
					}
					cfg := features.Config{Record: rec}
					for _, network := range []bool{false, true} {
						var goNames []string
						for _, o := range ck.OutOfRange(cfg, network) {
							goNames = append(goNames, o.Name)
						}
						lines, err := cr.Check(ccConfig(rec), network)
						if err != nil {
							t.Fatal(err)
						}
						var cNames []string
						for _, l := range lines {
							cNames = append(cNames, strings.SplitN(l, " = ", 2)[0])
						}
						slices.Sort(goNames)
						slices.Sort(cNames)
						if len(cNames) > 0 {
							outside++
						}
						if !slices.Equal(goNames, cNames) {
							t.Errorf("%s, %s, %s %+g, network %v: Go names %v, libm4 %q", im.name, alg, key, side, network, goNames, lines)
						}
					}
				}
			}
		}
	}
	if outside < 100 {
		t.Errorf("only %d cases with inputs outside the ranges", outside)
	}
}

// setValue sets the record's input named key (cc.Record.Values' names).
func setValue(r *cc.Record, key string, v float64) {
	switch key {
	case "buffer_kb":
		r.BufferKB = int(v)
	case "window_bytes":
		r.WindowBytes = int(v)
	case "dctcp_k":
		r.DCTCPK = int(v)
	case "dcqcn_kmin":
		r.DCQCNKmin = int(v)
	case "dcqcn_kmax":
		r.DCQCNKmax = int(v)
	case "hpcc_u_target":
		r.HPCCUTarget = v
	case "hpcc_ai":
		r.HPCCAI = int(v)
	case "timely_t_low_ns":
		r.TimelyTLow = int(v)
	case "timely_t_high_ns":
		r.TimelyTHigh = int(v)
	}
}

func ccConfig(r cc.Record) bindings.CCConfig {
	return bindings.CCConfig{BufferKB: r.BufferKB, WindowBytes: r.WindowBytes, PFC: r.PFC, Mode: r.CC.Mode(),
		DCTCPK: r.DCTCPK, DCQCNKmin: r.DCQCNKmin, DCQCNKmax: r.DCQCNKmax, HPCCUTarget: r.HPCCUTarget,
		HPCCAI: r.HPCCAI, TimelyTLowNs: r.TimelyTLow, TimelyTHighNs: r.TimelyTHigh}
}
