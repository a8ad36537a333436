package bindings

import "fmt"

// ModelConfig is the shape of m3's estimator (m4_model_config in m4.h).
// libm4 owns its defaults (DefaultModelConfig) and ranges (Validate).
//
// Per path scenario with H hosts the model reads H feature rows of FeatDim
// values: BucketsIn x Pct slowdown percentiles, then the configuration
// parameters. A Llama-style transformer (Dim wide, Layers blocks of Heads-head
// causal attention and a SwiGLU FFN of width Hidden) reads rows 1..H-1; the
// mean of its outputs and row 0 feed an MLP (MLPHidden1, MLPHidden2, ReLU) to
// OutDim outputs; the estimate is output + 1.
type ModelConfig struct {
	FeatDim    int     // values per input row (1019)
	BucketsIn  int     // size buckets per input row (10)
	Pct        int     // percentiles per bucket (100)
	Dim        int     // transformer width (576)
	Layers     int     // transformer blocks (4)
	Heads      int     // attention heads (4)
	Hidden     int     // SwiGLU hidden width (1536)
	MaxSeq     int     // most transformer positions, H-1 (16)
	MLPHidden1 int     // MLP hidden widths (512, 512)
	MLPHidden2 int     //
	OutDim     int     // outputs (400)
	NormEps    float32 // RMSNorm epsilon (1e-5)
	RopeTheta  float32 // RoPE base (10000)
	Dropout    float32 // dropout inside the transformer when training (0.2)
}

// SameModel reports whether c and o describe the same model: equal but for
// Dropout, which acts in training only (a fine-tuning run may change it, and
// the parameters of one serve the other).
func (c ModelConfig) SameModel(o ModelConfig) bool {
	c.Dropout = o.Dropout
	return c == o
}

// CheckBatch checks a forward batch's slices against c (the layout Forward
// documents: nRows[b] = H of scenario b, feat and empty per row, out per
// scenario); the CPU and GPU models both run it before calling C.
func (c ModelConfig) CheckBatch(nRows []int32, feat []float32, empty []uint8, out []float32) error {
	b := len(nRows)
	if b == 0 {
		return fmt.Errorf("empty batch")
	}
	rows := 0
	for _, h := range nRows {
		rows += int(h)
	}
	if len(feat) != rows*c.FeatDim {
		return fmt.Errorf("%d feature values for %d rows of %d", len(feat), rows, c.FeatDim)
	}
	if empty != nil && len(empty) != rows*c.BucketsIn {
		return fmt.Errorf("%d empty flags for %d rows of %d buckets", len(empty), rows, c.BucketsIn)
	}
	if len(out) != b*c.OutDim {
		return fmt.Errorf("output of %d values for %d scenarios of %d", len(out), b, c.OutDim)
	}
	return nil
}

// TensorInfo describes one named parameter tensor: Params()[Offset :
// Offset+Size], row-major Shape as PyTorch stores it, Decay if m3 applies
// weight decay to it.
type TensorInfo struct {
	Name         string
	Offset, Size int
	Shape        []int
	Decay        bool
}
