package model

import (
	"fmt"
	"slices"
)

// UpgradeToV3 returns ck, a checkpoint of the m4-path-v2 features, as one of
// m4-path-v3 that computes the same function (to float rounding) whatever
// the new input holds: v3 puts the path's foreground flows where v2 has
// 1-pfc, which pfc's column already says. The new column reads its input
// standardised by (x - shift) * scale and starts with zero weights, so
// fine-tuning (m4 train --init) learns what it adds.
func UpgradeToV3(ck *Checkpoint, shift, scale float32) (*Checkpoint, error) {
	if ck.Features.Name != M4Features().Name {
		return nil, fmt.Errorf("upgrade to %s: the checkpoint reads %q features, want %s", M4FeaturesV3().Name, ck.Features.Name, M4Features().Name)
	}
	cells := ck.Config.BucketsIn * ck.Config.Pct
	out, err := ReuseComplement(ck, cells+6, cells+7, shift, scale)
	if err != nil {
		return nil, fmt.Errorf("upgrade to %s: %w", M4FeaturesV3().Name, err)
	}
	norm := ck.Features.Normalisation
	out.Features = M4FeaturesV3()
	if i := len(M4Features().Normalisation); len(norm) > i && norm[:i] == M4Features().Normalisation {
		out.Features.Normalisation += norm[i:] // the standardisation's words
	}
	return out, nil
}

// ReuseComplement returns a copy of ck in which input column drop, which
// held 1 - column keep, is free for a new input: drop's weights move into
// keep's and the biases of the two linear layers that read feature rows,
// drop's weights become 0, and drop's standardisation becomes (shift,
// scale). Fed rows whose keep column is as before, the copy computes what
// ck computed on rows whose drop column held 1 - keep. The AdamW state and
// parameter average are not carried over.
func ReuseComplement(ck *Checkpoint, keep, drop int, shift, scale float32) (*Checkpoint, error) {
	c := ck.Config
	cells := c.BucketsIn * c.Pct
	if keep == drop || min(keep, drop) < cells || max(keep, drop) >= c.FeatDim {
		return nil, fmt.Errorf("columns %d and %d: want two parameter columns in [%d, %d)", keep, drop, cells, c.FeatDim)
	}
	if scale == 0 {
		return nil, fmt.Errorf("column %d: scale 0", drop)
	}
	out := &Checkpoint{Config: c, Params: slices.Clone(ck.Params), Features: ck.Features, Training: ck.Training,
		Calibration: ck.Calibration}
	nrm := &InputNorm{Shift: make([]float32, c.FeatDim), Scale: make([]float32, c.FeatDim)}
	for j := range nrm.Scale {
		nrm.Scale[j] = 1
	}
	if ck.InputNorm != nil {
		if err := ck.InputNorm.Check(c.FeatDim); err != nil {
			return nil, err
		}
		copy(nrm.Shift, ck.InputNorm.Shift)
		copy(nrm.Scale, ck.InputNorm.Scale)
	}
	ts, err := Tensors(c)
	if err != nil {
		return nil, err
	}
	by := map[string]Tensor{}
	for _, t := range ts {
		by[t.Name] = t
	}
	// per output r: w_k c_k (x - s_k) + w_d c_d ((1 - x) - s_d)
	//             = (w_k - w_d c_d / c_k) c_k (x - s_k) + w_d c_d (1 - s_k - s_d)
	sk, ck_, sd, cd := float64(nrm.Shift[keep]), float64(nrm.Scale[keep]), float64(nrm.Shift[drop]), float64(nrm.Scale[drop])
	move := func(wName, bName string, inDim int) {
		w, b := by[wName], by[bName]
		for r := 0; r < w.Shape[0]; r++ {
			wk, wd := &out.Params[w.Offset+r*inDim+keep], &out.Params[w.Offset+r*inDim+drop]
			d := float64(*wd)
			*wk = float32(float64(*wk) - d*cd/ck_)
			out.Params[b.Offset+r] += float32(d * cd * (1 - sk - sd))
			*wd = 0
		}
	}
	move("model_transformer.tok_embeddings.weight", "model_transformer.tok_embeddings.bias", c.FeatDim)
	move("model_mlp.0.weight", "model_mlp.0.bias", c.FeatDim+c.Dim)
	nrm.Shift[drop], nrm.Scale[drop] = shift, scale
	out.InputNorm = nrm
	return out, nil
}
