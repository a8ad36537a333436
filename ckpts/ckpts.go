// Package ckpts holds the model checkpoint shipped with m4, built into every
// binary, so that m4 predict works with no files beside it (ckpts/README.md
// is its card: data, command, epochs, validation loss against flowsim's).
package ckpts

import _ "embed"

// DefaultName is the file name of the shipped checkpoint.
const DefaultName = "default.safetensors"

// Default is the shipped checkpoint's bytes (an m4 safetensors file; see
// docs/checkpoint.md), read with model.Decode.
//
//go:embed default.safetensors
var Default []byte
