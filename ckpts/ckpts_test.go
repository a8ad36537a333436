package ckpts_test

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/ckpts"
	"github.com/m4sim/m4/pipeline/cc"
	"github.com/m4sim/m4/pipeline/dynamics"
	"github.com/m4sim/m4/pipeline/model"
)

// TestFor: each algorithm gets its specialist where one ships, else the
// default; a specialist was trained on its algorithm only (its training
// record says so), fine-tuned from a model of every algorithm, and reads
// the same inputs as the default, so it can stand in for it.
func TestFor(t *testing.T) {
	spec := ckpts.Specialists()
	if len(spec) == 0 {
		t.Fatal("no specialist ships")
	}
	for _, alg := range append(cc.All(), "", "cubic") {
		name, _ := ckpts.For(alg)
		want := ckpts.DefaultName
		if slices.Contains(spec, alg) {
			want = ckpts.SpecialistName(alg)
		}
		if name != want {
			t.Errorf("For(%q) = %s, want %s", alg, name, want)
		}
	}
	if !bindings.Native {
		t.Skip(bindings.ErrNoNative) // decoding checks the tensor data in libm4
	}
	def, err := model.Decode(ckpts.DefaultName, ckpts.Default)
	if err != nil {
		t.Fatal(err)
	}
	if def.Training == nil || def.Training.CC != "" {
		t.Fatalf("the default checkpoint is not a model of every algorithm: %+v", def.Training)
	}
	for _, alg := range spec {
		name, data := ckpts.For(alg)
		ck, err := model.Decode(name, data)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if ck.Training == nil || ck.Training.CC != string(alg) || ck.Training.FineTunedFrom == "" {
			t.Errorf("%s: trained on %q, fine-tuned from %q; want %s only, from a model of every algorithm", name, ck.Training.CC, ck.Training.FineTunedFrom, alg)
		}
		// a specialist may fine-tune without dropout: the same model
		if !ck.Config.SameModel(def.Config) || ck.Features.Name != def.Features.Name || ck.Training.Ranges == nil {
			t.Errorf("%s: config %+v features %s (ranges recorded: %v); the default's: %+v %s",
				name, ck.Config, ck.Features.Name, ck.Training.Ranges != nil, def.Config, def.Features.Name)
		}
	}
}

// TestLots: the parking-lot checkpoint is a model of every algorithm,
// fine-tuned from another, reading the default's inputs with the default's
// architecture, with its trained ranges recorded.
func TestLots(t *testing.T) {
	if !bindings.Native {
		t.Skip(bindings.ErrNoNative)
	}
	def, err := model.Decode(ckpts.DefaultName, ckpts.Default)
	if err != nil {
		t.Fatal(err)
	}
	ck, err := model.Decode(ckpts.LotsName, ckpts.Lots)
	if err != nil {
		t.Fatal(err)
	}
	if ck.Training == nil || ck.Training.CC != "" || ck.Training.FineTunedFrom == "" || ck.Training.Ranges == nil {
		t.Fatalf("%s: training record %+v; want every algorithm, fine-tuned, ranges recorded", ckpts.LotsName, ck.Training)
	}
	if !ck.Config.SameModel(def.Config) || ck.Features.Name != def.Features.Name {
		t.Errorf("%s: config %+v features %s; the default's %+v %s", ckpts.LotsName, ck.Config, ck.Features.Name, def.Config, def.Features.Name)
	}
}

// TestHeldOut: the held-out table speaks for the files that ship: every
// algorithm has a row naming the checkpoint For gives it and that file's
// SHA-256 (a checkpoint changed without measuring it again fails here), with
// every size bucket at p50, p90 and p99 and errors that are numbers.
func TestHeldOut(t *testing.T) {
	for _, alg := range cc.All() {
		h, err := ckpts.HeldOut(alg)
		if err != nil {
			t.Fatal(err)
		}
		if h == nil {
			t.Errorf("%s: no held-out errors", alg)
			continue
		}
		name, data := ckpts.For(alg)
		if h.Checkpoint != name || h.SHA256 != ckpts.FileSHA256(data) {
			t.Errorf("%s: table for %s (sha256 %s), ships %s (%s): measure it again (m4 ckpt heldout, ckpts/README.md)",
				alg, h.Checkpoint, h.SHA256, name, ckpts.FileSHA256(data))
		}
		if h.Runs < 5 || h.Evals < h.Runs {
			t.Errorf("%s: %d runs, %d estimates", alg, h.Runs, h.Evals)
		}
		cellsOK := func(what string, cs []ckpts.HeldOutCell) {
			if len(cs) != 15 {
				t.Errorf("%s %s: %d cells, want 5 buckets x 3 quantiles", alg, what, len(cs))
			}
			for _, c := range cs {
				// the median |error| is at least |median error|, the 90th percentile at least the median
				if !(c.AbsMedian >= math.Abs(c.SignedMedian)-1e-12) || !(c.AbsP90 >= c.AbsMedian-1e-12) || math.IsInf(c.AbsP90, 0) ||
					!(c.Within10 >= 0 && c.Within10 <= 1) {
					t.Errorf("%s %s %s p%g: %+v", alg, what, c.Bucket, 100*c.Quantile, c)
				}
			}
		}
		cellsOK("every run", h.Cells)
		// the load bands split the same runs and estimates, lightest first
		if len(h.ByLoad) < 2 {
			t.Errorf("%s: %d load bands", alg, len(h.ByLoad))
		}
		runs, evals, last := 0, 0, 0.0
		for i, b := range h.ByLoad {
			if !(b.LoadMin >= last && b.LoadMax >= b.LoadMin) || b.Runs < 3 || b.Evals < b.Runs {
				t.Errorf("%s: band %d %.3f-%.3f, %d runs, %d estimates", alg, i, b.LoadMin, b.LoadMax, b.Runs, b.Evals)
			}
			cellsOK(fmt.Sprintf("band %d", i), b.Cells)
			runs, evals, last = runs+b.Runs, evals+b.Evals, b.LoadMax
		}
		if runs != h.Runs || evals != h.Evals {
			t.Errorf("%s: bands hold %d runs and %d estimates, the table %d and %d", alg, runs, evals, h.Runs, h.Evals)
		}
	}
	if h, err := ckpts.HeldOut("cubic"); h != nil || err != nil {
		t.Errorf("HeldOut(cubic) = %v, %v", h, err)
	}
}

// TestDynamics: the shipped dynamics checkpoint decodes as a model with
// m4's configuration values and flowsim's prior, its record says what it
// was trained on, and it is under the 40 MB bound.
func TestDynamics(t *testing.T) {
	if !bindings.Native {
		t.Skip(bindings.ErrNoNative)
	}
	ck, err := dynamics.Decode(ckpts.DynamicsName, ckpts.Dynamics)
	if err != nil {
		t.Fatal(err)
	}
	if ck.Config.NParams != dynamics.NumConfigFeatures || ck.Config.Prior != 1 {
		t.Errorf("config %+v: want %d configuration values and the prior", ck.Config, dynamics.NumConfigFeatures)
	}
	if tr := ck.Training; tr.Epoch < 1 || len(tr.Data) == 0 || len(tr.History) != tr.Epoch || tr.ValFCTErrorStart <= 0 {
		t.Errorf("training record: epoch %d, %d traces, %d epochs of history, starting error %g", tr.Epoch, len(tr.Data), len(tr.History), tr.ValFCTErrorStart)
	}
	if n := len(ckpts.Dynamics); n > 40<<20 {
		t.Errorf("%d bytes, over 40 MB", n)
	}
}

// TestForLoad: a load within a band's runs gets that band, one between two
// bands the band with the nearer edge, one beyond the outermost bands those;
// a table without bands has none to give, and prints every run's table.
func TestForLoad(t *testing.T) {
	cell := func(signed float64) []ckpts.HeldOutCell {
		return []ckpts.HeldOutCell{{Bucket: "<1KB", Quantile: 0.99, SignedMedian: signed, AbsMedian: math.Abs(signed), AbsP90: 0.5}}
	}
	h := &ckpts.HeldOutErrors{CC: "dctcp", Checkpoint: "cc-dctcp.safetensors", Runs: 6, Evals: 12, Cells: cell(0.01),
		ByLoad: []ckpts.HeldOutBand{
			{LoadMin: 0.3, LoadMax: 0.4, Runs: 3, Evals: 6, Cells: cell(-0.2)},
			{LoadMin: 0.5, LoadMax: 0.7, Runs: 3, Evals: 6, Cells: cell(0.15)},
		}}
	for _, c := range []struct {
		load float64
		band int
	}{{0.1, 0}, {0.3, 0}, {0.35, 0}, {0.4, 0}, {0.44, 0}, {0.46, 1}, {0.5, 1}, {0.7, 1}, {0.95, 1}} {
		if got := h.ForLoad(c.load); got != &h.ByLoad[c.band] {
			t.Errorf("ForLoad(%g) = %+v, want band %d", c.load, got, c.band)
		}
	}
	var b bytes.Buffer
	h.WriteTable(&b, 0.32)
	if out := b.String(); !strings.Contains(out, "on 3 ns-3 runs it never trained on, 6 estimates") ||
		!strings.Contains(out, "the 3 of 6 whose busiest link carried 30-40% load, nearest this workload's 32%") ||
		!strings.Contains(out, "| <1KB | 20.0% [50%] -20.0% |") {
		t.Errorf("band table:\n%s", out)
	}
	flat := *h
	flat.ByLoad = nil
	if flat.ForLoad(0.5) != nil {
		t.Error("ForLoad without bands: a band")
	}
	b.Reset()
	flat.WriteTable(&b, 0.32)
	if out := b.String(); !strings.Contains(out, "on 6 ns-3 runs it never trained on, 12 estimates: ") || strings.Contains(out, "busiest link") ||
		!strings.Contains(out, "| <1KB | 1.0% [50%] +1.0% |") {
		t.Errorf("table of every run:\n%s", out)
	}
	var none *ckpts.HeldOutErrors
	b.Reset()
	none.WriteTable(&b, 0.5)
	if none.ForLoad(0.5) != nil || b.Len() != 0 {
		t.Error("nil table: a band or a table")
	}
}
