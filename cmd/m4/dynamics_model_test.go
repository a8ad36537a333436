package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/m4sim/m4/bindings"
)

// TestDynamicsEstimator: m4 datagen --dynamics, then m4 train --estimator
// dynamics on its folders (resumed for a third epoch), then m4 run
// --estimator dynamics on a spec with --truth: estimate.json holds the
// model's percentiles under estimates.m4 beside the truth, and the run
// names its estimator; m4 eval --estimator dynamics measures it flow by
// flow. Wrong uses are refused with the reason.
func TestDynamicsEstimator(t *testing.T) {
	if !bindings.Native {
		t.Skip(bindings.ErrNoNative)
	}
	dir := t.TempDir()
	family := filepath.Join(dir, "family.yaml")
	os.WriteFile(family, []byte("seed: 3\nworkloads: {count: 3}\ntopologies: [{kind: fattree, k: 4}]\nflows: [150, 200]\nmatrices: [uniform]\n"), 0o644)
	data := filepath.Join(dir, "dyn")
	if msg, err := run(t, "datagen", "--dynamics", "--spec", family, "--out", data, "--no-progress", "--workers", "1"); err != nil {
		t.Fatalf("%q %v", msg, err)
	}
	ck := filepath.Join(dir, "ck.safetensors")
	train := []string{"train", "--estimator", "dynamics", "--data", data, "--out", ck, "--state", "12", "--gnn-width", "16",
		"--gnn-layers", "2", "--head-hidden", "12", "--window", "64", "--lr", "0.002", "--threads", "1"}
	msg, err := run(t, append(train, "--epochs", "2")...)
	if err != nil || !strings.Contains(msg, "3 traces (2 train, 1 held out)") || !strings.Contains(msg, "epoch 2/2: loss") {
		t.Fatalf("%q %v", msg, err)
	}
	if msg, err = run(t, append(train, "--epochs", "3", "--resume")...); err != nil || !strings.Contains(msg, "3 epochs") {
		t.Fatalf("resume: %q %v", msg, err)
	}
	// fine-tuning: --init's model and parameters, recorded on the card; its shape is not another flag's
	ft := filepath.Join(dir, "ft.safetensors")
	// (nothing held out: no line names a held-out error)
	// (a loss weight is not the model's shape: --every-weight may change)
	if msg, err := run(t, "train", "--estimator", "dynamics", "--data", data, "--out", ft, "--init", ck, "--epochs", "1", "--threads", "1", "--val-frac", "0", "--every-weight", "0.5"); err != nil || strings.Contains(msg, "held-out") || !strings.Contains(msg, "(3 train, 0 held out)") || !strings.Contains(msg, ", every event 0.") {
		t.Fatalf("fine-tune: %q %v", msg, err)
	}
	if ftCard, err := os.ReadFile(filepath.Join(dir, "ft.md")); err != nil || !strings.Contains(string(ftCard), "Fine-tuned from "+ck) || !strings.Contains(string(ftCard), "hidden 12") ||
		!strings.Contains(string(ftCard), "0.5 x the first term over every active flow after every event") {
		t.Errorf("fine-tune card: %v\n%s", err, ftCard)
	}
	if msg, err := run(t, "train", "--estimator", "dynamics", "--data", data, "--out", ft, "--init", ck, "--state", "8"); err == nil || !strings.Contains(msg+err.Error(), "keeps --init's model") {
		t.Errorf("fine-tune with another shape: %q %v", msg, err)
	}
	card, err := os.ReadFile(filepath.Join(dir, "ck.md"))
	if err != nil || !strings.Contains(string(card), "| 3 |") || !strings.Contains(string(card), "16-16 hosts") {
		t.Fatalf("card: %v\n%s", err, card)
	}

	spec := filepath.Join(dir, "spec.yaml")
	os.WriteFile(spec, []byte(`topology: {kind: fattree, k: 4}
sizes: {dist: webserver}
arrivals: {process: lognormal, sigma: 1}
traffic: {matrix: uniform}
max_load: 0.3
flows: 200
seed: 9
cc: {algorithm: dctcp, buffer_kb: 300, window_bytes: 18000, dctcp_k: 20, pfc: true}
`), 0o644)
	out := filepath.Join(dir, "out")
	msg, err = run(t, "run", "--estimator", "dynamics", "--ckpt", ck, "--spec", spec, "--truth", "--out", out, "--no-progress")
	if err != nil || !strings.Contains(msg, "200 flows estimated by the event loop") || !strings.Contains(msg, "per-flow error") {
		t.Fatalf("%q %v", msg, err)
	}
	var est struct {
		Estimates map[string]json.RawMessage `json:"estimates"`
		Run       map[string]any             `json:"run"`
	}
	b, _ := os.ReadFile(filepath.Join(out, "estimate.json"))
	if err := json.Unmarshal(b, &est); err != nil {
		t.Fatal(err)
	}
	if est.Estimates["m4"] == nil || est.Estimates["truth"] == nil || est.Run["estimator"] != "dynamics" {
		t.Errorf("estimate.json: estimates %v, run.estimator %v", len(est.Estimates), est.Run["estimator"])
	}

	// --per-flow: flows.csv with the model's FCT of every flow, flowsim's
	// column and rows from every path, and both per-flow errors
	pf := filepath.Join(dir, "pf")
	msg, err = run(t, "run", "--estimator", "dynamics", "--ckpt", ck, "--spec", spec, "--per-flow", "--truth", "--out", pf, "--no-progress")
	if err != nil || !strings.Contains(msg, "per-flow error (mean |estimated/true slowdown - 1|): m4 ") || !strings.Contains(msg, "flowsim ") {
		t.Fatalf("--per-flow: %q %v", msg, err)
	}
	b, _ = os.ReadFile(filepath.Join(pf, "estimate.json"))
	est.Estimates = nil
	if err := json.Unmarshal(b, &est); err != nil || est.Estimates["flowsim"] == nil || est.Estimates["m4"] == nil {
		t.Fatalf("--per-flow estimate.json: %v, estimators %v", err, len(est.Estimates))
	}
	csv, _ := os.ReadFile(filepath.Join(pf, "flows.csv"))
	lines := strings.Split(strings.TrimSpace(string(csv)), "\n")
	if len(lines) != 201 || lines[0] != "flow_id,src,dst,size_bytes,start_ns,ideal_fct_ns,flowsim_fct_ns,m4_fct_ns,truth_fct_ns" {
		t.Fatalf("flows.csv: %d lines, header %q", len(lines), lines[0])
	}
	for i, l := range lines[1:] {
		f := strings.Split(l, ",")
		ideal, _ := strconv.ParseInt(f[5], 10, 64)
		fs, _ := strconv.ParseInt(f[6], 10, 64)
		m, _ := strconv.ParseInt(f[7], 10, 64)
		if f[0] != strconv.Itoa(i) || ideal <= 0 || fs < ideal || m < ideal {
			t.Fatalf("flows.csv row %d: %q (FCTs at least the ideal)", i, l)
		}
	}

	msg, err = run(t, "eval", "--estimator", "dynamics", "--ckpt", ck, "--spec", spec, "--threads", "1")
	if err != nil || !strings.Contains(msg, "m4 per-flow err") || !strings.Contains(msg, "spec.yaml") {
		t.Fatalf("eval: %q %v", msg, err)
	}

	// without --ckpt: the shipped model (flowsim's prior, ckpts.Dynamics)
	msg, err = run(t, "run", "--estimator", "dynamics", "--spec", spec, "--out", filepath.Join(dir, "shipped"), "--no-progress", "--threads", "1")
	if err != nil || !strings.Contains(msg, "checkpoint shipped dynamics.safetensors") || !strings.Contains(msg, "from flowsim's prior") {
		t.Fatalf("run with the shipped model: %q %v", msg, err)
	}
	// it was trained on 32-256 hosts: the 16-host fat-tree is named as outside
	// that, and --strict refuses it (nothing written)
	const outside = "hosts = 16 is outside the trained range [32, 256]"
	if !strings.Contains(msg, outside) {
		t.Errorf("run with the shipped model on 16 hosts: no warning: %q", msg)
	}
	strict := filepath.Join(dir, "strict")
	if msg, err := run(t, "--strict", "run", "--estimator", "dynamics", "--spec", spec, "--out", strict, "--no-progress"); err == nil || !strings.Contains(msg+err.Error(), outside) {
		t.Errorf("--strict: %q %v", msg, err)
	}
	if _, err := os.Stat(strict); !os.IsNotExist(err) {
		t.Errorf("--strict left %s: %v", strict, err)
	}
	if msg, err := run(t, "--strict", "eval", "--estimator", "dynamics", "--spec", spec, "--threads", "1"); err == nil || !strings.Contains(msg+err.Error(), outside) {
		t.Errorf("eval --strict: %q %v", msg, err)
	}

	for i, c := range []struct {
		args []string
		want string
	}{
		{[]string{"eval", "--estimator", "dynamics", "--ckpt", spec, "--spec", spec}, "spec.yaml"},
		{[]string{"run", "--estimator", "dynamics", "--ckpt", ck, "--paths", "10", "--spec", spec, "--out", out}, "--paths"},
		{[]string{"run", "--estimator", "quantum", "--spec", spec}, "want path or dynamics"},
		{[]string{"train", "--estimator", "dynamics", "--data", dir, "--out", ck}, "no dynamics.npz"},
		{[]string{"train", "--estimator", "dynamics", "--data", data}, "--out CKPT is required"},
	} {
		if msg, err := run(t, c.args...); err == nil || !strings.Contains(msg+err.Error(), c.want) {
			t.Errorf("case %d (%v): %q %v, want an error about %s", i, c.args, msg, err, c.want)
		}
	}
}
