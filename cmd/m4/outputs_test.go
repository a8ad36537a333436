package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/pipeline/infer"
	"github.com/m4sim/m4/pipeline/workload"
)

const smallRunSpec = `
topology: {kind: fattree, k: 4}
sizes: {dist: webserver}
traffic: {matrix: uniform}
max_load: 0.4
flows: 1500
seed: 2
cc: {algorithm: dctcp, window_bytes: 18000, pfc: true}
`

// runSplit runs the CLI in-process with stdout and stderr apart.
func runSplit(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	app := newApp()
	var out, errOut bytes.Buffer
	app.Writer, app.ErrWriter = &out, &errOut
	err = app.Run(append([]string{"m4"}, args...))
	return out.String(), errOut.String(), err
}

func TestExampleSpec(t *testing.T) {
	a, _, err := runSplit(t, "run", "--example-spec")
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := runSplit(t, "workload", "--example-spec")
	if err != nil {
		t.Fatal(err)
	}
	if a != b || a != string(infer.DefaultSpecYAML()) {
		t.Fatalf("run and workload print different specs:\n%s\n---\n%s", a, b)
	}
	s, err := workload.ParseSpec("example", []byte(a))
	if err != nil || s.Flows != 20000 || s.CC.Algorithm != "dctcp" {
		t.Fatalf("the example spec: %v %+v", err, s)
	}
	if _, _, err := runSplit(t, "workload", "--spec", "x.yaml"); err == nil || !strings.Contains(err.Error(), "--out is required") {
		t.Errorf("workload without --out: %v", err)
	}
}

// m4 run --per-flow --truth: the workload named with true counts, flows.csv
// with one row per flow in the workload's order, per-flow errors, and
// progress as plain lines on a stderr that is not a terminal.
func TestRunPerFlow(t *testing.T) {
	if !bindings.Native {
		t.Skip(bindings.ErrNoNative)
	}
	dir := t.TempDir()
	spec := filepath.Join(dir, "w.yaml")
	os.WriteFile(spec, []byte(smallRunSpec), 0o644)
	out := filepath.Join(dir, "out")
	if _, _, err := runSplit(t, "run", "--spec", spec, "--per-flow", "--paths", "20", "--out", out); err == nil ||
		!strings.Contains(err.Error(), "--per-flow estimates every path") {
		t.Fatalf("--per-flow with --paths: %v", err)
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatal("output folder created for a refused run")
	}
	stdout, stderr, err := runSplit(t, "run", "--spec", spec, "--per-flow", "--truth", "--out", out)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := workload.LoadSpec(spec)
	w, err := workload.Generate(s)
	if err != nil {
		t.Fatal(err)
	}
	counts := infer.BucketCounts(w.Flows.Size)
	for _, want := range []string{
		"workload: " + spec + ": fattree", "16 hosts, 1500 flows, webserver sizes; DCTCP (K 20 KB), buffer 300 KB, window 18000 B, PFC on",
		"load: target 40% on the busiest link", "paths: ", "(every path)", "per-flow error (mean |estimated/true slowdown - 1| over flows): m4 ",
		"| all | 1500 |", "| >=50KB | " + strconv.Itoa(counts[3]) + " |", "flows.csv",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	// progress off a terminal: whole lines, no bar frames
	lineRe := regexp.MustCompile(`^(paths: \d+/\d+ paths|truth \(packet-level simulation\): \d+/\d+ flows) in [\d.hm]+s \([\d.]+ (paths|flows)/s(, about [\d.hm]+s left)?\)$`)
	final := 0
	for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if strings.HasPrefix(l, "paths:") || strings.HasPrefix(l, "truth") {
			if !lineRe.MatchString(l) {
				t.Errorf("progress line %q", l)
			}
			if strings.Contains(l, ": 1500/1500 flows") || regexp.MustCompile(`paths: (\d+)/(\d+)`).FindStringSubmatch(l) != nil &&
				!strings.Contains(l, "left") {
				final++
			}
		}
	}
	if final != 2 || strings.Contains(stderr, "\r") {
		t.Errorf("want a last progress line for the paths and the truth, no carriage returns:\n%q", stderr)
	}

	b, err := os.ReadFile(filepath.Join(out, "flows.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if lines[0] != "flow_id,src,dst,size_bytes,start_ns,ideal_fct_ns,flowsim_fct_ns,m4_fct_ns,truth_fct_ns" || len(lines) != 1501 {
		t.Fatalf("flows.csv: header %q, %d lines", lines[0], len(lines))
	}
	f := &w.Flows
	for i, l := range lines[1:] {
		var v [9]int64
		for j, s := range strings.Split(l, ",") {
			v[j], err = strconv.ParseInt(s, 10, 64)
			if err != nil {
				t.Fatalf("line %d: %q", i+2, l)
			}
		}
		if v[0] != int64(i) || v[1] != int64(f.Src[i]) || v[2] != int64(f.Dst[i]) || v[3] != f.Size[i] || v[4] != f.StartNs[i] {
			t.Fatalf("line %d: %q is not flow %d (%d -> %d, %d B at %d ns)", i+2, l, i, f.Src[i], f.Dst[i], f.Size[i], f.StartNs[i])
		}
		// FCTs at least the ideal; the ideal at least the bytes at 10 Gbps
		if v[5] < f.Size[i]*8/10 || v[6] < v[5] || v[7] < v[5] || v[8] <= 0 {
			t.Fatalf("line %d: %q", i+2, l)
		}
	}
	var doc struct {
		Run struct {
			Workload infer.Description  `json:"workload"`
			PerFlow  map[string]float64 `json:"per_flow_error"`
		} `json:"run"`
	}
	jb, _ := os.ReadFile(filepath.Join(out, "estimate.json"))
	if err := json.Unmarshal(jb, &doc); err != nil {
		t.Fatal(err)
	}
	if d := doc.Run.Workload; d.Flows != 1500 || d.Hosts != 16 || d.TargetLoad != 0.4 || d.Busiest.Load <= 0 || doc.Run.PerFlow["m4"] <= 0 {
		t.Errorf("estimate.json's run: %+v", doc.Run)
	}
}

// m4 run's output folder is one unit: a run killed at any point leaves the
// previous set whole (or no folder), and runs writing the same folder at
// once leave one whole set.
func TestRunOutputIsOneUnit(t *testing.T) {
	bin := m4Binary(t, "several times (about 20 s)")
	dir := t.TempDir()
	spec := filepath.Join(dir, "w.yaml")
	os.WriteFile(spec, []byte(smallRunSpec), 0o644)
	args := func(out string, seed int) []string {
		return []string{"run", "--spec", spec, "--per-flow", "--seed", strconv.Itoa(seed), "--out", out}
	}
	// two reference sets, from workloads of different seeds
	spec2 := filepath.Join(dir, "w2.yaml")
	os.WriteFile(spec2, []byte(strings.Replace(smallRunSpec, "seed: 2", "seed: 3", 1)), 0o644)
	refA, refB := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	mustRun(t, bin, args(refA, 1)...)
	argsB := func(out string) []string { return []string{"run", "--spec", spec2, "--per-flow", "--out", out} }
	mustRun(t, bin, argsB(refB)...)
	a, b := outputSet(t, refA), outputSet(t, refB)
	if a[infer.FileFlowsCSV] == b[infer.FileFlowsCSV] {
		t.Fatal("the two reference runs wrote the same flows.csv")
	}

	t.Run("killed", func(t *testing.T) {
		for _, when := range []string{"estimating", "writing"} {
			out := filepath.Join(dir, "killed-"+when)
			mustRun(t, bin, args(out, 1)...)
			ready := func() bool {
				tmp, _ := filepath.Glob(filepath.Join(dir, ".killed-"+when+".tmp-*"))
				if when == "estimating" {
					return len(tmp) > 0
				}
				for _, d := range tmp {
					if files, _ := os.ReadDir(d); len(files) > 0 {
						return true
					}
				}
				return false
			}
			killWhen(t, bin, argsB(out), ready)
			sameSet(t, out, a)
			// into a new folder: nothing under its name
			fresh := filepath.Join(dir, "fresh-"+when)
			killWhen(t, bin, argsB(fresh), func() bool {
				tmp, _ := filepath.Glob(filepath.Join(dir, ".fresh-"+when+".tmp-*"))
				return len(tmp) > 0 && (when == "estimating" || nonEmpty(tmp[0]))
			})
			if _, err := os.Stat(fresh); err == nil {
				t.Errorf("%s: a run killed while %s left a folder", fresh, when)
			}
		}
	})

	t.Run("concurrent", func(t *testing.T) {
		for trial := range 3 {
			out := filepath.Join(dir, "both"+strconv.Itoa(trial))
			var wg sync.WaitGroup
			for i, as := range [][]string{args(out, 1), argsB(out)} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if o, err := exec.Command(bin, as...).CombinedOutput(); err != nil {
						t.Errorf("run %d: %v\n%s", i, err, o)
					}
				}()
			}
			wg.Wait()
			got := outputSet(t, out)
			if got[infer.FileFlowsCSV] == a[infer.FileFlowsCSV] {
				sameSet(t, out, a)
			} else {
				sameSet(t, out, b)
			}
			left, _ := filepath.Glob(filepath.Join(dir, ".both"+strconv.Itoa(trial)+".*"))
			if len(left) > 0 {
				t.Errorf("left behind: %v", left)
			}
		}
	})
}

func nonEmpty(dir string) bool {
	files, _ := os.ReadDir(dir)
	return len(files) > 0
}

// outputSet reads a run's output folder: file name -> content, estimate.json
// without its timings (the one thing a rerun changes).
func outputSet(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	timing := regexp.MustCompile(`(?m)^\s*"[a-z_]*seconds": .*$`)
	m := map[string]string{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if e.Name() == infer.FileEstimateJSON {
			b = timing.ReplaceAll(b, nil)
		}
		m[e.Name()] = string(b)
	}
	return m
}

// sameSet fails unless dir holds exactly the files of want.
func sameSet(t *testing.T, dir string, want map[string]string) {
	t.Helper()
	got := outputSet(t, dir)
	if len(got) != len(want) {
		t.Errorf("%s holds %d files, want %d", dir, len(got), len(want))
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s: %s is not the same run's", dir, name)
		}
	}
}

// m4 eval --per-flow --out: per-flow errors in the table and both files,
// one CSV row per bucket and quantile.
func TestEvalOut(t *testing.T) {
	if !bindings.Native {
		t.Skip(bindings.ErrNoNative)
	}
	dir := t.TempDir()
	spec := filepath.Join(dir, "w.yaml")
	os.WriteFile(spec, []byte(smallRunSpec), 0o644)
	out := filepath.Join(dir, "ev")
	if _, _, err := runSplit(t, "eval", "--spec", spec, "--per-flow", "--paths", "5", "--out", out); err == nil {
		t.Fatal("--per-flow with --paths accepted")
	}
	stdout, _, err := runSplit(t, "eval", "--spec", spec, "--per-flow", "--out", out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, "| m4 per-flow err | flowsim per-flow err |") || !strings.Contains(stdout, "every path estimated") {
		t.Errorf("output:\n%s", stdout)
	}
	var doc struct {
		Workloads []struct {
			Workload string   `json:"workload"`
			Flows    int      `json:"flows"`
			PerFlow  *float64 `json:"per_flow_err_m4"`
			Rows     []struct {
				Bucket string  `json:"bucket"`
				Truth  float64 `json:"truth"`
			} `json:"rows"`
		} `json:"workloads"`
	}
	b, err := os.ReadFile(filepath.Join(out, "eval.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Workloads) != 1 || doc.Workloads[0].Flows != 1500 || doc.Workloads[0].PerFlow == nil || *doc.Workloads[0].PerFlow <= 0 {
		t.Fatalf("eval.json: %+v", doc)
	}
	rows := doc.Workloads[0].Rows
	c, _ := os.ReadFile(filepath.Join(out, "eval.csv"))
	lines := strings.Split(strings.TrimSuffix(string(c), "\n"), "\n")
	if lines[0] != "workload,cc,flows,bucket,quantile,truth,m4,flowsim,m4_rel_err,flowsim_rel_err" || len(lines) != 1+len(rows) {
		t.Fatalf("eval.csv: header %q, %d lines for %d rows", lines[0], len(lines), len(rows))
	}
	for i, r := range rows {
		f := strings.Split(lines[i+1], ",")
		if f[0] != spec || f[1] != "dctcp" || f[3] != r.Bucket || f[5] != strconv.FormatFloat(r.Truth, 'g', -1, 64) {
			t.Fatalf("eval.csv line %d: %q, JSON row %+v", i+2, lines[i+1], r)
		}
	}
	// the error CDF: an SVG with both estimators' curves, a PNG
	svg, err := os.ReadFile(filepath.Join(out, "error_cdf.svg"))
	if err != nil || !strings.Contains(string(svg), "relative error") || !strings.Contains(string(svg), "flowsim") {
		t.Errorf("error_cdf.svg: %d bytes, %v", len(svg), err)
	}
	if png, err := os.ReadFile(filepath.Join(out, "error_cdf.png")); err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Errorf("error_cdf.png: %v", err)
	}
}

// A workload that fails in m4 eval (here: host links at 12.5 Gbps, which
// the packet simulator's m3 config cannot write) is reported and skipped;
// the others are scored and written, eval.json lists the failure, and the
// exit is an error naming it.
func TestEvalContinuesPastAFailure(t *testing.T) {
	if !bindings.Native {
		t.Skip(bindings.ErrNoNative)
	}
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good.yaml"), filepath.Join(dir, "bad.yaml")
	os.WriteFile(good, []byte(smallRunSpec), 0o644)
	os.WriteFile(bad, []byte(strings.Replace(smallRunSpec, "kind: fattree, k: 4", "kind: fattree, k: 4, host_gbps: 12.5, fabric_gbps: 50", 1)), 0o644)
	out := filepath.Join(dir, "ev")
	stdout, stderr, err := runSplit(t, "eval", "--spec", bad, "--spec", good, "--paths", "50", "--out", out)
	if err == nil || !strings.Contains(err.Error(), "1 of 2 workloads failed") || !strings.Contains(err.Error(), "bad.yaml") ||
		!strings.Contains(err.Error(), "whole Gbps") {
		t.Fatalf("err %v", err)
	}
	if !strings.Contains(stderr, "[1/2] "+bad+": failed:") || !strings.Contains(stderr, "[2/2] "+good+": m4 ") {
		t.Errorf("stderr:\n%s", stderr)
	}
	if !strings.Contains(stdout, good) || strings.Contains(stdout, "| "+bad) {
		t.Errorf("stdout:\n%s", stdout)
	}
	var doc struct {
		Run       map[string]any `json:"run"`
		Workloads []struct {
			Workload string `json:"workload"`
		} `json:"workloads"`
	}
	b, err := os.ReadFile(filepath.Join(out, "eval.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &doc); err != nil || len(doc.Workloads) != 1 || doc.Workloads[0].Workload != good ||
		!strings.Contains(fmt.Sprint(doc.Run["failed"]), "bad.yaml") {
		t.Fatalf("eval.json: %v %+v", err, doc)
	}
}
