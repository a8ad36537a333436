package infer

import (
	"errors"
	"math"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/ckpts"
	"github.com/m4sim/m4/pipeline/aggregate"
	"github.com/m4sim/m4/pipeline/model"
	"github.com/m4sim/m4/pipeline/workload"
)

// Bounds of FuzzSpecToRun's workloads: small enough for thousands of runs.
const (
	fuzzMaxFlows = 400
	fuzzMaxNodes = 400 // the 256-host fabric has 324
)

// FuzzSpecToRun takes a workload spec end to end, as m4 run does: parse,
// generate (within small limits), decompose, flowsim, features, the shipped
// model, aggregate. A spec is refused with an error naming it, or too large
// (workload.ErrTooLarge), or the run fails with an error (paths the model
// cannot read: other link rates, path lengths m3 does not encode), or it
// gives valid estimates: every path's percentiles >= 1 and non-decreasing,
// the network-wide quantiles too, and each flow counted once.
func FuzzSpecToRun(f *testing.F) {
	if !bindings.Native {
		f.Skip(bindings.ErrNoNative)
	}
	// the workload package's specs, and this package's, with fewer flows
	fewer := regexp.MustCompile(`"?flows"?: \d+|"?duration_s"?: [0-9.]+`)
	for _, p := range []string{"../workload/testdata/fabric256.yaml", "../workload/testdata/fattree.json"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(fewer.ReplaceAll(b, []byte(`"flows": 300`)))
	}
	f.Add(fewer.ReplaceAll([]byte(smallSpec), []byte("flows: 300")))
	f.Add([]byte("topology: {kind: fabric, pods: 2, fabs_per_pod: 2, racks_per_pod: 4, hosts_per_rack: 4}\nsizes: {dist: hadoop}\nmax_load: 0.9\nflows: 300\n"))
	f.Add([]byte("topology: {kind: fattree, k: 4}\nsizes: {dist: pareto, sigma: 20000}\narrivals: {process: lognormal, sigma: 2}\nmax_load: 1\nduration_s: 0.0001\ncc: {algorithm: hpcc}\n"))
	f.Add([]byte("topology: {kind: fabric, pods: 1, fabs_per_pod: 1, racks_per_pod: 2, hosts_per_rack: 2, host_gbps: 25}\nsizes: {dist: webserver}\nmax_load: 0.5\nflows: 50\n"))
	ck, err := model.Decode(ckpts.DefaultName, ckpts.Default)
	if err != nil {
		f.Fatal(err)
	}
	est, err := model.NewEstimator(ck, 16, 1)
	if err != nil {
		f.Fatal(err)
	}
	defer est.Close()
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := workload.ParseSpec("fuzz.yaml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yaml") {
				t.Fatalf("error does not name the spec: %v", err)
			}
			return
		}
		if s.Topology.Kind == "file" || s.Traffic.Matrix == "file" || s.Sizes.Dist == "file" || s.Topology.Nodes() > fuzzMaxNodes {
			return // files are fuzzed on their own; big topologies are slow
		}
		w, err := workload.GenerateWith(s, workload.Options{MaxFlows: fuzzMaxFlows})
		if errors.Is(err, workload.ErrTooLarge) {
			return
		}
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yaml") {
				t.Fatalf("generate: error does not name the spec: %v", err)
			}
			return
		}
		if w.Flows.Len() > fuzzMaxFlows {
			t.Fatalf("%d flows past the limit of %d", w.Flows.Len(), fuzzMaxFlows)
		}
		if w.Flows.Len() == 0 {
			return // a short duration may draw none; m4 run refuses an empty workload
		}
		cfg, err := ConfigOf(s.CC)
		if err != nil {
			t.Fatalf("a valid spec's congestion control: %v", err)
		}
		r, err := Run(w, cfg, est, Options{Paths: 8, Seed: 1, Workers: 1})
		if err != nil {
			return // e.g. a path the model cannot read (link rates, lengths): an error, not numbers
		}
		if r.Flows != w.Flows.Len() {
			t.Fatalf("%d flows estimated, the workload has %d", r.Flows, w.Flows.Len())
		}
		for _, p := range r.Paths {
			for b := range p.Model {
				for k := range p.Model[b] {
					v := p.Model[b][k]
					if !(v >= 1) || math.IsInf(v, 0) || (k > 0 && v < p.Model[b][k-1]) {
						t.Fatalf("path %d bucket %d p%d = %v after %v: not a valid distribution", p.Path, b, k+1, v, p.Model[b][max(k-1, 0)])
					}
				}
			}
		}
		for _, d := range []*aggregate.Distribution{r.Model, r.Flowsim} {
			for b := 0; b <= aggregate.NumBuckets; b++ {
				prev := 1.0
				for _, q := range []float64{0.01, 0.5, 0.9, 0.99, 1} {
					v := d.Quantile(b, q)
					if math.IsNaN(v) {
						continue // no flows of this size
					}
					if v < prev {
						t.Fatalf("bucket %d: quantile %g = %v below %v", b, q, v, prev)
					}
					prev = v
				}
			}
		}
	})
}
