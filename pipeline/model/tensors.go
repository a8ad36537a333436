// Package model is m4's learned estimator as files and as a callable: the
// model's parameter layout, checkpoints (m4's versioned safetensors files and
// m3's exported C checkpoints), and inference on feature maps through the
// native kernels (package bindings).
//
// The model is m3's (see bindings.ModelConfig): per path scenario, a
// transformer reads the feature rows of the path's links, its outputs are
// averaged into a context, and an MLP maps the foreground row and that
// context to 4 output size buckets x 100 slowdown percentiles. Checkpoints
// name every tensor as m3's PyTorch state dict does, so weights move between
// m3 and m4 by name.
package model

import "github.com/m4sim/m4/bindings"

// Tensor is one named parameter tensor of the model's flat parameter array:
// values [Offset, Offset+Size), row-major Shape as PyTorch stores it; Decay
// marks the tensors m3 applies weight decay to (the transformer's 2-D
// weights).
type Tensor = bindings.TensorInfo

// Tensors returns the parameter layout of a model of config c, in storage
// order, as libm4 defines it (native/model_layout.h: the one table the CPU
// and CUDA kernels and the checkpoint reader use). It needs the native
// library (bindings.ErrNoNative without cgo) and fails for a config libm4
// refuses.
func Tensors(c bindings.ModelConfig) ([]Tensor, error) {
	m, err := bindings.NewModel(c, 1, 0, false)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	return m.Tensors(), nil
}

// NumParams returns the number of parameters of a model of config c (see
// Tensors), without allocating for them.
func NumParams(c bindings.ModelConfig) (int, error) { return bindings.ModelNumParams(c) }
