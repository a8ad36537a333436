package ckpts_test

import (
	"slices"
	"testing"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/ckpts"
	"github.com/m4sim/m4/pipeline/cc"
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
		if ck.Config != def.Config || ck.Features.Name != def.Features.Name || ck.Training.Ranges == nil {
			t.Errorf("%s: config %+v features %s (ranges recorded: %v); the default's: %+v %s",
				name, ck.Config, ck.Features.Name, ck.Training.Ranges != nil, def.Config, def.Features.Name)
		}
	}
}
