package model

import (
	"testing"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/ckpts"
)

// BenchmarkReplica: one more worker's estimator of the shipped default,
// ready to answer (its first one-path batch included, where a copy packs its
// weights): a copy (the checkpoint loaded again) against a replica reading
// the first one's weights in place (Estimator.Replicas). docs/perf.md.
func BenchmarkReplica(b *testing.B) {
	if !bindings.Native {
		b.Skip(bindings.ErrNoNative)
	}
	ck, err := Decode(ckpts.DefaultName, ckpts.Default)
	if err != nil {
		b.Fatal(err)
	}
	in := []Input{{Hosts: 3, Res: make([]float32, 3*ck.Config.FeatDim)}}
	base, err := NewEstimator(ck, 64, 1)
	if err != nil {
		b.Fatal(err)
	}
	defer base.Close()
	if _, err := base.Predict(in); err != nil {
		b.Fatal(err)
	}
	b.Run("copy", func(b *testing.B) {
		for b.Loop() {
			e, err := NewEstimator(ck, 64, 1)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := e.Predict(in); err != nil {
				b.Fatal(err)
			}
			e.Close()
		}
	})
	b.Run("replica", func(b *testing.B) {
		for b.Loop() {
			m, err := base.m.(cpuBackend).NewReplica(64)
			if err != nil {
				b.Fatal(err)
			}
			r := &Estimator{ck: ck, m: cpuBackend{m}, maxBatch: 64}
			if _, err := r.Predict(in); err != nil {
				b.Fatal(err)
			}
			r.Close()
		}
	})
}
