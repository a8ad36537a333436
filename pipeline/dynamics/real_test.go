//go:build cgo

package dynamics

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/pipeline/datagen"
	"github.com/m4sim/m4/pipeline/netdata"
	"github.com/m4sim/m4/pipeline/truth"
	"github.com/m4sim/m4/pipeline/workload"
)

// fatTreeFamily is three small workloads on a 16-host fat-tree (k = 4),
// 200 to 300 flows each.
func fatTreeFamily() *netdata.Spec {
	s := netdata.DefaultSpec()
	s.Seed = 3
	s.Workloads = datagen.ShardRange{First: 0, Count: 3}
	s.Topologies = []workload.TopologySpec{{Kind: "fattree", K: 4}}
	s.Flows = []float64{200, 300}
	s.Matrices = []string{"uniform"}
	return &s
}

// TestPacketLevelTraces trains on two packet-level traces (m4 datagen
// --dynamics' folders) and checks: the loss falls; the workload the event
// loop reads for a run (WorkloadOf: routes, links, ideal FCTs) is the one
// the trace recorded; the event loop's FCT error on the held-out workload
// falls with training; every estimate is finite and at least the ideal FCT.
func TestPacketLevelTraces(t *testing.T) {
	spec := fatTreeFamily()
	root := t.TempDir()
	for w := range 3 {
		dir := netdata.WorkloadDir(root, w)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if _, err := netdata.Build(spec, w, netdata.Options{Dynamics: true}, dir, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	paths, err := TracePaths([]string{root})
	if err != nil || len(paths) != 3 {
		t.Fatalf("%v %v", paths, err)
	}
	withPrior := Defaults().Config
	withPrior.Prior = 1
	traces, seen, err := LoadTraces(paths, withPrior, 1)
	if err != nil || len(seen) != 3 {
		t.Fatal(len(seen), err)
	}

	dr, err := spec.Draw(2)
	if err != nil {
		t.Fatal(err)
	}
	wl, err := workload.Generate(dr.Spec)
	if err != nil {
		t.Fatal(err)
	}
	c, err := truth.Input(wl, dr.Config)
	if err != nil {
		t.Fatal(err)
	}
	w, err := WorkloadOf(c, dr.Config, NumConfigFeatures, nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := traces[2]
	// the ranges LoadTraces read beside the trace cover its workload and no more
	hosts := len(wl.Topo.Hosts())
	if out := seen[2].Check(dr.Config, hosts, w.LinkGbps); len(out) != 0 {
		t.Errorf("the trace's own workload is out of its ranges: %v", out)
	}
	big := dr.Config
	big.BufferKB *= 4
	out := seen[2].Check(big, 4*hosts, append(slices.Clone(w.LinkGbps), 400))
	if len(out) != 3 || out[0].Name != "buffer_kb" || out[1].Name != "hosts" || out[2].Name != "link rate" || out[2].Value != "400 Gbps" {
		t.Errorf("4x buffer and hosts, a 400 Gbps link: %v", out)
	}
	// the prior LoadTraces read beside the trace is flowsim's of the workload
	fsPrior, err := FlowsimPrior(wl, dr.Config, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(fsPrior, tr.Prior) || len(fsPrior) != len(w.FlowSize) || slices.Max(fsPrior) <= 1 || slices.Min(fsPrior) < 1 {
		t.Fatalf("the trace's prior (%d values) is not flowsim's of its workload", len(tr.Prior))
	}
	if !slices.Equal(w.FlowRoutePtr, tr.FlowRoutePtr) || !slices.Equal(w.FlowRoute, tr.FlowRoute) ||
		!slices.Equal(w.LinkGbps, tr.LinkGbps) || !slices.Equal(w.LinkDelayNs, tr.LinkDelayNs) ||
		!slices.Equal(w.FlowIdealNs, tr.FlowIdealNs) || !slices.Equal(w.FlowSize, tr.FlowSize) ||
		!slices.Equal(w.Params, tr.Params) || len(w.Params) != NumConfigFeatures {
		t.Fatal("the run's workload differs from the trace's")
	}
	for i := range w.FlowStartNs {
		if d := w.FlowStartNs[i] - tr.FlowStartNs[i]; d < 0 || d > 1 {
			t.Fatalf("flow %d starts at %d, the trace says %d", i, w.FlowStartNs[i], tr.FlowStartNs[i])
		}
	}

	o := Defaults()
	o.Config = small()
	o.Config.NParams = NumConfigFeatures
	o.Epochs, o.LR, o.Window, o.Seed = 8, 2e-3, 64, 2
	ck, err := Train(o, traces[:2], traces[2:])
	if err != nil {
		t.Fatal(err)
	}
	h := ck.Training.History
	for _, e := range h {
		t.Logf("epoch %d: loss %.4f (slowdown %.4f, remain %.4f, queue %.4f), held-out FCT error %.3f", e.Epoch, e.Loss,
			e.Slowdown, e.Remain, e.Queue, e.ValFCTError)
	}
	if !(h[len(h)-1].Loss < 0.7*h[0].Loss) {
		t.Errorf("loss %.4f -> %.4f, want a fall below 70%%", h[0].Loss, h[len(h)-1].Loss)
	}
	untrained := &Checkpoint{Config: o.Config}
	d, err := bindings.NewDyn(o.Config, false)
	if err != nil {
		t.Fatal(err)
	}
	d.Init(o.Seed)
	untrained.Params = d.Params()
	d.Close()
	before, err := Estimate(untrained, w, 1)
	if err != nil {
		t.Fatal(err)
	}
	after, err := Estimate(ck, w, 1)
	if err != nil {
		t.Fatal(err)
	}
	e0, e1 := FCTError(before, tr.FlowFCTNs), FCTError(after, tr.FlowFCTNs)
	ideal := make([]float64, len(w.FlowIdealNs))
	for i, v := range w.FlowIdealNs {
		ideal[i] = float64(v)
	}
	t.Logf("held-out FCT error: untrained %.3f, trained %.3f (the ideal FCT as the estimate: %.3f)", e0, e1, FCTError(ideal, tr.FlowFCTNs))
	if !(e1 < e0) {
		t.Errorf("held-out FCT error %.3f untrained, %.3f trained", e0, e1)
	}
	for i, f := range after {
		if math.IsNaN(f) || math.IsInf(f, 0) || f < float64(w.FlowIdealNs[i])-1 {
			t.Fatalf("flow %d: estimate %g, ideal %d", i, f, w.FlowIdealNs[i])
		}
	}
	// with flowsim's prior: untrained, the event loop answers flowsim's FCT
	// of every flow (training's starting error is flowsim's); trained as
	// above, it errs less on the held-out workload than the model without
	// (two traces are too few to beat flowsim itself)
	op := o
	op.Config.Prior = 1
	pd, err := bindings.NewDyn(op.Config, false)
	if err != nil {
		t.Fatal(err)
	}
	pd.Init(op.Seed)
	untrainedPrior := &Checkpoint{Config: op.Config, Params: pd.Params()}
	pd.Close()
	wp := *w
	wp.Prior = fsPrior
	fs, err := Estimate(untrainedPrior, &wp, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range fs {
		want := math.Max(float64(fsPrior[i]), 1.001) * float64(w.FlowIdealNs[i])
		if math.Abs(f/want-1) > 1e-4 {
			t.Fatalf("untrained with a prior: flow %d's FCT %.0f, flowsim's %.0f", i, f, want)
		}
	}
	ckp, err := Train(op, traces[:2], traces[2:])
	if err != nil {
		t.Fatal(err)
	}
	trained, err := Estimate(ckp, &wp, 1)
	if err != nil {
		t.Fatal(err)
	}
	ef, et := FCTError(fs, tr.FlowFCTNs), FCTError(trained, tr.FlowFCTNs)
	t.Logf("held-out FCT error with the prior: flowsim %.4f, trained %.4f (start of training %.4f)", ef, et, ckp.Training.ValFCTErrorStart)
	if math.Abs(ckp.Training.ValFCTErrorStart-ef) > 1e-9 {
		t.Errorf("training's starting error %.6f is not flowsim's %.6f", ckp.Training.ValFCTErrorStart, ef)
	}
	if !(et < e1) {
		t.Errorf("held-out FCT error after the same training: %.4f with the prior, %.4f without", et, e1)
	}
	if _, err := TracePaths([]string{filepath.Join(root, "wl0", "missing")}); err == nil {
		t.Error("a missing folder is accepted")
	}
}
