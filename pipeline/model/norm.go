package model

import (
	"fmt"
	"math"
)

// InputNorm is a per-column affine map applied to every feature row before
// the model reads it: x[j] = (x[j] - Shift[j]) * Scale[j] (then empty buckets
// are filled with const_tensor). m4 trains with one to condition the
// optimisation; m3's models have none. In the slowdown cells the map depends
// only on the percentile index (the same for every bucket), which is what lets
// FoldInputNorm fold it into the weights.
type InputNorm struct {
	Shift, Scale []float32
}

// Check reports the first bad value for a model of feat_dim values per row.
func (n *InputNorm) Check(featDim int) error {
	if len(n.Shift) != featDim || len(n.Scale) != featDim {
		return fmt.Errorf("input normalisation of %d and %d values, want %d", len(n.Shift), len(n.Scale), featDim)
	}
	for j := range n.Shift {
		s, k := float64(n.Shift[j]), float64(n.Scale[j])
		if math.IsNaN(s) || math.IsInf(s, 0) || math.IsNaN(k) || math.IsInf(k, 0) || k == 0 {
			return fmt.Errorf("input normalisation: column %d: shift %g, scale %g (want finite, scale != 0)", j, s, k)
		}
	}
	return nil
}

// ComputeInputNorm standardises the columns of rows (each featDim values;
// empty[r*buckets+b] marks bucket b of row r as empty): in the slowdown cells
// (buckets x pct) one mean and one standard deviation per percentile index
// over every non-empty cell, in the other columns one per column. A column
// that never varies keeps scale 1.
func ComputeInputNorm(featDim, buckets, pct int, rows [][]float32, empty [][]uint8) *InputNorm {
	n := &InputNorm{Shift: make([]float32, featDim), Scale: make([]float32, featDim)}
	sum := make([]float64, featDim)
	sq := make([]float64, featDim)
	cnt := make([]float64, featDim)
	cells := buckets * pct
	for i, row := range rows {
		nr := len(row) / featDim
		for r := 0; r < nr; r++ {
			x := row[r*featDim : (r+1)*featDim]
			for j, v := range x {
				col := j
				if j < cells {
					if empty != nil && empty[i][r*buckets+j/pct] != 0 {
						continue
					}
					col = j % pct
				}
				sum[col] += float64(v)
				sq[col] += float64(v) * float64(v)
				cnt[col]++
			}
		}
	}
	for j := 0; j < featDim; j++ {
		col := j
		if j < cells {
			col = j % pct
		}
		n.Scale[j] = 1
		if cnt[col] == 0 {
			continue
		}
		mean := sum[col] / cnt[col]
		sd := math.Sqrt(math.Max(sq[col]/cnt[col]-mean*mean, 0))
		n.Shift[j] = float32(mean)
		if sd > 1e-6 {
			n.Scale[j] = float32(1 / sd)
		}
	}
	return n
}

// FoldInputNorm returns a checkpoint without input normalisation that
// computes the same function (to float rounding): the scales multiply the
// columns of the two linear layers that read feature rows, the shifts move
// into their biases, and the empty-bucket vector moves into raw units. It
// fails if the cell columns' map depends on more than the percentile index.
func FoldInputNorm(ck *Checkpoint) (*Checkpoint, error) {
	if ck.InputNorm == nil {
		return ck, nil
	}
	c := ck.Config
	nrm := ck.InputNorm
	if err := nrm.Check(c.FeatDim); err != nil {
		return nil, err
	}
	cells := c.BucketsIn * c.Pct
	for j := c.Pct; j < cells; j++ {
		if nrm.Shift[j] != nrm.Shift[j%c.Pct] || nrm.Scale[j] != nrm.Scale[j%c.Pct] {
			return nil, fmt.Errorf("input normalisation: column %d differs from column %d: the map must depend only on the percentile index to fold", j, j%c.Pct)
		}
	}
	out := &Checkpoint{Config: c, Params: append([]float32(nil), ck.Params...), Features: ck.Features, Training: ck.Training}
	out.Features.Normalisation = ck.Features.Normalisation + "; training-time input standardisation folded into tok_embeddings, model_mlp.0 and const_tensor"
	ts, err := Tensors(c)
	if err != nil {
		return nil, fmt.Errorf("input normalisation: %w", err)
	}
	by := map[string]Tensor{}
	for _, t := range ts {
		by[t.Name] = t
	}
	fold := func(wName, bName string, inDim int) {
		w, b := by[wName], by[bName]
		rows := w.Shape[0]
		for r := 0; r < rows; r++ {
			acc := 0.0
			for j := 0; j < c.FeatDim; j++ {
				v := out.Params[w.Offset+r*inDim+j] * nrm.Scale[j]
				out.Params[w.Offset+r*inDim+j] = v
				acc += float64(v) * float64(nrm.Shift[j])
			}
			out.Params[b.Offset+r] -= float32(acc)
		}
	}
	fold("model_transformer.tok_embeddings.weight", "model_transformer.tok_embeddings.bias", c.FeatDim)
	fold("model_mlp.0.weight", "model_mlp.0.bias", c.FeatDim+c.Dim)
	cv := by["const_tensor"]
	for i := 0; i < c.Pct; i++ {
		out.Params[cv.Offset+i] = nrm.Shift[i] + out.Params[cv.Offset+i]/nrm.Scale[i]
	}
	return out, nil
}
