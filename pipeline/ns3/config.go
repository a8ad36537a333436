package ns3

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/m4sim/m4/pipeline/cc"
	"github.com/m4sim/m4/pipeline/features"
	"github.com/m4sim/m4/pipeline/pktsim"
)

// ModelConfig maps the fork config onto the configuration record the model
// reads, with the meaning m4's training data gives each field (the values
// m4 datagen would have drawn to write this config; docs/inputs.md):
//
//   - buffer_KB: BUFFER_SIZE, the shared buffer of every switch in KiB.
//   - window_B: FIXED_WIN when HAS_WIN is 1.
//   - pfc: ENABLE_PFC.
//   - the algorithm: CC_MODE 1 DCQCN, 3 HPCC, 7 TIMELY, 8 DCTCP.
//   - DCTCP K: the KMAX_MAP threshold at the host link rate R, in KB, scaled
//     to 10 Gbps (x 10/R); m4's generator writes K x R/10 there.
//   - DCQCN Kmin, Kmax: the KMIN_MAP and KMAX_MAP thresholds at R, in KB,
//     x 25/R (the generator writes K x R/25).
//   - HPCC eta and AI: U_TARGET and RATE_AI in Mb/s.
//   - TIMELY: TIMELY_T_LOW and TIMELY_T_HIGH in ns.
//
// Integer fields are rounded. An error names the config key that has no
// value the model can read.
func (r *Run) ModelConfig() (features.Config, error) {
	return ModelConfig(r.Config, r.HostGbps)
}

// ModelConfig is Run.ModelConfig for a config on a network whose host links
// run at hostGbps.
func ModelConfig(c *pktsim.Config, hostGbps float64) (features.Config, error) {
	src := c.Source
	if src == "" {
		src = "config"
	}
	algo, err := cc.FromMode(c.CCMode)
	if err != nil {
		return features.Config{}, fmt.Errorf("%s: %w", src, err)
	}
	win := int(c.FixedWin)
	if c.HasWin == 0 || c.FixedWin == 0 {
		// no window: as large as the model's inputs allow (out of the
		// trained range, which the range check reports)
		win = NoWindowBytes
	}
	out := features.DefaultConfig(algo, int(c.BufferSize), win, c.EnablePFC)
	rate := pktsim.Rate(math.Round(hostGbps * 1e9))
	at := func(key string, m []pktsim.KMapEntry) (float64, error) {
		for _, e := range m {
			if e.Rate == rate {
				return float64(e.KB), nil
			}
		}
		return 0, fmt.Errorf("%s: %s has no threshold for the host link rate %s (the fork then reads 0: every queued packet is marked)", src, key, rate)
	}
	switch algo {
	case cc.DCTCP:
		k, err := at("KMAX_MAP", c.KmaxMap)
		if err != nil {
			return out, err
		}
		out.DCTCPK = int(math.Round(k * 10 / hostGbps))
	case cc.DCQCN:
		kmin, err := at("KMIN_MAP", c.KminMap)
		if err != nil {
			return out, err
		}
		kmax, err := at("KMAX_MAP", c.KmaxMap)
		if err != nil {
			return out, err
		}
		out.DCQCNKmin, out.DCQCNKmax = int(math.Round(kmin*25/hostGbps)), int(math.Round(kmax*25/hostGbps))
	case cc.HPCC:
		out.HPCCUTarget = c.UTarget
		out.HPCCAI = int(math.Round(float64(c.RateAI) / 1e6))
	case cc.TIMELY:
		out.TimelyTLow, out.TimelyTHigh = int(c.TimelyTLow), int(c.TimelyTHigh)
	}
	out.CCName = out.ForkName()
	if err := out.Validate(); err != nil {
		return out, fmt.Errorf("%s: %w", src, err)
	}
	return out, nil
}

// NoWindowBytes stands for "no window" (HAS_WIN 0) in the model's inputs.
const NoWindowBytes = 1 << 20

// notModelled are config keys whose value the model does not need to have
// seen: file names, the stop time, monitors and traces, keys without effect
// in the fork, and the keys the model reads (ModelConfig).
var notModelled = map[string]bool{
	"TOPOLOGY_FILE": true, "FLOW_FILE": true, "FLOW_ON_PATH_FILE": true, "FLOW_PATH_MAP_FILE": true,
	"TRACE_FILE": true, "TRACE_OUTPUT_FILE": true, "FCT_OUTPUT_FILE": true, "PFC_OUTPUT_FILE": true,
	"QLEN_MON_FILE": true, "QLEN_MON_START": true, "QLEN_MON_END": true, "SIMULATOR_STOP_TIME": true,
	"ENABLE_TRACE": true, "ENABLE_QCN": true, "USE_DYNAMIC_PFC_THRESHOLD": true, "GLOBAL_T": true,
	"PINT_LOG_BASE": true, "PINT_PROB": true, "DATA_RATE": true, "LINK_DELAY": true,
	"BUFFER_SIZE": true, "FIXED_WIN": true, "ENABLE_PFC": true, "CC_MODE": true,
}

// Untrained lists the keys of c whose values differ from what m4's training
// data runs with m's configuration (the config m4 datagen writes for it on
// a network of hostGbps host links and fabricGbps switch-to-switch links, 0
// for 4x; pktsim.M3Config): settings the model never saw vary, such as
// another EWMA_GAIN, MIN_RATE or marking probability. Keys the model reads,
// and keys without effect, are not compared; for CC-specific keys only
// those of c's algorithm count. (The rates themselves are checked as the
// model sees them: infer.OutOfRange.)
func Untrained(c *pktsim.Config, m features.Config, hostGbps, fabricGbps float64) ([]features.OutOfRange, error) {
	tmpl, err := pktsim.M3Config(m, pktsim.M3Options{LinkGbps: int(math.Round(hostGbps)), FabricGbps: int(math.Round(fabricGbps)),
		BaseRTTNs: 14400, StopS: 4, QlenMonStartNs: 1})
	if err != nil {
		return nil, err
	}
	lines := func(c *pktsim.Config) map[string]string {
		out := map[string]string{}
		for _, l := range strings.Split(strings.TrimSpace(c.Format()), "\n") {
			k, v, _ := strings.Cut(l, " ")
			out[k] = v
		}
		return out
	}
	have, want := lines(c), lines(tmpl)
	keys := make([]string, 0, len(have))
	for k := range have {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	algo, _ := cc.FromMode(c.CCMode) // "" for an unknown mode: no CC-specific key counts
	var out []features.OutOfRange
	for _, k := range keys {
		if notModelled[k] || have[k] == want[k] || !ccKey(k, algo) {
			continue
		}
		out = append(out, features.OutOfRange{Name: k, Value: have[k], Range: want[k] + " (m4's training data)"})
	}
	return out, nil
}

// ccKey tells whether config key k matters under algorithm c (keys of the
// other algorithms are ignored by the fork).
func ccKey(k string, c cc.CC) bool {
	switch k {
	case "TIMELY_T_HIGH", "TIMELY_T_LOW", "TIMELY_BETA":
		return c == cc.TIMELY
	case "DCTCP_RATE_AI":
		return c == cc.DCTCP
	case "U_TARGET", "MI_THRESH", "INT_MULTI", "MULTI_RATE", "SAMPLE_FEEDBACK", "FAST_REACT":
		return c == cc.HPCC
	case "ALPHA_RESUME_INTERVAL", "RATE_DECREASE_INTERVAL", "CLAMP_TARGET_RATE", "RP_TIMER", "EWMA_GAIN",
		"FAST_RECOVERY_TIMES", "RATE_HAI":
		return c == cc.DCQCN || c == cc.DCTCP
	case "KMAX_MAP", "KMIN_MAP", "PMAX_MAP":
		// switches mark under every mode, but only DCQCN and DCTCP
		// senders react to the marks
		return c == cc.DCQCN || c == cc.DCTCP
	}
	return true
}
