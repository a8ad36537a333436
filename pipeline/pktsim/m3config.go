package pktsim

import (
	"fmt"
	"strings"

	"github.com/m4sim/m4/pipeline/cc"
	"github.com/m4sim/m4/pipeline/features"
)

// M3Options are the parts of the fork config m3's generator (run_m3.py)
// writes that are not a configuration record (features.Config): the
// network's link rate and base RTT, the stop time, the queue monitor.
type M3Options struct {
	// Hosts names the parking lot topo-pl-Hosts in the config's file keys
	// (TOPOLOGY_FILE, FCT_OUTPUT_FILE, ...). 0 leaves the file keys out: a
	// config for a network and flows given in memory names no files.
	Hosts    int
	LinkGbps int // host link rate; the ECN maps cover it and FabricGbps
	// FabricGbps is the switch-to-switch link rate (0: 4 x LinkGbps, as
	// in m3's parking lots and fabrics).
	FabricGbps int
	BaseRTTNs  int
	// StopS is SIMULATOR_STOP_TIME, seconds: the fork uses the flow file's
	// end time (last arrival + last gap + 1 s) + 2, truncated.
	StopS int
	// QlenMonStartNs is QLEN_MON_START; the fork's default 1000000000 turns on
	// a queue monitor that only costs time, the reference ns3-paths use
	// 100000000000 (off).
	QlenMonStartNs int64
}

// M3Config returns the fork config of configuration c: the keys and values
// of M3ConfigText, set one by one as ParseConfig sets a file's lines, so
// that simulating it is simulating the file m3's generator writes.
func M3Config(c features.Config, o M3Options) (*Config, error) {
	out := DefaultConfig()
	out.Source = fmt.Sprintf("m3 config of %s", c.ForkName())
	for _, kv := range m3Lines(c, o) {
		if kv[0] == "" {
			continue
		}
		if err := out.set(kv[0], strings.Fields(kv[1])); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", out.Source, kv[0], err)
		}
	}
	return &out, nil
}

// M3ConfigText returns the config file of configuration c, line for line
// what the fork's run_m3.py writes, with file paths shortened to file names
// (as in the reference ns3-paths).
func M3ConfigText(c features.Config, o M3Options) string {
	var b strings.Builder
	for _, kv := range m3Lines(c, o) {
		if kv[0] != "" {
			b.WriteString(kv[0])
			b.WriteByte(' ')
			b.WriteString(kv[1])
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// m3Knobs are the per-CC constants run_m3.py puts in the config (CC_MODE
// is c.CC.Mode()).
type m3Knobs struct {
	tAlpha, tDec, tInc    int
	g                     string // EWMA_GAIN
	ai, hai               string // Mb/s, as Python prints them
	dctcpAI               int
	hasWin, vWin, fastRct int
	intMulti              string
	ackPrio               int
}

func knobs(c features.Config, bw int) m3Knobs {
	fbw := float64(bw)
	switch c.CC {
	case cc.DCQCN: // dcqcn_paper_vwin
		return m3Knobs{50, 50, 55, "0.00390625", features.PyFloat(5 * fbw / 25), features.PyFloat(50 * fbw / 25), 1000, 1, 1, 0, "1", 0}
	case cc.HPCC:
		// run_m3.py's max(bw / 25, 1), in whole hops as the fork reads
		// INT_MULTI (an unsigned integer): 4 at 100 Gbps
		multi := fmt.Sprint(max(bw/25, 1))
		ai := fmt.Sprint(c.HPCCAI)
		return m3Knobs{1, 4, 300, "0.00390625", ai, ai, 1000, 1, 1, 1, multi, 0}
	case cc.DCTCP:
		return m3Knobs{1, 4, 300, "0.0625", "10", "10", 615, 1, 1, 0, "1", 1}
	default: // timely_vwin
		return m3Knobs{1, 4, 300, "0.00390625", features.PyFloat(10 * fbw / 10), features.PyFloat(50 * fbw / 10), 1000, 1, 1, 0, "1", 1}
	}
}

// m3Lines are the lines of run_m3.py's config for c as key and value text,
// in the file's order; a blank line has key "". The file keys are left out
// when o.Hosts is 0.
func m3Lines(c features.Config, o M3Options) [][2]string {
	bw := o.LinkGbps
	k := knobs(c, bw)
	topo := fmt.Sprintf("topo-pl-%d", o.Hosts)
	spec := fmt.Sprintf("_s%d", c.Sample)
	fb := o.FabricGbps
	if fb == 0 {
		fb = 4 * bw
	}
	// an ECN map: per link rate r (the host rate, then the fabric rate)
	// the value f(r); one entry when the two rates are the same
	ecn := func(f func(r int) string) string {
		if fb == bw {
			return fmt.Sprintf("1 %d %s", bw*1000000000, f(bw))
		}
		return fmt.Sprintf("2 %d %s %d %s", bw*1000000000, f(bw), fb*1000000000, f(fb))
	}
	kmax := ecn(func(r int) string { return fmt.Sprint(c.DCQCNKmax * r / 25) })
	kmin := ecn(func(r int) string { return fmt.Sprint(c.DCQCNKmin * r / 25) })
	pmax := ecn(func(int) string { return "0.20" })
	if c.CC == cc.DCTCP {
		kmax = ecn(func(r int) string { return fmt.Sprint(c.DCTCPK * r / 10) })
		kmin = kmax
		pmax = ecn(func(int) string { return "1.00" })
	}
	pfc := 0
	if c.PFC {
		pfc = 1
	}
	var out [][2]string
	w := func(key, format string, a ...any) { out = append(out, [2]string{key, fmt.Sprintf(format, a...)}) }
	blank := func() { out = append(out, [2]string{}) }
	file := func(key, format string, a ...any) {
		if o.Hosts != 0 {
			w(key, format, a...)
		}
	}
	w("ENABLE_QCN", "1")
	w("ENABLE_PFC", "%d", pfc)
	w("USE_DYNAMIC_PFC_THRESHOLD", "1")
	blank()
	w("PACKET_PAYLOAD_SIZE", "1000")
	blank()
	file("TOPOLOGY_FILE", "%s.txt", topo)
	file("FLOW_FILE", "flows.txt")
	file("FLOW_ON_PATH_FILE", "flows_on_path.txt")
	file("FLOW_PATH_MAP_FILE", "flows_path_map.txt")
	file("TRACE_FILE", "%s.txt", strings.Replace(topo, "topo", "trace", 1))
	file("TRACE_OUTPUT_FILE", "mix_%s%s.tr", topo, spec)
	file("FCT_OUTPUT_FILE", "fct_%s%s.txt", topo, spec)
	file("PFC_OUTPUT_FILE", "pfc_%s%s.txt", topo, spec)
	blank()
	w("SIMULATOR_STOP_TIME", "%d", o.StopS)
	blank()
	w("CC_MODE", "%d", c.CC.Mode())
	w("ALPHA_RESUME_INTERVAL", "%d", k.tAlpha)
	w("RATE_DECREASE_INTERVAL", "%d", k.tDec)
	w("CLAMP_TARGET_RATE", "0")
	w("RP_TIMER", "%d", k.tInc)
	w("EWMA_GAIN", "%s", k.g)
	w("FAST_RECOVERY_TIMES", "1")
	w("RATE_AI", "%sMb/s", k.ai)
	w("RATE_HAI", "%sMb/s", k.hai)
	w("MIN_RATE", "1000Mb/s")
	w("MAX_RATE", "%dMb/s", bw*1000) // run_m3.py's 10 Gbps: the host line rate, so a faster NIC is not capped
	w("DCTCP_RATE_AI", "%dMb/s", k.dctcpAI)
	w("TIMELY_T_HIGH", "%d", c.TimelyTHigh)
	w("TIMELY_T_LOW", "%d", c.TimelyTLow)
	w("TIMELY_BETA", "0.8")
	blank()
	w("ERROR_RATE_PER_LINK", "0.0000")
	w("L2_CHUNK_SIZE", "4000")
	w("L2_ACK_INTERVAL", "1")
	w("L2_BACK_TO_ZERO", "0")
	blank()
	w("HAS_WIN", "%d", k.hasWin)
	w("GLOBAL_T", "1")
	w("VAR_WIN", "%d", k.vWin)
	w("FAST_REACT", "%d", k.fastRct)
	w("U_TARGET", "%s", features.PyFloat(c.HPCCUTarget))
	w("MI_THRESH", "0")
	w("INT_MULTI", "%s", k.intMulti)
	w("MULTI_RATE", "0")
	w("SAMPLE_FEEDBACK", "0")
	w("PINT_LOG_BASE", "1.05")
	w("PINT_PROB", "1.0")
	blank()
	w("RATE_BOUND", "1")
	blank()
	w("ACK_HIGH_PRIO", "%d", k.ackPrio)
	blank()
	w("LINK_DOWN", "0 0 0")
	blank()
	w("ENABLE_TRACE", "0")
	blank()
	w("KMAX_MAP", "%s", kmax)
	w("KMIN_MAP", "%s", kmin)
	w("PMAX_MAP", "%s", pmax)
	w("BUFFER_SIZE", "%d", c.BufferKB)
	file("QLEN_MON_FILE", "qlen_%s%s.txt", topo, spec)
	w("QLEN_MON_START", "%d", o.QlenMonStartNs)
	w("QLEN_MON_END", "3000000000")
	blank()
	w("FIXED_WIN", "%d", c.WindowBytes)
	w("BASE_RTT", "%d", o.BaseRTTNs)
	return out
}
