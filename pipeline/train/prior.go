package train

import (
	"fmt"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/pipeline/model"
)

// outputBucketInputs maps each output size bucket of m3's features to the
// input buckets that partition it (input edges 250..50000 bytes, output
// edges 1000, 10000, 50000): output bucket 2 is input bucket 8 and output
// bucket 3 is input bucket 9 exactly.
var outputBucketInputs = [][]int{{0, 1, 2, 3}, {4, 5, 6, 7}, {8}, {9}}

// flowsimPrior rewrites the MLP of params (a model of config c, reading
// inputs through norm, nil for none) so that the model starts out answering
// with flowsim's own percentiles: output (bucket b, percentile p) = the mean
// of row 0's input buckets that make up b at percentile p. The first
// OutDim hidden units of both MLP layers carry these values (they are >= 1,
// so the ReLUs pass them), the output layer reads them with weight 1 and
// bias -1 (the model adds 1), every other unit keeps its random
// initialisation but starts disconnected from the output, and empty buckets
// read as slowdown 1. Training then learns the correction to flowsim rather
// than the whole answer.
func flowsimPrior(c bindings.ModelConfig, params []float32, norm *model.InputNorm) error {
	if c.MLPHidden1 < c.OutDim || c.MLPHidden2 < c.OutDim {
		return fmt.Errorf("train: the flowsim prior needs MLP hidden widths >= %d outputs (have %d, %d)", c.OutDim, c.MLPHidden1, c.MLPHidden2)
	}
	if c.BucketsIn != 10 || c.OutDim != len(outputBucketInputs)*c.Pct {
		return fmt.Errorf("train: the flowsim prior needs m3's buckets (10 in, 4 out), not %d in, %d outputs of %d", c.BucketsIn, c.OutDim, c.Pct)
	}
	ts, err := model.Tensors(c)
	if err != nil {
		return fmt.Errorf("train: the flowsim prior: %w", err)
	}
	by := map[string]model.Tensor{}
	for _, t := range ts {
		by[t.Name] = t
	}
	w0, b0 := by["model_mlp.0.weight"], by["model_mlp.0.bias"]
	w1, b1 := by["model_mlp.2.weight"], by["model_mlp.2.bias"]
	w2, b2 := by["model_mlp.4.weight"], by["model_mlp.4.bias"]
	in0 := c.FeatDim + c.Dim
	for u := 0; u < c.OutDim; u++ {
		row := params[w0.Offset+u*in0 : w0.Offset+(u+1)*in0]
		clear(row)
		ob, p := u/c.Pct, u%c.Pct
		ibs := outputBucketInputs[ob]
		bias := 0.0
		for _, ib := range ibs {
			j := ib*c.Pct + p
			// the model sees x' = (x - shift) * scale: x = x'/scale + shift
			w, s := float32(1), float32(0)
			if norm != nil {
				w, s = 1/norm.Scale[j], norm.Shift[j]
			}
			row[j] = w / float32(len(ibs))
			bias += float64(s) / float64(len(ibs))
		}
		params[b0.Offset+u] = float32(bias)
	}
	// an empty bucket reads as slowdown 1 (no flows, no queueing): of the
	// fillers tried on ns3-paths it keeps this average closest to flowsim's
	cv := by["const_tensor"]
	for p := 0; p < c.Pct; p++ {
		v := float32(1)
		if norm != nil {
			v = (1 - norm.Shift[p]) * norm.Scale[p]
		}
		params[cv.Offset+p] = v
	}
	for u := 0; u < c.OutDim; u++ {
		row := params[w1.Offset+u*c.MLPHidden1 : w1.Offset+(u+1)*c.MLPHidden1]
		clear(row)
		row[u] = 1
		params[b1.Offset+u] = 0
	}
	for o := 0; o < c.OutDim; o++ {
		row := params[w2.Offset+o*c.MLPHidden2 : w2.Offset+(o+1)*c.MLPHidden2]
		clear(row)
		row[o] = 1
		params[b2.Offset+o] = -1
	}
	return nil
}
