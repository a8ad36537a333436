package cc

import (
	"fmt"
	"math"
)

// Spec is a congestion-control configuration as a workload spec gives it
// (its cc: section; datagen's ranges use the same keys). Zero values take
// DefaultSpec's, in brackets.
type Spec struct {
	Algorithm     CC      `yaml:"algorithm" json:"algorithm"`               // [dctcp]
	BufferKB      float64 `yaml:"buffer_kb" json:"buffer_kb"`               // switch buffer, KB [300]
	WindowBytes   int64   `yaml:"window_bytes" json:"window_bytes"`         // sending window [18000]
	PFC           bool    `yaml:"pfc" json:"pfc"`                           // [false]
	DCTCPK        float64 `yaml:"dctcp_k" json:"dctcp_k"`                   // DCTCP marking threshold, KB [20]
	DCQCNKmin     float64 `yaml:"dcqcn_kmin" json:"dcqcn_kmin"`             // KB [20]
	DCQCNKmax     float64 `yaml:"dcqcn_kmax" json:"dcqcn_kmax"`             // KB [50]
	HPCCUTarget   float64 `yaml:"hpcc_u_target" json:"hpcc_u_target"`       // [0.95]
	HPCCAI        float64 `yaml:"hpcc_ai" json:"hpcc_ai"`                   // additive increase, Mb/s [500]
	TimelyTLowNs  float64 `yaml:"timely_t_low_ns" json:"timely_t_low_ns"`   // [50000]
	TimelyTHighNs float64 `yaml:"timely_t_high_ns" json:"timely_t_high_ns"` // [120000]
}

// Defaulted returns Spec's keys that take a default when left out and for
// which 0 is no valid value (given as 0, they are an error).
func Defaulted() []string {
	return []string{"buffer_kb", "window_bytes", "dctcp_k", "dcqcn_kmin", "dcqcn_kmax", "hpcc_u_target",
		"hpcc_ai", "timely_t_low_ns", "timely_t_high_ns"}
}

// DefaultSpec returns the defaults of a spec's fields: DCTCP, a 300 KB
// buffer, an 18000 B window, PFC off, and for each algorithm parameters
// inside the ranges m3's run_m3.py draws from (see the package comment).
func DefaultSpec() Spec {
	return Spec{Algorithm: DCTCP, BufferKB: 300, WindowBytes: 18000, DCTCPK: 20, DCQCNKmin: 20, DCQCNKmax: 50,
		HPCCUTarget: 0.95, HPCCAI: 500, TimelyTLowNs: 50000, TimelyTHighNs: 120000}
}

// keyError is an invalid value of a Spec: it names the key.
func keyError(key string, v any, format string, args ...any) error {
	return fmt.Errorf("%s = %v: %s", key, v, fmt.Sprintf(format, args...))
}

// Validate fills the fields of s left at zero with DefaultSpec's and checks
// every value. An error names the key (algorithm, buffer_kb, ...) and the
// value.
func (s *Spec) Validate() error {
	d := DefaultSpec()
	if s.Algorithm == "" {
		s.Algorithm = d.Algorithm
	}
	if _, err := Parse(string(s.Algorithm)); err != nil {
		return fmt.Errorf("algorithm: %w", err)
	}
	def := func(p *float64, v float64) {
		if *p == 0 {
			*p = v
		}
	}
	def(&s.BufferKB, d.BufferKB)
	def(&s.DCTCPK, d.DCTCPK)
	def(&s.DCQCNKmin, d.DCQCNKmin)
	def(&s.DCQCNKmax, d.DCQCNKmax)
	def(&s.HPCCUTarget, d.HPCCUTarget)
	def(&s.HPCCAI, d.HPCCAI)
	def(&s.TimelyTLowNs, d.TimelyTLowNs)
	def(&s.TimelyTHighNs, d.TimelyTHighNs)
	if s.WindowBytes == 0 {
		s.WindowBytes = d.WindowBytes
	}
	for _, f := range []struct {
		key string
		v   float64
	}{{"buffer_kb", s.BufferKB}, {"dctcp_k", s.DCTCPK}, {"dcqcn_kmin", s.DCQCNKmin},
		{"dcqcn_kmax", s.DCQCNKmax}, {"hpcc_ai", s.HPCCAI},
		{"timely_t_low_ns", s.TimelyTLowNs}, {"timely_t_high_ns", s.TimelyTHighNs}} {
		if !(f.v > 0) || math.IsInf(f.v, 0) {
			return keyError(f.key, f.v, "want a finite value > 0")
		}
	}
	switch {
	case s.WindowBytes < 0:
		return keyError("window_bytes", s.WindowBytes, "want > 0")
	case !(s.HPCCUTarget > 0 && s.HPCCUTarget <= 1):
		return keyError("hpcc_u_target", s.HPCCUTarget, "want a utilisation in (0, 1]")
	case s.DCQCNKmin > s.DCQCNKmax:
		return keyError("dcqcn_kmin", s.DCQCNKmin, "above dcqcn_kmax (%v)", s.DCQCNKmax)
	case s.TimelyTLowNs >= s.TimelyTHighNs:
		return keyError("timely_t_low_ns", s.TimelyTLowNs, "want below timely_t_high_ns (%v)", s.TimelyTHighNs)
	}
	return nil
}

// Record is a congestion-control configuration as m3 records it (the
// second line of param_*.txt, written by the HPCC fork's run_m3.py) and the
// model reads it: integers in m3's units. The fields of the algorithms not
// in use hold run_m3.py's defaults (NewRecord).
type Record struct {
	CC          CC      // the algorithm in use
	BufferKB    int     // BUFFER_SIZE, KiB per switch
	WindowBytes int     // FIXED_WIN
	PFC         bool    // ENABLE_PFC
	DCTCPK      int     // DCTCP marking threshold, KB at 10 Gbps
	DCQCNKmin   int     // DCQCN Kmin as sampled (the config's KMIN_MAP is derived from it)
	DCQCNKmax   int     // DCQCN Kmax as sampled
	HPCCUTarget float64 // HPCC eta, in (0, 1]
	HPCCAI      int     // HPCC additive increase, Mb/s
	TimelyTLow  int     // TIMELY T_low, ns
	TimelyTHigh int     // TIMELY T_high, ns
}

// NewRecord returns a record of algorithm c with the given buffer, window
// and PFC setting, and run_m3.py's defaults for every algorithm's
// parameters (DCTCP K 20, DCQCN Kmin/Kmax 10/40, HPCC eta 0.95 and AI 25,
// TIMELY 10000/50000 ns): callers set c's own.
func NewRecord(c CC, bufferKB, windowBytes int, pfc bool) Record {
	return Record{CC: c, BufferKB: bufferKB, WindowBytes: windowBytes, PFC: pfc,
		DCTCPK: 20, DCQCNKmin: 10, DCQCNKmax: 40, HPCCUTarget: 0.95, HPCCAI: 25,
		TimelyTLow: 10000, TimelyTHigh: 50000}
}

// ForkName is the algorithm's name as run_m3.py writes it into
// param_*.txt: dctcp, dcqcn_paper_vwin, hp95ai<AI> or timely_vwin.
func (r Record) ForkName() string { return r.CC.ForkName(r.HPCCAI) }

// Validate checks that r can be encoded and simulated. An error names the
// field as param_*.txt does.
func (r Record) Validate() error {
	if !r.CC.Valid() {
		return fmt.Errorf("cc: %w", &UnknownError{Name: string(r.CC)})
	}
	switch {
	case r.BufferKB <= 0:
		return fmt.Errorf("buffer_KB: %d, want > 0", r.BufferKB)
	case r.WindowBytes <= 0:
		return fmt.Errorf("window_B: %d, want > 0", r.WindowBytes)
	case r.DCTCPK <= 0:
		return fmt.Errorf("dctcp_K: %d, want > 0", r.DCTCPK)
	case r.DCQCNKmin <= 0 || r.DCQCNKmax < r.DCQCNKmin:
		return fmt.Errorf("dcqcn_Kmin/Kmax: %d/%d, want 0 < Kmin <= Kmax", r.DCQCNKmin, r.DCQCNKmax)
	case !(r.HPCCUTarget > 0 && r.HPCCUTarget <= 1):
		return fmt.Errorf("hpcc_u_target: %v, want in (0, 1]", r.HPCCUTarget)
	case r.HPCCAI <= 0:
		return fmt.Errorf("hpcc_ai: %d, want > 0", r.HPCCAI)
	case r.TimelyTLow <= 0 || r.TimelyTHigh <= r.TimelyTLow:
		return fmt.Errorf("timely_T_low/T_high: %d/%d ns, want 0 < T_low < T_high", r.TimelyTLow, r.TimelyTHigh)
	}
	return nil
}

// Record maps a validated spec to the record m3's features encode: the
// algorithm's own parameters rounded to integers, run_m3.py's defaults for
// the others.
func (s Spec) Record() (Record, error) {
	c, err := Parse(string(s.Algorithm))
	if err != nil {
		return Record{}, err
	}
	ri := func(x float64) int { return int(math.Round(x)) }
	r := NewRecord(c, ri(s.BufferKB), int(s.WindowBytes), s.PFC)
	switch c {
	case DCTCP:
		r.DCTCPK = ri(s.DCTCPK)
	case DCQCN:
		r.DCQCNKmin, r.DCQCNKmax = ri(s.DCQCNKmin), ri(s.DCQCNKmax)
	case HPCC:
		r.HPCCUTarget, r.HPCCAI = s.HPCCUTarget, ri(s.HPCCAI)
	case TIMELY:
		r.TimelyTLow, r.TimelyTHigh = ri(s.TimelyTLowNs), ri(s.TimelyTHighNs)
	}
	return r, r.Validate()
}

// Spec is the spec form of r, every field copied (Spec.Record maps it
// back).
func (r Record) Spec() Spec {
	return Spec{Algorithm: r.CC, BufferKB: float64(r.BufferKB), WindowBytes: int64(r.WindowBytes), PFC: r.PFC,
		DCTCPK: float64(r.DCTCPK), DCQCNKmin: float64(r.DCQCNKmin), DCQCNKmax: float64(r.DCQCNKmax),
		HPCCUTarget: r.HPCCUTarget, HPCCAI: float64(r.HPCCAI), TimelyTLowNs: float64(r.TimelyTLow),
		TimelyTHighNs: float64(r.TimelyTHigh)}
}

// Values returns the numeric inputs of r that its algorithm reads (buffer,
// window and the algorithm's own parameters), by Spec's keys.
func (r Record) Values() map[string]float64 {
	m := map[string]float64{"buffer_kb": float64(r.BufferKB), "window_bytes": float64(r.WindowBytes)}
	switch r.CC {
	case DCTCP:
		m["dctcp_k"] = float64(r.DCTCPK)
	case DCQCN:
		m["dcqcn_kmin"], m["dcqcn_kmax"] = float64(r.DCQCNKmin), float64(r.DCQCNKmax)
	case HPCC:
		m["hpcc_u_target"], m["hpcc_ai"] = r.HPCCUTarget, float64(r.HPCCAI)
	case TIMELY:
		m["timely_t_low_ns"], m["timely_t_high_ns"] = float64(r.TimelyTLow), float64(r.TimelyTHigh)
	}
	return m
}
