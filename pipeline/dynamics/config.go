package dynamics

import (
	"fmt"

	"github.com/m4sim/m4/pipeline/features"
)

// NumConfigFeatures is how many configuration values ConfigFeatures gives,
// the model's NParams in m4's pipeline.
const NumConfigFeatures = 15

// configScale brings each of ConfigFeatures' values near [0, 1]: the m4-path-v2
// parameter block (features.ParamsFor) less its path-shape entries, whose
// log2 sizes are divided by 16 and HPCC's eta (x100) and TIMELY's thresholds
// (us) by 100.
var configScale = [NumConfigFeatures]float64{
	1.0 / 16, 1.0 / 16, // log2 buffer KB, log2 window B
	1, 1, // pfc, 1 - pfc
	1, 1, 1, 1, // one-hot dctcp dcqcn hpcc timely
	1.0 / 16, 1.0 / 16, 1.0 / 16, // log2 dctcp K, dcqcn Kmin, Kmax
	1.0 / 100, 1.0 / 16, // hpcc eta x100, log2 AI
	1.0 / 100, 1.0 / 100, // timely T_low, T_high (us)
}

// ConfigFeatures encodes a workload's configuration (congestion control and
// its parameters, buffer, window, PFC) as the model's NParams values: the
// m4-path-v2 encoding's configuration entries (features.ParamsFor with
// network = true; its entries 4..18), scaled by configScale.
func ConfigFeatures(c features.Config) ([]float32, error) {
	v := c.Vector()
	p, err := features.ParamsFor(features.V2, 3, true, 0, v[:])
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	const skip = features.NumParams - NumConfigFeatures // H==3, H==5, H==7, network
	out := make([]float32, NumConfigFeatures)
	for i := range out {
		out[i] = float32(p[skip+i] * configScale[i])
	}
	return out, nil
}
