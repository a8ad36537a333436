package pktsim

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/pipeline/atomicfile"
	"github.com/m4sim/m4/pipeline/cc"
)

// Rate is a link or sending rate in bit/s, written in config files as the
// fork's DataRate strings ("10000Mb/s", "40Gbps", "10.0Mb/s").
type Rate uint64

// String writes r so that ParseRate reads it back exactly.
func (r Rate) String() string {
	switch {
	case r != 0 && r%1e9 == 0:
		return strconv.FormatUint(uint64(r/1e9), 10) + "Gbps"
	case r != 0 && r%1e6 == 0:
		return strconv.FormatUint(uint64(r/1e6), 10) + "Mb/s"
	default:
		return strconv.FormatUint(uint64(r), 10) + "bps"
	}
}

// rateUnits are ns-3 DataRate's unit suffixes and their multipliers.
var rateUnits = map[string]float64{
	"bps": 1, "b/s": 1, "Bps": 8, "B/s": 8,
	"kbps": 1e3, "kb/s": 1e3, "Kbps": 1e3, "Kb/s": 1e3, "kBps": 8e3, "kB/s": 8e3, "KBps": 8e3, "KB/s": 8e3,
	"Kib/s": 1024, "KiB/s": 8192,
	"Mbps": 1e6, "Mb/s": 1e6, "MBps": 8e6, "MB/s": 8e6, "Mib/s": 1048576, "MiB/s": 1048576 * 8,
	"Gbps": 1e9, "Gb/s": 1e9, "GBps": 8e9, "GB/s": 8e9, "Gib/s": 1073741824, "GiB/s": 1073741824 * 8,
}

// ParseRate reads an ns-3 DataRate string as the fork does: the leading
// digits and dots as a double, times the unit, truncated to integer bit/s.
func ParseRate(s string) (Rate, error) {
	n := strings.IndexFunc(s, func(c rune) bool { return (c < '0' || c > '9') && c != '.' })
	if n <= 0 {
		return 0, fmt.Errorf("rate %q: want a number and a unit like 10Gbps or 1000Mb/s", s)
	}
	v, err := strconv.ParseFloat(s[:n], 64)
	if err != nil {
		return 0, fmt.Errorf("rate %q: bad number", s)
	}
	mul, ok := rateUnits[s[n:]]
	if !ok {
		return 0, fmt.Errorf("rate %q: unknown unit %q", s, s[n:])
	}
	x := v * mul
	if x >= 1<<63 || math.IsNaN(x) {
		return 0, fmt.Errorf("rate %q: out of range", s)
	}
	return Rate(uint64(x)), nil
}

// KMapEntry is one entry of KMIN_MAP or KMAX_MAP: a link rate and a
// threshold in KB (x1000 bytes).
type KMapEntry struct {
	Rate Rate
	KB   uint32
}

// PMapEntry is one entry of PMAX_MAP: a link rate and a marking probability.
type PMapEntry struct {
	Rate Rate
	P    float64
}

// Config is the content of an HPCC-fork config file (the shards'
// config_*.txt): one field per key the fork reads (scratch/third.cc). Keys
// that m4 accepts but that change nothing in the simulation (file names,
// ENABLE_QCN, GLOBAL_T, PINT_*, ENABLE_TRACE, ...) are kept so the file can
// be written back. DefaultConfig holds the fork's values for missing keys.
type Config struct {
	Source string // the file it was read from, for messages (not a key)

	EnableQCN              bool    // ENABLE_QCN (no effect in the fork)
	EnablePFC              bool    // ENABLE_PFC: devices obey PAUSE frames
	UseDynamicPFCThreshold bool    // USE_DYNAMIC_PFC_THRESHOLD (no effect)
	PacketPayloadSize      uint32  // PACKET_PAYLOAD_SIZE, bytes
	PauseTime              float64 // PAUSE_TIME, us
	DataRate, LinkDelay    string  // DATA_RATE, LINK_DELAY (unused by the fork)

	TopologyFile, FlowFile, FlowOnPathFile, FlowPathMapFile  string // *_FILE keys
	TraceFile, TraceOutputFile, FCTOutputFile, PFCOutputFile string
	QlenMonFile                                              string

	SimulatorStopTime float64 // SIMULATOR_STOP_TIME, s

	CCMode               int     // CC_MODE: 1 DCQCN, 3 HPCC, 7 TIMELY, 8 DCTCP
	AlphaResumeInterval  float64 // ALPHA_RESUME_INTERVAL, us
	RateDecreaseInterval float64 // RATE_DECREASE_INTERVAL, us
	ClampTargetRate      bool    // CLAMP_TARGET_RATE
	RPTimer              float64 // RP_TIMER, us
	EWMAGain             float64 // EWMA_GAIN
	FastRecoveryTimes    uint32  // FAST_RECOVERY_TIMES
	RateAI, RateHAI      Rate    // RATE_AI, RATE_HAI
	MinRate, MaxRate     Rate    // MIN_RATE, MAX_RATE
	DCTCPRateAI          Rate    // DCTCP_RATE_AI
	TimelyTHigh          uint32  // TIMELY_T_HIGH, ns
	TimelyTLow           uint32  // TIMELY_T_LOW, ns
	TimelyBeta           float64 // TIMELY_BETA

	ErrorRatePerLink float64 // ERROR_RATE_PER_LINK (loss on links whose topology line says 0)
	L2ChunkSize      uint32  // L2_CHUNK_SIZE
	L2AckInterval    uint32  // L2_ACK_INTERVAL
	L2BackToZero     bool    // L2_BACK_TO_ZERO

	HasWin         uint32    // HAS_WIN
	GlobalT        uint32    // GLOBAL_T (no effect)
	VarWin         bool      // VAR_WIN
	FastReact      bool      // FAST_REACT
	UTarget        float64   // U_TARGET
	MIThresh       uint32    // MI_THRESH
	INTMulti       uint32    // INT_MULTI
	MultiRate      bool      // MULTI_RATE
	SampleFeedback bool      // SAMPLE_FEEDBACK
	PINTLogBase    float64   // PINT_LOG_BASE (HPCC-PINT only; unsupported mode)
	PINTProb       float64   // PINT_PROB
	RateBound      bool      // RATE_BOUND
	AckHighPrio    uint32    // ACK_HIGH_PRIO
	LinkDown       [3]uint64 // LINK_DOWN time_us a b (time 0 = none)
	EnableTrace    uint32    // ENABLE_TRACE (m4 writes no packet trace)

	KmaxMap []KMapEntry // KMAX_MAP
	KminMap []KMapEntry // KMIN_MAP
	PmaxMap []PMapEntry // PMAX_MAP

	BufferSize   uint32 // BUFFER_SIZE, KiB (x1024 bytes) of shared switch buffer
	QlenMonStart uint64 // QLEN_MON_START, ns
	QlenMonEnd   uint64 // QLEN_MON_END, ns
	FixedWin     uint64 // FIXED_WIN, bytes
	BaseRTT      uint64 // BASE_RTT, ns
}

// DefaultConfig returns the values the fork uses for keys a config file
// leaves out (the globals of scratch/third.cc). The simulator's keys take
// libm4's defaults (bindings.DefaultPktsimConfig, m4_pktsim_config_default:
// e.g. EWMA_GAIN 1/16 in integer arithmetic, i.e. 0); this package adds
// those of keys the simulator does not read (file names, ENABLE_QCN,
// GLOBAL_T, PINT_*, ENABLE_TRACE, QLEN_MON_*). Without cgo the simulator's
// keys are zero: only libm4 knows them.
func DefaultConfig() Config {
	n := bindings.DefaultPktsimConfig()
	return Config{
		EnableQCN:              true,
		EnablePFC:              n.EnablePFC,
		UseDynamicPFCThreshold: true,
		PacketPayloadSize:      n.PayloadBytes,
		PauseTime:              float64(n.PauseTimeUs),
		FCTOutputFile:          "fct.txt",
		PFCOutputFile:          "pfc.txt",
		SimulatorStopTime:      nsToSeconds(n.StopTimeNs),
		CCMode:                 n.CCMode,
		AlphaResumeInterval:    n.AlphaResumeIntervalUs,
		RateDecreaseInterval:   n.RateDecreaseIntervalUs,
		ClampTargetRate:        n.ClampTargetRate,
		RPTimer:                n.RPTimerUs,
		EWMAGain:               n.EWMAGain,
		FastRecoveryTimes:      n.FastRecoveryTimes,
		RateAI:                 Rate(n.RateAIBps),
		RateHAI:                Rate(n.RateHAIBps),
		MinRate:                Rate(n.MinRateBps),
		MaxRate:                Rate(n.MaxRateBps),
		DCTCPRateAI:            Rate(n.DCTCPRateAIBps),
		TimelyTHigh:            uint32(n.TimelyTHighNs),
		TimelyTLow:             uint32(n.TimelyTLowNs),
		TimelyBeta:             n.TimelyBeta,
		L2ChunkSize:            n.L2ChunkSize,
		L2AckInterval:          n.L2AckInterval,
		L2BackToZero:           n.L2BackToZero,
		HasWin:                 b2u(n.HasWin),
		GlobalT:                1,
		VarWin:                 n.VarWin,
		FastReact:              n.FastReact,
		UTarget:                n.UTarget,
		MIThresh:               n.MIThresh,
		INTMulti:               n.INTMulti,
		MultiRate:              n.MultiRate,
		SampleFeedback:         n.SampleFeedback,
		PINTLogBase:            1.05,
		PINTProb:               1.0,
		RateBound:              n.RateBound,
		AckHighPrio:            b2u(n.AckHighPrio),
		EnableTrace:            1,
		BufferSize:             n.BufferSizeKB,
		QlenMonStart:           2000000000,
		QlenMonEnd:             2100000000,
		FixedWin:               uint64(n.FixedWinBytes),
		BaseRTT:                n.BaseRTTNs,
	}
}

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

// nsToSeconds returns the shortest decimal number of seconds that ns-3's
// Seconds() (SecondsToNs) turns into ns: 3.01 for libm4's 3009999999, the
// stop time as the fork's third.cc writes it.
func nsToSeconds(ns uint64) float64 {
	x := float64(ns) / 1e9
	for prec := 0; prec < 17; prec++ {
		s, err := strconv.ParseFloat(strconv.FormatFloat(x, 'f', prec, 64), 64)
		if err == nil && uint64(SecondsToNs(s)) == ns {
			return s
		}
	}
	return x
}

// configKeys lists every key in the order WriteConfig writes them (the
// order of the m3 generator's template, run_m3.py).
var configKeys = []string{
	"ENABLE_QCN", "ENABLE_PFC", "USE_DYNAMIC_PFC_THRESHOLD", "PACKET_PAYLOAD_SIZE",
	"TOPOLOGY_FILE", "FLOW_FILE", "FLOW_ON_PATH_FILE", "FLOW_PATH_MAP_FILE", "TRACE_FILE",
	"TRACE_OUTPUT_FILE", "FCT_OUTPUT_FILE", "PFC_OUTPUT_FILE", "SIMULATOR_STOP_TIME",
	"CC_MODE", "ALPHA_RESUME_INTERVAL", "RATE_DECREASE_INTERVAL", "CLAMP_TARGET_RATE", "RP_TIMER",
	"EWMA_GAIN", "FAST_RECOVERY_TIMES", "RATE_AI", "RATE_HAI", "MIN_RATE", "MAX_RATE",
	"DCTCP_RATE_AI", "TIMELY_T_HIGH", "TIMELY_T_LOW", "TIMELY_BETA", "ERROR_RATE_PER_LINK",
	"L2_CHUNK_SIZE", "L2_ACK_INTERVAL", "L2_BACK_TO_ZERO", "HAS_WIN", "GLOBAL_T", "VAR_WIN",
	"FAST_REACT", "U_TARGET", "MI_THRESH", "INT_MULTI", "MULTI_RATE", "SAMPLE_FEEDBACK",
	"PINT_LOG_BASE", "PINT_PROB", "RATE_BOUND", "ACK_HIGH_PRIO", "LINK_DOWN", "ENABLE_TRACE",
	"KMAX_MAP", "KMIN_MAP", "PMAX_MAP", "BUFFER_SIZE", "QLEN_MON_FILE", "QLEN_MON_START",
	"QLEN_MON_END", "FIXED_WIN", "BASE_RTT", "PAUSE_TIME", "DATA_RATE", "LINK_DELAY",
}

// ParseConfigFile reads a config file; errors name the file, line and key.
func ParseConfigFile(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseConfig(path, f)
}

// ParseConfig reads a config from r (name is used in errors). Every
// non-blank line is "KEY value..."; lines starting with '#' are comments.
// An unknown key, a missing or extra value, or a malformed number is an
// error; a key that does not apply to the chosen CC mode is accepted. A key
// given twice keeps the last value, as in the fork.
func ParseConfig(name string, r io.Reader) (*Config, error) {
	c := DefaultConfig()
	c.Source = name
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		if err := c.set(fields[0], fields[1:]); err != nil {
			return nil, fmt.Errorf("%s:%d: %s: %w", name, line, fields[0], err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &c, nil
}

func want(v []string, n int) error {
	if len(v) != n {
		return fmt.Errorf("want %d value(s), got %d", n, len(v))
	}
	return nil
}

func parseUint(v []string, bits int) (uint64, error) {
	if err := want(v, 1); err != nil {
		return 0, err
	}
	x, err := strconv.ParseUint(v[0], 10, bits)
	if err != nil {
		return 0, fmt.Errorf("%q is not a non-negative integer (%d-bit)", v[0], bits)
	}
	return x, nil
}

func parseFloat(v []string) (float64, error) {
	if err := want(v, 1); err != nil {
		return 0, err
	}
	x, err := strconv.ParseFloat(v[0], 64)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, fmt.Errorf("%q is not a finite number", v[0])
	}
	return x, nil
}

func parseKMap(v []string) ([]KMapEntry, error) {
	return parseRateMap(v, "value", func(r Rate, s string) (KMapEntry, error) {
		k, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			return KMapEntry{}, fmt.Errorf("threshold %q is not an integer KB", s)
		}
		return KMapEntry{r, uint32(k)}, nil
	})
}

func parsePMap(v []string) ([]PMapEntry, error) {
	return parseRateMap(v, "probability", func(r Rate, s string) (PMapEntry, error) {
		p, err := strconv.ParseFloat(s, 64)
		if err != nil || !(p >= 0 && p <= 1) {
			return PMapEntry{}, fmt.Errorf("%q is not a probability", s)
		}
		return PMapEntry{r, p}, nil
	})
}

// parseRateMap reads the fork's per-rate maps (KMAX_MAP, PMAX_MAP, ...): a
// count n, then n pairs of a link rate in bit/s and a value that entry
// parses.
func parseRateMap[T any](v []string, what string, entry func(Rate, string) (T, error)) ([]T, error) {
	if len(v) == 0 {
		return nil, fmt.Errorf("want a count, then rate %s pairs", what)
	}
	n, err := strconv.Atoi(v[0])
	if err != nil || n < 0 || n > bindings.MaxECNEntries {
		return nil, fmt.Errorf("count %q is not an integer in 0..%d", v[0], bindings.MaxECNEntries)
	}
	if len(v) != 1+2*n {
		return nil, fmt.Errorf("count %d wants %d values after it, got %d", n, 2*n, len(v)-1)
	}
	out := make([]T, n)
	for i := range out {
		r, err := strconv.ParseUint(v[1+2*i], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("entry %d: rate %q is not an integer bit/s", i, v[1+2*i])
		}
		if out[i], err = entry(Rate(r), v[2+2*i]); err != nil {
			return nil, fmt.Errorf("entry %d: %w", i, err)
		}
	}
	return out, nil
}

func (c *Config) set(key string, v []string) error {
	var err error
	u32 := func(dst *uint32) {
		var x uint64
		if x, err = parseUint(v, 32); err == nil {
			*dst = uint32(x)
		}
	}
	u64 := func(dst *uint64) {
		var x uint64
		if x, err = parseUint(v, 64); err == nil {
			*dst = x
		}
	}
	flag := func(dst *bool) {
		var x uint64
		if x, err = parseUint(v, 32); err == nil {
			*dst = x != 0
		}
	}
	f64 := func(dst *float64) {
		var x float64
		if x, err = parseFloat(v); err == nil {
			*dst = x
		}
	}
	str := func(dst *string) {
		if err = want(v, 1); err == nil {
			*dst = v[0]
		}
	}
	rate := func(dst *Rate) {
		if err = want(v, 1); err == nil {
			var r Rate
			if r, err = ParseRate(v[0]); err == nil {
				*dst = r
			}
		}
	}
	switch key {
	case "ENABLE_QCN":
		flag(&c.EnableQCN)
	case "ENABLE_PFC":
		flag(&c.EnablePFC)
	case "USE_DYNAMIC_PFC_THRESHOLD":
		flag(&c.UseDynamicPFCThreshold)
	case "CLAMP_TARGET_RATE":
		flag(&c.ClampTargetRate)
	case "PAUSE_TIME":
		f64(&c.PauseTime)
		if err == nil && (c.PauseTime < 0 || c.PauseTime >= 1<<32) {
			err = fmt.Errorf("%v us is out of range", c.PauseTime)
		}
	case "DATA_RATE":
		str(&c.DataRate)
	case "LINK_DELAY":
		str(&c.LinkDelay)
	case "PACKET_PAYLOAD_SIZE":
		u32(&c.PacketPayloadSize)
	case "L2_CHUNK_SIZE":
		u32(&c.L2ChunkSize)
	case "L2_ACK_INTERVAL":
		u32(&c.L2AckInterval)
	case "L2_BACK_TO_ZERO":
		flag(&c.L2BackToZero)
	case "TOPOLOGY_FILE":
		str(&c.TopologyFile)
	case "FLOW_FILE":
		str(&c.FlowFile)
	case "FLOW_ON_PATH_FILE":
		str(&c.FlowOnPathFile)
	case "FLOW_PATH_MAP_FILE":
		str(&c.FlowPathMapFile)
	case "TRACE_FILE":
		str(&c.TraceFile)
	case "TRACE_OUTPUT_FILE":
		str(&c.TraceOutputFile)
	case "FCT_OUTPUT_FILE":
		str(&c.FCTOutputFile)
	case "PFC_OUTPUT_FILE":
		str(&c.PFCOutputFile)
	case "QLEN_MON_FILE":
		str(&c.QlenMonFile)
	case "SIMULATOR_STOP_TIME":
		f64(&c.SimulatorStopTime)
		if err == nil && !(c.SimulatorStopTime > 0 && c.SimulatorStopTime < 1e9) {
			err = fmt.Errorf("%v s is out of range (0, 1e9)", c.SimulatorStopTime)
		}
	case "CC_MODE":
		var x uint64
		if x, err = parseUint(v, 32); err == nil {
			c.CCMode = int(x)
		}
	case "ALPHA_RESUME_INTERVAL":
		f64(&c.AlphaResumeInterval)
	case "RATE_DECREASE_INTERVAL":
		f64(&c.RateDecreaseInterval)
	case "RP_TIMER":
		f64(&c.RPTimer)
	case "EWMA_GAIN":
		f64(&c.EWMAGain)
	case "FAST_RECOVERY_TIMES":
		u32(&c.FastRecoveryTimes)
	case "RATE_AI":
		rate(&c.RateAI)
	case "RATE_HAI":
		rate(&c.RateHAI)
	case "MIN_RATE":
		rate(&c.MinRate)
	case "MAX_RATE":
		rate(&c.MaxRate)
	case "DCTCP_RATE_AI":
		rate(&c.DCTCPRateAI)
	case "TIMELY_T_HIGH":
		u32(&c.TimelyTHigh)
	case "TIMELY_T_LOW":
		u32(&c.TimelyTLow)
	case "TIMELY_BETA":
		f64(&c.TimelyBeta)
	case "ERROR_RATE_PER_LINK":
		f64(&c.ErrorRatePerLink)
		if err == nil && !(c.ErrorRatePerLink >= 0 && c.ErrorRatePerLink <= 1) {
			err = fmt.Errorf("%v is not a probability", c.ErrorRatePerLink)
		}
	case "HAS_WIN":
		u32(&c.HasWin)
	case "GLOBAL_T":
		u32(&c.GlobalT)
	case "VAR_WIN":
		flag(&c.VarWin)
	case "FAST_REACT":
		flag(&c.FastReact)
	case "U_TARGET":
		f64(&c.UTarget)
	case "MI_THRESH":
		u32(&c.MIThresh)
	case "INT_MULTI":
		u32(&c.INTMulti)
	case "MULTI_RATE":
		flag(&c.MultiRate)
	case "SAMPLE_FEEDBACK":
		flag(&c.SampleFeedback)
	case "PINT_LOG_BASE":
		f64(&c.PINTLogBase)
	case "PINT_PROB":
		f64(&c.PINTProb)
	case "RATE_BOUND":
		flag(&c.RateBound)
	case "ACK_HIGH_PRIO":
		u32(&c.AckHighPrio)
	case "LINK_DOWN":
		if err = want(v, 3); err == nil {
			for i := range c.LinkDown {
				x, e := strconv.ParseUint(v[i], 10, 64)
				if e != nil {
					err = fmt.Errorf("value %d %q is not a non-negative integer", i+1, v[i])
					break
				}
				c.LinkDown[i] = x
			}
		}
	case "ENABLE_TRACE":
		u32(&c.EnableTrace)
	case "KMAX_MAP":
		var m []KMapEntry
		if m, err = parseKMap(v); err == nil {
			c.KmaxMap = m
		}
	case "KMIN_MAP":
		var m []KMapEntry
		if m, err = parseKMap(v); err == nil {
			c.KminMap = m
		}
	case "PMAX_MAP":
		var m []PMapEntry
		if m, err = parsePMap(v); err == nil {
			c.PmaxMap = m
		}
	case "BUFFER_SIZE":
		u32(&c.BufferSize)
	case "QLEN_MON_START":
		u64(&c.QlenMonStart)
	case "QLEN_MON_END":
		u64(&c.QlenMonEnd)
	case "FIXED_WIN":
		u64(&c.FixedWin)
	case "BASE_RTT":
		u64(&c.BaseRTT)
	default:
		return fmt.Errorf("unknown key (the HPCC fork's keys: %s)", strings.Join(configKeys, " "))
	}
	return err
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func fmtFloat(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

// Format returns c as config-file text, every key in the m3 template's
// order; ParseConfig reads it back to an equal Config.
func (c *Config) Format() string {
	var b strings.Builder
	line := func(key string, vals ...string) {
		b.WriteString(key)
		for _, v := range vals {
			b.WriteByte(' ')
			b.WriteString(v)
		}
		b.WriteByte('\n')
	}
	itoa := func(x uint64) string { return strconv.FormatUint(x, 10) }
	flag := func(x bool) string { return strconv.Itoa(b2i(x)) }
	str := func(s string) []string {
		if s == "" {
			return nil
		}
		return []string{s}
	}
	kmap := func(m []KMapEntry) []string {
		out := []string{strconv.Itoa(len(m))}
		for _, e := range m {
			out = append(out, itoa(uint64(e.Rate)), itoa(uint64(e.KB)))
		}
		return out
	}
	for _, key := range configKeys {
		switch key {
		case "ENABLE_QCN":
			line(key, flag(c.EnableQCN))
		case "ENABLE_PFC":
			line(key, flag(c.EnablePFC))
		case "USE_DYNAMIC_PFC_THRESHOLD":
			line(key, flag(c.UseDynamicPFCThreshold))
		case "PACKET_PAYLOAD_SIZE":
			line(key, itoa(uint64(c.PacketPayloadSize)))
		case "TOPOLOGY_FILE", "FLOW_FILE", "FLOW_ON_PATH_FILE", "FLOW_PATH_MAP_FILE", "TRACE_FILE",
			"TRACE_OUTPUT_FILE", "FCT_OUTPUT_FILE", "PFC_OUTPUT_FILE", "QLEN_MON_FILE", "DATA_RATE", "LINK_DELAY":
			v := map[string]string{"TOPOLOGY_FILE": c.TopologyFile, "FLOW_FILE": c.FlowFile,
				"FLOW_ON_PATH_FILE": c.FlowOnPathFile, "FLOW_PATH_MAP_FILE": c.FlowPathMapFile,
				"TRACE_FILE": c.TraceFile, "TRACE_OUTPUT_FILE": c.TraceOutputFile,
				"FCT_OUTPUT_FILE": c.FCTOutputFile, "PFC_OUTPUT_FILE": c.PFCOutputFile,
				"QLEN_MON_FILE": c.QlenMonFile, "DATA_RATE": c.DataRate, "LINK_DELAY": c.LinkDelay}[key]
			if s := str(v); s != nil {
				line(key, s...)
			}
		case "SIMULATOR_STOP_TIME":
			line(key, fmtFloat(c.SimulatorStopTime))
		case "CC_MODE":
			line(key, strconv.Itoa(c.CCMode))
		case "ALPHA_RESUME_INTERVAL":
			line(key, fmtFloat(c.AlphaResumeInterval))
		case "RATE_DECREASE_INTERVAL":
			line(key, fmtFloat(c.RateDecreaseInterval))
		case "CLAMP_TARGET_RATE":
			line(key, flag(c.ClampTargetRate))
		case "RP_TIMER":
			line(key, fmtFloat(c.RPTimer))
		case "EWMA_GAIN":
			line(key, fmtFloat(c.EWMAGain))
		case "FAST_RECOVERY_TIMES":
			line(key, itoa(uint64(c.FastRecoveryTimes)))
		case "RATE_AI":
			line(key, c.RateAI.String())
		case "RATE_HAI":
			line(key, c.RateHAI.String())
		case "MIN_RATE":
			line(key, c.MinRate.String())
		case "MAX_RATE":
			line(key, c.MaxRate.String())
		case "DCTCP_RATE_AI":
			line(key, c.DCTCPRateAI.String())
		case "TIMELY_T_HIGH":
			line(key, itoa(uint64(c.TimelyTHigh)))
		case "TIMELY_T_LOW":
			line(key, itoa(uint64(c.TimelyTLow)))
		case "TIMELY_BETA":
			line(key, fmtFloat(c.TimelyBeta))
		case "ERROR_RATE_PER_LINK":
			line(key, fmtFloat(c.ErrorRatePerLink))
		case "L2_CHUNK_SIZE":
			line(key, itoa(uint64(c.L2ChunkSize)))
		case "L2_ACK_INTERVAL":
			line(key, itoa(uint64(c.L2AckInterval)))
		case "L2_BACK_TO_ZERO":
			line(key, flag(c.L2BackToZero))
		case "HAS_WIN":
			line(key, itoa(uint64(c.HasWin)))
		case "GLOBAL_T":
			line(key, itoa(uint64(c.GlobalT)))
		case "VAR_WIN":
			line(key, flag(c.VarWin))
		case "FAST_REACT":
			line(key, flag(c.FastReact))
		case "U_TARGET":
			line(key, fmtFloat(c.UTarget))
		case "MI_THRESH":
			line(key, itoa(uint64(c.MIThresh)))
		case "INT_MULTI":
			line(key, itoa(uint64(c.INTMulti)))
		case "MULTI_RATE":
			line(key, flag(c.MultiRate))
		case "SAMPLE_FEEDBACK":
			line(key, flag(c.SampleFeedback))
		case "PINT_LOG_BASE":
			line(key, fmtFloat(c.PINTLogBase))
		case "PINT_PROB":
			line(key, fmtFloat(c.PINTProb))
		case "RATE_BOUND":
			line(key, flag(c.RateBound))
		case "ACK_HIGH_PRIO":
			line(key, itoa(uint64(c.AckHighPrio)))
		case "LINK_DOWN":
			line(key, itoa(c.LinkDown[0]), itoa(c.LinkDown[1]), itoa(c.LinkDown[2]))
		case "ENABLE_TRACE":
			line(key, itoa(uint64(c.EnableTrace)))
		case "KMAX_MAP":
			line(key, kmap(c.KmaxMap)...)
		case "KMIN_MAP":
			line(key, kmap(c.KminMap)...)
		case "PMAX_MAP":
			vals := []string{strconv.Itoa(len(c.PmaxMap))}
			for _, e := range c.PmaxMap {
				vals = append(vals, itoa(uint64(e.Rate)), fmtFloat(e.P))
			}
			line(key, vals...)
		case "BUFFER_SIZE":
			line(key, itoa(uint64(c.BufferSize)))
		case "QLEN_MON_START":
			line(key, itoa(c.QlenMonStart))
		case "QLEN_MON_END":
			line(key, itoa(c.QlenMonEnd))
		case "FIXED_WIN":
			line(key, itoa(c.FixedWin))
		case "BASE_RTT":
			line(key, itoa(c.BaseRTT))
		case "PAUSE_TIME":
			line(key, fmtFloat(c.PauseTime))
		}
	}
	return b.String()
}

// WriteConfigFile writes c to path atomically in the config-file format.
func WriteConfigFile(path string, c *Config) error {
	return atomicfile.WriteBytes(path, []byte(c.Format()))
}

// Native converts c to the simulator's configuration. The ECN maps merge by
// link rate; a rate missing from one map reads as 0 there, as the fork's
// std::map lookups do.
func (c *Config) Native() (bindings.PktsimConfig, error) {
	n := bindings.DefaultPktsimConfig()
	if _, err := cc.FromMode(c.CCMode); err != nil {
		if c.CCMode == 10 {
			return n, fmt.Errorf("HPCC-PINT is not supported: %w", err)
		}
		return n, err
	}
	if c.LinkDown[0] != 0 {
		return n, fmt.Errorf("LINK_DOWN %d %d %d: link failures are not supported (time must be 0)", c.LinkDown[0], c.LinkDown[1], c.LinkDown[2])
	}
	if c.FixedWin > math.MaxUint32 {
		return n, fmt.Errorf("FIXED_WIN %d does not fit the fork's 32-bit window", c.FixedWin)
	}
	n.CCMode = c.CCMode
	n.PayloadBytes = c.PacketPayloadSize
	n.EnablePFC = c.EnablePFC
	n.AckHighPrio = c.AckHighPrio != 0
	n.HasWin = c.HasWin != 0
	n.VarWin = c.VarWin
	n.FixedWinBytes = uint32(c.FixedWin)
	n.BaseRTTNs = c.BaseRTT
	n.RateBound = c.RateBound
	n.L2ChunkSize = c.L2ChunkSize
	n.L2AckInterval = c.L2AckInterval
	n.L2BackToZero = c.L2BackToZero
	n.AlphaResumeIntervalUs = c.AlphaResumeInterval
	n.RateDecreaseIntervalUs = c.RateDecreaseInterval
	n.RPTimerUs = c.RPTimer
	n.EWMAGain = c.EWMAGain
	n.FastRecoveryTimes = c.FastRecoveryTimes
	n.ClampTargetRate = c.ClampTargetRate
	n.RateAIBps = uint64(c.RateAI)
	n.RateHAIBps = uint64(c.RateHAI)
	n.MinRateBps = uint64(c.MinRate)
	n.MaxRateBps = uint64(c.MaxRate)
	n.DCTCPRateAIBps = uint64(c.DCTCPRateAI)
	n.UTarget = c.UTarget
	n.MIThresh = c.MIThresh
	n.FastReact = c.FastReact
	n.MultiRate = c.MultiRate
	n.SampleFeedback = c.SampleFeedback
	n.INTMulti = c.INTMulti
	n.TimelyTLowNs = uint64(c.TimelyTLow)
	n.TimelyTHighNs = uint64(c.TimelyTHigh)
	n.TimelyBeta = c.TimelyBeta
	n.BufferSizeKB = c.BufferSize
	n.PauseTimeUs = uint32(c.PauseTime)
	n.StopTimeNs = uint64(SecondsToNs(c.SimulatorStopTime))
	var rates []uint64
	idx := map[uint64]int{}
	entry := func(r Rate) *bindings.ECNEntry {
		i, ok := idx[uint64(r)]
		if !ok {
			i = len(rates)
			idx[uint64(r)] = i
			rates = append(rates, uint64(r))
			n.ECN = append(n.ECN, bindings.ECNEntry{RateBps: uint64(r)})
		}
		return &n.ECN[i]
	}
	for _, e := range c.KmaxMap {
		entry(e.Rate).KmaxKB = e.KB
	}
	for _, e := range c.KminMap {
		entry(e.Rate).KminKB = e.KB
	}
	for _, e := range c.PmaxMap {
		entry(e.Rate).Pmax = e.P
	}
	if len(n.ECN) > bindings.MaxECNEntries {
		return n, fmt.Errorf("the ECN maps name %d link rates (at most %d)", len(n.ECN), bindings.MaxECNEntries)
	}
	for _, e := range n.ECN {
		if e.KminKB > e.KmaxKB {
			return n, fmt.Errorf("KMIN_MAP (%d KB) exceeds KMAX_MAP (%d KB) at rate %d", e.KminKB, e.KmaxKB, e.RateBps)
		}
	}
	return n, nil
}
