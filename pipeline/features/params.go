package features

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/pipeline/cc"
)

// Config is the configuration of one scenario as m3 samples and records it
// (the second line of param_*.txt, written by the HPCC fork's run_m3.py):
// the congestion-control record (package cc owns its fields, defaults and
// validation), the sample index and the fork's name for the algorithm.
type Config struct {
	Sample int    // the configuration's index (s0, s1, ...)
	CCName string // the fork's name for the algorithm: dctcp, dcqcn_paper_vwin, hp95ai<AI>, timely_vwin
	cc.Record
}

// DefaultConfig returns the record of algorithm c with the given buffer,
// window and PFC setting and run_m3.py's defaults for every algorithm's
// parameters (cc.NewRecord).
func DefaultConfig(c cc.CC, bufferKB, windowBytes int, pfc bool) Config {
	r := cc.NewRecord(c, bufferKB, windowBytes, pfc)
	return Config{CCName: r.ForkName(), Record: r}
}

// Normalized returns the configuration as the model sees a network whose
// links run k times faster than its 10/40 Gbps training paths
// (pathfeat.RateScale): the byte counts and rates that do not scale with
// the link rate by themselves (buffer, window, HPCC's additive increase)
// divided by k and rounded. The ECN thresholds are recorded at 10 Gbps
// (DCTCP K) or 25 Gbps (DCQCN) and scaled to the link rate by the config's
// KMAX_MAP/KMIN_MAP, so they already mean the same; times (TIMELY) and
// utilisations (HPCC eta) need nothing.
func (c Config) Normalized(k float64) Config {
	if k == 1 {
		return c
	}
	div := func(v int) int { return int(math.Round(float64(v) / k)) }
	c.BufferKB = div(c.BufferKB)
	c.WindowBytes = div(c.WindowBytes)
	c.HPCCAI = div(c.HPCCAI)
	return c
}

// Vector returns the 15-value configuration vector of param_*.npy:
// [sample, buffer_KB/10, window_B/1000, pfc, one-hot dctcp dcqcn hpcc timely,
// dctcp_K, dcqcn_Kmin, dcqcn_Kmax, hpcc_eta/0.01, hpcc_AI/10, T_low/1000,
// T_high/1000], with zeros for the parameters of the CCs not in use.
func (c Config) Vector() [15]float64 {
	var v [15]float64
	v[0] = float64(c.Sample)
	v[1] = float64(c.BufferKB) / 10
	v[2] = float64(c.WindowBytes) / 1000
	if c.PFC {
		v[3] = 1
	}
	switch c.CC {
	case cc.DCTCP:
		v[4] = 1
		v[8] = float64(c.DCTCPK) / 1
	case cc.DCQCN:
		v[5] = 1
		v[9] = float64(c.DCQCNKmin) / 1
		v[10] = float64(c.DCQCNKmax) / 1
	case cc.HPCC:
		v[6] = 1
		v[11] = c.HPCCUTarget / 0.01
		v[12] = float64(c.HPCCAI) / 10
	case cc.TIMELY:
		v[7] = 1
		v[13] = float64(c.TimelyTLow) / 1000
		v[14] = float64(c.TimelyTHigh) / 1000
	}
	return v
}

// ParamText returns param_*.txt's two lines: the vector as Python prints it,
// then "sample buffer_KB window_B pfc cc_name dctcp_K dcqcn_Kmin dcqcn_Kmax
// hpcc_u_target hpcc_ai T_low T_high".
func (c Config) ParamText() string {
	v := c.Vector()
	var b strings.Builder
	for i, x := range v {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(PyFloat(x))
	}
	pfc := 0
	if c.PFC {
		pfc = 1
	}
	name := c.CCName
	if name == "" {
		name = c.ForkName()
	}
	fmt.Fprintf(&b, "\n%d %d %d %d %s %d %d %d %s %d %d %d\n", c.Sample, c.BufferKB, c.WindowBytes, pfc, name,
		c.DCTCPK, c.DCQCNKmin, c.DCQCNKmax, PyFloat(c.HPCCUTarget), c.HPCCAI, c.TimelyTLow, c.TimelyTHigh)
	return b.String()
}

// PyFloat formats x as Python's repr(float) does: the shortest string that
// reads back as x, with ".0" on integral values and an exponent below 1e-4 or
// from 1e16 on.
func PyFloat(x float64) string {
	switch {
	case math.IsNaN(x):
		return "nan"
	case math.IsInf(x, 1):
		return "inf"
	case math.IsInf(x, -1):
		return "-inf"
	}
	a := math.Abs(x)
	if a != 0 && (a < 1e-4 || a >= 1e16) {
		s := strconv.FormatFloat(x, 'e', -1, 64)
		// Go writes e-05 / e+16; Python writes e-05 / e+16 too.
		return s
	}
	s := strconv.FormatFloat(x, 'f', -1, 64)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s
}

// ReadParamText reads the configuration from a param_*.txt file (its second
// line; the first, the vector, must agree with it).
func ReadParamText(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, err
	}
	return ParseParamText(path, b)
}

// ParseParamText parses the text of a param_*.txt file; path names it in
// errors.
func ParseParamText(path string, b []byte) (Config, error) {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) != 2 {
		return Config{}, fmt.Errorf("%s: %d lines, want 2 (the vector, then the named values)", path, len(lines))
	}
	names := []string{"sample", "buffer_KB", "window_B", "pfc", "cc_name", "dctcp_K", "dcqcn_Kmin", "dcqcn_Kmax",
		"hpcc_u_target", "hpcc_ai", "timely_T_low", "timely_T_high"}
	f := strings.Fields(lines[1])
	if len(f) != len(names) {
		return Config{}, fmt.Errorf("%s:2: %d fields, want %d (%s)", path, len(f), len(names), strings.Join(names, " "))
	}
	ints := make([]int, len(f))
	for i, s := range f {
		if i == 4 || i == 8 {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			return Config{}, fmt.Errorf("%s:2: field %s = %q is not an integer", path, names[i], s)
		}
		ints[i] = n
	}
	algo, err := cc.ParseFork(f[4])
	if err != nil {
		return Config{}, fmt.Errorf("%s:2: field cc_name: %w", path, err)
	}
	u, err := strconv.ParseFloat(f[8], 64)
	if err != nil || math.IsNaN(u) || math.IsInf(u, 0) {
		return Config{}, fmt.Errorf("%s:2: field hpcc_u_target = %q is not a finite number", path, f[8])
	}
	if ints[3] != 0 && ints[3] != 1 {
		return Config{}, fmt.Errorf("%s:2: field pfc = %d, want 0 or 1", path, ints[3])
	}
	c := Config{Sample: ints[0], CCName: f[4], Record: cc.Record{CC: algo, BufferKB: ints[1], WindowBytes: ints[2],
		PFC: ints[3] == 1, DCTCPK: ints[5], DCQCNKmin: ints[6], DCQCNKmax: ints[7], HPCCUTarget: u, HPCCAI: ints[9],
		TimelyTLow: ints[10], TimelyTHigh: ints[11]}}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("%s:2: %w", path, err)
	}
	vf := strings.Fields(lines[0])
	want := c.Vector()
	if len(vf) != len(want) {
		return Config{}, fmt.Errorf("%s:1: %d values, want %d", path, len(vf), len(want))
	}
	for i, s := range vf {
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return Config{}, fmt.Errorf("%s:1: value %d = %q is not a number", path, i, s)
		}
		if x != want[i] {
			return Config{}, fmt.Errorf("%s:1: value %d = %v disagrees with line 2, which gives %v", path, i, x, want[i])
		}
	}
	return c, nil
}

// ParamVector turns a 15-value configuration vector (param_*.npy, or
// Config.Vector) into the 19 parameters m3 appends to each input row
// (util/dataset.py):
//
//	[H==3, H==5, H==7, BDP/MTU (5, 10, 15 for H = 3, 5, 7), buffer_KB/10,
//	 window_B/1000, pfc, 1-pfc, one-hot dctcp dcqcn hpcc timely, dctcp_K,
//	 dcqcn_Kmin, dcqcn_Kmax, hpcc_eta*100, hpcc_AI/10, T_low/1000, T_high/1000]
//
// The vector's sample slot is dropped. m3 defines the encoding for 3-, 5- and
// 7-host paths only.
func ParamVector(hosts int, vec []float64) ([NumParams]float64, error) {
	var p [NumParams]float64
	if len(vec) != 15 {
		return p, fmt.Errorf("configuration vector has %d values, want 15", len(vec))
	}
	for i, x := range vec {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return p, fmt.Errorf("configuration vector value %d is %v", i, x)
		}
	}
	v, err := bindings.FeatureParams(hosts, vec)
	if err != nil {
		return p, err
	}
	copy(p[:], v)
	return p, nil
}

// The feature definitions m4 builds: m3's (V1), m4's second (V2), which
// differs only in the NumParams parameters appended to each row (log scales
// for buffers, windows, thresholds and HPCC's AI, and a flag for paths cut
// from a network; native/m4.h, m4_features_params_v2), and its third (V3):
// V2's with the path's own flow count in place of 1-pfc
// (m4_features_params_v3).
const (
	V1 = bindings.FeaturesV1
	V2 = bindings.FeaturesV2
	V3 = bindings.FeaturesV3
)

// ReadsForeground tells whether definition def's parameter block holds the
// path's foreground flows (ParamsFor's foreground).
func ReadsForeground(def string) bool { return def == V3 }

// ForegroundParam is the entry of a V3 parameter block that holds the
// path's foreground flows (log2(1 + count)); V2 has 1-pfc there.
const ForegroundParam = 7

// ParamsFor turns a configuration vector into the parameter block of the
// feature definition named def for a hosts-host path. network marks a path
// cut from a network (m4 run, whole-workload training data), as opposed to
// one of m3's parking lots (V1 ignores it); foreground is the path's own
// flows (host 0 to host H-1; V3 reads it).
func ParamsFor(def string, hosts int, network bool, foreground int, vec []float64) ([NumParams]float64, error) {
	if def == V1 {
		return ParamVector(hosts, vec)
	}
	var p [NumParams]float64
	v, err := bindings.FeatureParamsFor(def, hosts, network, foreground, vec)
	if err != nil {
		return p, err
	}
	copy(p[:], v)
	return p, nil
}

// Reencode rewrites the parameter block of each of the hosts rows of a V1
// feature map (res, as BuildInput or m3 make it) in definition def. A V1
// block holds the whole configuration vector but its sample index; the
// path's foreground flows (V3) and network flag come from the caller.
func Reencode(res []float32, hosts int, def string, network bool, foreground int) error {
	if len(res) != hosts*RowWidth {
		return fmt.Errorf("feature map of %d values, want %d rows of %d", len(res), hosts, RowWidth)
	}
	if def == V1 {
		return nil
	}
	blk := res[CellsPerRow:RowWidth]
	vec := make([]float64, 15)
	for i := 1; i < 4; i++ {
		vec[i] = float64(blk[i+3]) // buffer/10, window/1000, pfc
	}
	for i := 4; i < 15; i++ {
		vec[i] = float64(blk[i+4])
	}
	p, err := ParamsFor(def, hosts, network, foreground, vec)
	if err != nil {
		return err
	}
	for r := 0; r < hosts; r++ {
		for k, x := range p {
			res[r*RowWidth+CellsPerRow+k] = float32(x)
		}
	}
	return nil
}
