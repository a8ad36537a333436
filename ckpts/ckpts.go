// Package ckpts holds the model checkpoints shipped with m4, built into every
// binary, so that m4 predict and m4 run work with no files beside them
// (ckpts/README.md is their card: data, command, epochs, validation loss
// against flowsim's).
//
// Default is the model of every congestion control. Beside it ship
// specialists: Default fine-tuned on one algorithm's data only, which
// estimate that algorithm's workloads better (docs/accuracy.md); For picks
// a workload's. Lots is the model m4 predict uses for a standalone parking-lot
// scenario (m3's shards and the reference paths): Default fine-tuned on such
// scenarios only. Dynamics is m4's flow-level dynamics model.
package ckpts

import (
	"embed"

	"github.com/m4sim/m4/pipeline/cc"
)

// DefaultName is the file name of the shipped checkpoint.
const DefaultName = "default.safetensors"

// Default is the shipped checkpoint's bytes (an m4 safetensors file; see
// docs/checkpoint.md), read with model.Decode.
//
//go:embed default.safetensors
var Default []byte

//go:embed cc-*.safetensors
var specialists embed.FS

// LotsName is the file name of the parking-lot checkpoint.
const LotsName = "lots.safetensors"

// Lots is the parking-lot checkpoint's bytes: the model for scenarios that
// are parking lots of their own, not paths cut from a network (m4 predict's
// shards). It is Default fine-tuned on such scenarios of every algorithm
// (ckpts/README.md, "The parking-lot checkpoint").
//
//go:embed lots.safetensors
var Lots []byte

// DynamicsName is the file name of the shipped dynamics checkpoint.
const DynamicsName = "dynamics.safetensors"

// Dynamics is the shipped checkpoint of m4's flow-level dynamics model (an
// m4-dynamics safetensors file, docs/dynamics.md; read with dynamics.Decode),
// the one m4 run, m4 eval and m4 bench use with --estimator dynamics and no
// --ckpt. Its card is ckpts/README.md, "The dynamics checkpoint".
//
//go:embed dynamics.safetensors
var Dynamics []byte

// SpecialistName is the file name of alg's specialist.
func SpecialistName(alg cc.CC) string { return "cc-" + string(alg) + ".safetensors" }

// For returns the shipped checkpoint for workloads of congestion control
// alg: its specialist where one ships, else Default; and its file name.
func For(alg cc.CC) (name string, data []byte) {
	if alg.Valid() {
		if b, err := specialists.ReadFile(SpecialistName(alg)); err == nil {
			return SpecialistName(alg), b
		}
	}
	return DefaultName, Default
}

// Specialists lists the algorithms with a specialist, in cc.All's order.
func Specialists() []cc.CC {
	var out []cc.CC
	for _, alg := range cc.All() {
		if _, err := specialists.Open(SpecialistName(alg)); err == nil {
			out = append(out, alg)
		}
	}
	return out
}
