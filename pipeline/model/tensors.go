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

import (
	"fmt"

	"github.com/m4sim/m4/bindings"
)

// Tensor is one named parameter tensor of the model's flat parameter array:
// values [Offset, Offset+Size), row-major Shape as PyTorch stores it; Decay
// marks the tensors m3 applies weight decay to (the transformer's 2-D
// weights).
type Tensor struct {
	Name   string
	Offset int
	Size   int
	Shape  []int
	Decay  bool
}

var layerParts = []string{"attention_norm.weight", "attention.wq.weight", "attention.wk.weight",
	"attention.wv.weight", "attention.wo.weight", "ffn_norm.weight",
	"feed_forward.w1.weight", "feed_forward.w2.weight", "feed_forward.w3.weight"}

// Tensors returns the parameter layout of a model of config c, in storage
// order; it is the same table native/model.c builds (checked by a test), so
// checkpoints can be read and written without the native library.
func Tensors(c bindings.ModelConfig) []Tensor {
	var ts []Tensor
	off := 0
	add := func(name string, decay bool, shape ...int) {
		n := 1
		for _, d := range shape {
			n *= d
		}
		ts = append(ts, Tensor{Name: name, Offset: off, Size: n, Shape: shape, Decay: decay})
		off += n
	}
	add("model_transformer.tok_embeddings.weight", true, c.Dim, c.FeatDim)
	add("model_transformer.tok_embeddings.bias", false, c.Dim)
	for l := 0; l < c.Layers; l++ {
		shapes := [][]int{{c.Dim}, {c.Dim, c.Dim}, {c.Dim, c.Dim}, {c.Dim, c.Dim}, {c.Dim, c.Dim},
			{c.Dim}, {c.Hidden, c.Dim}, {c.Dim, c.Hidden}, {c.Hidden, c.Dim}}
		for j, part := range layerParts {
			add(fmt.Sprintf("model_transformer.layers.%d.%s", l, part), len(shapes[j]) == 2, shapes[j]...)
		}
	}
	add("model_transformer.norm.weight", false, c.Dim)
	add("model_transformer.output.weight", true, c.Dim, c.Dim)
	ins := []int{c.FeatDim + c.Dim, c.MLPHidden1, c.MLPHidden2}
	outs := []int{c.MLPHidden1, c.MLPHidden2, c.OutDim}
	for j := range ins {
		add(fmt.Sprintf("model_mlp.%d.weight", 2*j), false, outs[j], ins[j])
		add(fmt.Sprintf("model_mlp.%d.bias", 2*j), false, outs[j])
	}
	add("const_tensor", false, c.Pct)
	return ts
}

// NumParams returns the number of parameters of a model of config c.
func NumParams(c bindings.ModelConfig) int {
	ts := Tensors(c)
	last := ts[len(ts)-1]
	return last.Offset + last.Size
}
