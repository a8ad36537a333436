package datagen

import (
	"fmt"
	"math/rand/v2"
	"strings"

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

// NS3Options are the parts of an ns-3 config that are not the sampled
// configuration.
type NS3Options struct {
	Hosts     int
	LinkGbps  int
	BaseRTTNs int
	// StopS is SIMULATOR_STOP_TIME, seconds: the fork uses the flow file's
	// end time (last arrival + last gap + 1 s) + 2, truncated.
	StopS int
	// QlenMonStartNs is QLEN_MON_START; the fork's default 1000000000 turns on
	// a queue monitor that only costs time, the reference ns3-paths use
	// 100000000000 (off).
	QlenMonStartNs int64
}

// ccKnobs are the per-CC constants run_m3.py puts in the config (CC_MODE
// is c.CC.Mode()).
type ccKnobs struct {
	tAlpha, tDec, tInc    int
	g                     string // EWMA_GAIN
	ai, hai               string // Mb/s, as Python prints them
	dctcpAI               int
	hasWin, vWin, fastRct int
	intMulti              string
	ackPrio               int
}

func knobs(c features.Config, bw int) ccKnobs {
	fbw := float64(bw)
	switch c.CC {
	case cc.DCQCN: // dcqcn_paper_vwin
		return ccKnobs{50, 50, 55, "0.00390625", features.PyFloat(5 * fbw / 25), features.PyFloat(50 * fbw / 25), 1000, 1, 1, 0, "1", 0}
	case cc.HPCC:
		multi := "1" // Python's max(bw / 25, 1)
		if fbw/25 > 1 {
			multi = features.PyFloat(fbw / 25)
		}
		ai := fmt.Sprint(c.HPCCAI)
		return ccKnobs{1, 4, 300, "0.00390625", ai, ai, 1000, 1, 1, 1, multi, 0}
	case cc.DCTCP:
		return ccKnobs{1, 4, 300, "0.0625", "10", "10", 615, 1, 1, 0, "1", 1}
	default: // timely_vwin
		return ccKnobs{1, 4, 300, "0.00390625", features.PyFloat(10 * fbw / 10), features.PyFloat(50 * fbw / 10), 1000, 1, 1, 0, "1", 1}
	}
}

// NS3Config returns the ns-3 config file of a scenario, line for line what
// the fork's run_m3.py writes, with file paths shortened to file names (as in
// the reference ns3-paths). The packet-level simulator reads it.
func NS3Config(c features.Config, o NS3Options) string {
	bw := o.LinkGbps
	k := knobs(c, bw)
	topo := fmt.Sprintf("topo-pl-%d", o.Hosts)
	spec := fmt.Sprintf("_s%d", c.Sample)
	kmax := fmt.Sprintf("2 %d %d %d %d", bw*1000000000, c.DCQCNKmax*bw/25, bw*4*1000000000, c.DCQCNKmax*bw*4/25)
	kmin := fmt.Sprintf("2 %d %d %d %d", bw*1000000000, c.DCQCNKmin*bw/25, bw*4*1000000000, c.DCQCNKmin*bw*4/25)
	pmax := fmt.Sprintf("2 %d %.2f %d %.2f", bw*1000000000, 0.2, bw*4*1000000000, 0.2)
	if c.CC == cc.DCTCP {
		kmax = fmt.Sprintf("2 %d %d %d %d", bw*1000000000, c.DCTCPK*bw/10, bw*4*1000000000, c.DCTCPK*bw*4/10)
		kmin = kmax
		pmax = fmt.Sprintf("2 %d %.2f %d %.2f", bw*1000000000, 1.0, bw*4*1000000000, 1.0)
	}
	pfc := 0
	if c.PFC {
		pfc = 1
	}
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	w("ENABLE_QCN 1")
	w("ENABLE_PFC %d", pfc)
	w("USE_DYNAMIC_PFC_THRESHOLD 1")
	w("")
	w("PACKET_PAYLOAD_SIZE 1000")
	w("")
	w("TOPOLOGY_FILE %s.txt", topo)
	w("FLOW_FILE flows.txt")
	w("FLOW_ON_PATH_FILE flows_on_path.txt")
	w("FLOW_PATH_MAP_FILE flows_path_map.txt")
	w("TRACE_FILE %s.txt", strings.Replace(topo, "topo", "trace", 1))
	w("TRACE_OUTPUT_FILE mix_%s%s.tr", topo, spec)
	w("FCT_OUTPUT_FILE fct_%s%s.txt", topo, spec)
	w("PFC_OUTPUT_FILE pfc_%s%s.txt", topo, spec)
	w("")
	w("SIMULATOR_STOP_TIME %d", o.StopS)
	w("")
	w("CC_MODE %d", c.CC.Mode())
	w("ALPHA_RESUME_INTERVAL %d", k.tAlpha)
	w("RATE_DECREASE_INTERVAL %d", k.tDec)
	w("CLAMP_TARGET_RATE 0")
	w("RP_TIMER %d", k.tInc)
	w("EWMA_GAIN %s", k.g)
	w("FAST_RECOVERY_TIMES 1")
	w("RATE_AI %sMb/s", k.ai)
	w("RATE_HAI %sMb/s", k.hai)
	w("MIN_RATE 1000Mb/s")
	w("MAX_RATE 10000Mb/s")
	w("DCTCP_RATE_AI %dMb/s", k.dctcpAI)
	w("TIMELY_T_HIGH %d", c.TimelyTHigh)
	w("TIMELY_T_LOW %d", c.TimelyTLow)
	w("TIMELY_BETA 0.8")
	w("")
	w("ERROR_RATE_PER_LINK 0.0000")
	w("L2_CHUNK_SIZE 4000")
	w("L2_ACK_INTERVAL 1")
	w("L2_BACK_TO_ZERO 0")
	w("")
	w("HAS_WIN %d", k.hasWin)
	w("GLOBAL_T 1")
	w("VAR_WIN %d", k.vWin)
	w("FAST_REACT %d", k.fastRct)
	w("U_TARGET %s", features.PyFloat(c.HPCCUTarget))
	w("MI_THRESH 0")
	w("INT_MULTI %s", k.intMulti)
	w("MULTI_RATE 0")
	w("SAMPLE_FEEDBACK 0")
	w("PINT_LOG_BASE 1.05")
	w("PINT_PROB 1.0")
	w("")
	w("RATE_BOUND 1")
	w("")
	w("ACK_HIGH_PRIO %d", k.ackPrio)
	w("")
	w("LINK_DOWN 0 0 0")
	w("")
	w("ENABLE_TRACE 0")
	w("")
	w("KMAX_MAP %s", kmax)
	w("KMIN_MAP %s", kmin)
	w("PMAX_MAP %s", pmax)
	w("BUFFER_SIZE %d", c.BufferKB)
	w("QLEN_MON_FILE qlen_%s%s.txt", topo, spec)
	w("QLEN_MON_START %d", o.QlenMonStartNs)
	w("QLEN_MON_END 3000000000")
	w("")
	w("FIXED_WIN %d", c.WindowBytes)
	w("BASE_RTT %d", o.BaseRTTNs)
	return b.String()
}
