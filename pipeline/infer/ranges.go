package infer

import (
	"fmt"
	"slices"

	"github.com/m4sim/m4/pipeline/features"
	"github.com/m4sim/m4/pipeline/model"
	"github.com/m4sim/m4/pipeline/pathfeat"
	"github.com/m4sim/m4/pipeline/workload"
)

// scaledKeys are the configuration values that the rate normalisation of
// a faster network divides (features.Config.Normalized).
var scaledKeys = []string{"buffer_kb", "window_bytes", "hpcc_ai"}

// OutOfRange lists the inputs of workload w under cfg outside ck's trained
// ranges as the model sees them (on network paths). On host links faster
// than 10 Gbps the model sees each path rate-normalised
// (pathfeat.RateScale): the buffer, window and HPCC additive increase are
// checked divided by the scale, and the host link rate itself is listed,
// since the checkpoint was trained on 10 Gbps hosts only; so is a fabric
// whose links do not run at 4x the host links.
func OutOfRange(ck *model.Checkpoint, w *workload.Workload, cfg features.Config) []features.OutOfRange {
	k, ratio, err := pathfeat.TopologyScale(w.Topo)
	trained := pathfeat.TrainedRatio()
	if err != nil || (k == 1 && ratio == trained) {
		return ck.OutOfRange(cfg, true) // a topology m4 cannot normalise fails in Run, naming the link
	}
	out := ck.OutOfRange(cfg.Normalized(k), true)
	for i, o := range out {
		if slices.Contains(scaledKeys, o.Name) {
			out[i].Value = fmt.Sprintf("%s (the given value / %g: the model sees the network at 10 Gbps hosts)", o.Value, k)
		}
	}
	if ck.Training == nil || ck.Training.Ranges == nil {
		return out
	}
	if k != 1 {
		out = append(out, features.OutOfRange{Name: "host link rate", Value: fmt.Sprintf("%g Gbps", 10*k),
			Range: "10 Gbps (estimated on the rate-normalised 10 Gbps network; docs/inputs.md, \"Link rates\")"})
	}
	if ratio != trained {
		out = append(out, features.OutOfRange{Name: "fabric/host link rate ratio", Value: fmt.Sprintf("%g (%g / %g Gbps)", ratio, 10*k*ratio, 10*k),
			Range: fmt.Sprintf("%g (the training paths' fabric/host ratio; flowsim runs at the network's ratio, the model corrects it as if it were %g)", trained, trained)})
	}
	return out
}
