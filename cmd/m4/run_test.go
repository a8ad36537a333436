package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/ckpts"
	"github.com/m4sim/m4/pipeline/aggregate"
	"github.com/m4sim/m4/pipeline/cc"
	"github.com/m4sim/m4/pipeline/features"
)

func TestRunCommandWithTruth(t *testing.T) {
	if !bindings.Native {
		t.Skip(bindings.ErrNoNative)
	}
	dir := t.TempDir()
	spec := filepath.Join(dir, "w.yaml")
	os.WriteFile(spec, []byte(`
topology: {kind: fattree, k: 4}
sizes: {dist: webserver}
traffic: {matrix: uniform}
max_load: 0.4
flows: 1500
seed: 2
cc: {algorithm: dctcp, window_bytes: 18000, pfc: true}
`), 0o644)
	out := filepath.Join(dir, "out")
	text, err := run(t, "run", "--spec", spec, "--paths", "0", "--per-flow", "--truth", "--out", out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| all | 1500 |", "truth p50", "m4 err p50", "flowsim err p50"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	b, err := os.ReadFile(filepath.Join(out, "estimate.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Estimates map[string][]struct {
			Bucket      string    `json:"bucket"`
			Flows       float64   `json:"flows"`
			Percentiles []float64 `json:"slowdown_percentiles"`
		} `json:"estimates"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	// Every estimator covers the workload's flows per bucket; the truth's
	// percentiles are numpy's (linear) percentiles of the per-flow slowdowns
	// max(truth, ideal) / ideal of flows.csv, bucket by bucket.
	sl := flowsSlowdowns(t, filepath.Join(out, "flows.csv"))
	for _, name := range []string{"truth", "m4", "flowsim"} {
		bs := doc.Estimates[name]
		if len(bs) != len(sl) {
			t.Fatalf("estimate.json %s: %d buckets, flows.csv %d", name, len(bs), len(sl))
		}
		for _, b := range bs {
			v := sl[b.Bucket]
			if int(b.Flows) != len(v) || len(b.Percentiles) != 100 {
				t.Fatalf("estimate.json %s %s: %v flows, %d percentiles; flows.csv has %d flows", name, b.Bucket, b.Flows, len(b.Percentiles), len(v))
			}
			if name != "truth" {
				continue
			}
			for k, got := range b.Percentiles {
				pos := float64(k+1) / 100 * float64(len(v)-1)
				i := min(int(pos), len(v)-2)
				want := v[i] + (v[i+1]-v[i])*(pos-float64(i))
				if math.Abs(got-want) > 1e-12*want {
					t.Errorf("truth %s p%d: %v, flows.csv gives %v", b.Bucket, k+1, got, want)
				}
			}
		}
	}
	for _, f := range []string{"slowdown_cdf.png", "slowdown_cdf.svg"} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() < 1000 {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestRunCommandBadSpec(t *testing.T) {
	dir := t.TempDir()
	spec := filepath.Join(dir, "bad.yaml")
	os.WriteFile(spec, []byte("topology: {kind: fattree, k: 5}\nmax_load: 0.4\nflows: 10\n"), 0o644)
	out := filepath.Join(dir, "out")
	_, err := run(t, "run", "--spec", spec, "--out", out)
	if err == nil || !strings.Contains(err.Error(), "bad.yaml") || !strings.Contains(err.Error(), "k") {
		t.Fatalf("error %v, want one naming bad.yaml and k", err)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("output folder created for a bad spec")
	}
}

// flowsSlowdowns reads flows.csv's true slowdowns, max(truth, ideal) / ideal,
// sorted, by bucket name, all sizes under "all".
func flowsSlowdowns(t *testing.T, path string) map[string][]float64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	sl := map[string][]float64{}
	for _, r := range recs[1:] {
		var v [3]float64
		for j, h := range []string{"size_bytes", "ideal_fct_ns", "truth_fct_ns"} {
			if v[j], err = strconv.ParseFloat(r[col[h]], 64); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
		}
		s := max(v[2], v[1]) / v[1]
		b := aggregate.BucketName(features.OutputBucket(v[0]))
		sl[b] = append(sl[b], s)
		all := aggregate.BucketName(aggregate.NumBuckets)
		sl[all] = append(sl[all], s)
	}
	for _, v := range sl {
		slices.Sort(v)
	}
	return sl
}

// TestRunPicksTheShippedCheckpoint: without --ckpt, m4 run estimates a
// workload with the shipped checkpoint of its congestion control (its
// specialist where one ships) and says which; the estimate is that
// checkpoint's, not the default's, where they differ.
func TestRunPicksTheShippedCheckpoint(t *testing.T) {
	if !bindings.Native {
		t.Skip(bindings.ErrNoNative)
	}
	dir := t.TempDir()
	def := filepath.Join(dir, "default.safetensors")
	if err := os.WriteFile(def, ckpts.Default, 0o644); err != nil {
		t.Fatal(err)
	}
	type doc struct {
		Estimates map[string][]struct {
			Percentiles []float64 `json:"slowdown_percentiles"`
		} `json:"estimates"`
		Run struct {
			Checkpoint string               `json:"checkpoint"`
			HeldOut    *ckpts.HeldOutErrors `json:"heldout_error"`
			Band       *ckpts.HeldOutBand   `json:"heldout_band"`
			Workload   struct {
				Busiest struct {
					Load float64 `json:"load_by_count"`
				} `json:"busiest_link_by_count"`
			} `json:"workload"`
		} `json:"run"`
	}
	read := func(out string) doc {
		t.Helper()
		var d doc
		b, err := os.ReadFile(filepath.Join(out, "estimate.json"))
		if err == nil {
			err = json.Unmarshal(b, &d)
		}
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	for _, alg := range cc.All() {
		spec := filepath.Join(dir, string(alg)+".yaml")
		os.WriteFile(spec, []byte(fmt.Sprintf(`
topology: {kind: fattree, k: 4}
sizes: {dist: webserver}
traffic: {matrix: uniform}
max_load: 0.5
flows: 400
seed: 3
cc: {algorithm: %s}
`, alg)), 0o644)
		shipped, byDefault := filepath.Join(dir, string(alg)), filepath.Join(dir, string(alg)+"-default")
		var msgs []string
		for _, a := range [][]string{{"--out", shipped}, {"--ckpt", def, "--out", byDefault}} {
			msg, err := run(t, append([]string{"run", "--spec", spec, "--paths", "0", "--no-progress"}, a...)...)
			if err != nil {
				t.Fatalf("%s: %v\n%s", alg, err, msg)
			}
			msgs = append(msgs, msg)
		}
		got, base := read(shipped), read(byDefault)
		name, _ := ckpts.For(alg)
		if !strings.Contains(got.Run.Checkpoint, name) {
			t.Errorf("%s: run.checkpoint %q, want %s", alg, got.Run.Checkpoint, name)
		}
		// the shipped checkpoint's held-out error is reported with it, and
		// only with it: the table speaks for that file
		held, err := ckpts.HeldOut(alg)
		if err != nil || held == nil {
			t.Fatalf("%s: no held-out error shipped: %v", alg, err)
		}
		header := "m4's own error for " + alg.Upper() + " (" + name + ")"
		if got.Run.HeldOut == nil || !reflect.DeepEqual(*got.Run.HeldOut, *held) || !strings.Contains(msgs[0], header) {
			t.Errorf("%s: run.heldout_error %+v, printed %v; want the table's for %s", alg, got.Run.HeldOut, strings.Contains(msgs[0], header), name)
		}
		// and the band of held-out runs nearest the workload's load, printed
		// as the run's table
		load := got.Run.Workload.Busiest.Load
		band := held.ForLoad(load)
		if band == nil || got.Run.Band == nil || !reflect.DeepEqual(*got.Run.Band, *band) || !(load > 0) ||
			!strings.Contains(msgs[0], fmt.Sprintf("on %d ns-3 runs it never trained on", band.Runs)) ||
			!strings.Contains(msgs[0], fmt.Sprintf("nearest this workload's %.0f%%", 100*load)) {
			t.Errorf("%s: load %g: run.heldout_band %+v, want %+v, printed as the table", alg, load, got.Run.Band, band)
		}
		if base.Run.HeldOut != nil || base.Run.Band != nil || strings.Contains(msgs[1], "m4's own error") {
			t.Errorf("%s: --ckpt: a held-out error reported for a checkpoint the table does not speak for", alg)
		}
		same := reflect.DeepEqual(got.Estimates["m4"], base.Estimates["m4"])
		if specialist := name != ckpts.DefaultName; same == specialist {
			t.Errorf("%s: estimate equal to the default checkpoint's: %v, want %v (specialist %s)", alg, same, !specialist, name)
		}
		if !reflect.DeepEqual(got.Estimates["flowsim"], base.Estimates["flowsim"]) {
			t.Errorf("%s: flowsim's estimate depends on the checkpoint", alg)
		}
	}
}
