package datagen

import (
	"fmt"
	"math/rand/v2"

	"github.com/m4sim/m4/pipeline/cc"
	"github.com/m4sim/m4/pipeline/features"
)

// SampleConfig draws a congestion-control configuration from c as the fork's
// run_m3.py does: buffer, window and PFC for every scenario, then one CC and
// its own parameters (the others keep run_m3.py's defaults). DCQCN always
// runs with PFC on. Integer parameters are truncated draws, as int() does.
func SampleConfig(rng *rand.Rand, c *ConfigSpec) (features.Config, error) {
	buf := int(c.draw(rng, "buffer_kb", c.BufferKB))
	win := int(c.draw(rng, "window_bytes", c.WindowBytes))
	pfc := c.PFC[rng.IntN(len(c.PFC))]
	algo, err := cc.Parse(string(c.CC[rng.IntN(len(c.CC))]))
	if err != nil {
		return features.Config{}, err
	}
	cfg := features.DefaultConfig(algo, buf, win, pfc)
	switch algo {
	case cc.DCTCP:
		cfg.DCTCPK = int(c.draw(rng, "dctcp_k", c.DCTCPK))
	case cc.DCQCN:
		cfg.DCQCNKmin = int(c.draw(rng, "dcqcn_kmin", c.DCQCNKmin))
		cfg.DCQCNKmax = int(c.draw(rng, "dcqcn_kmax", c.DCQCNKmax))
		cfg.PFC = true
	case cc.HPCC:
		cfg.HPCCUTarget = uniform(rng, c.HPCCUTarget)
		cfg.HPCCAI = int(c.draw(rng, "hpcc_ai", c.HPCCAI))
	case cc.TIMELY:
		cfg.TimelyTLow = int(c.draw(rng, "timely_t_low_ns", c.TimelyTLow))
		cfg.TimelyTHigh = int(c.draw(rng, "timely_t_high_ns", c.TimelyTHigh))
	}
	cfg.CCName = cfg.ForkName()
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("sampled configuration: %w", err)
	}
	return cfg, nil
}
