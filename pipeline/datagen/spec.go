package datagen

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/m4sim/m4/internal/specfile"
	"github.com/m4sim/m4/pipeline/cc"
)

// Spec is the distribution datagen samples path scenarios from. Every range
// is [lo, hi], drawn uniformly; every list is drawn from uniformly. The zero
// value of a field means m3's value (DefaultSpec), so a spec file only names
// what it changes.
type Spec struct {
	// Seed salts every draw: two specs that differ only in Seed give
	// unrelated data sets.
	Seed uint64 `json:"seed" yaml:"seed"`
	// Shards are the traffic draws S = First .. First+Count-1; each gives one
	// scenario per entry of Hosts, in a folder named as m3 names it,
	// shard{S}_nflows{F}_nhosts{H}_lr{G}Gbps.
	Shards ShardRange `json:"shards" yaml:"shards"`
	// Hosts lists the path lengths H (m3: 3, 5 and 7).
	Hosts []int `json:"hosts" yaml:"hosts,flow"`
	// FlowsPerPair is F, the flows of each active host pair (m3: 300 in the
	// reference ns3-paths, 20000 for its training set).
	FlowsPerPair int `json:"flows_per_pair" yaml:"flows_per_pair"`
	// LinkGbps is the host link rate (the inner links run 4x faster). Only
	// 10, m3's rate, which its feature maps and flowsim's parking lot assume.
	LinkGbps int `json:"link_gbps" yaml:"link_gbps"`
	// BaseRTTNs goes into the ns-3 config's BASE_RTT (m3's data: 14400).
	BaseRTTNs int `json:"base_rtt_ns" yaml:"base_rtt_ns"`

	Traffic PathTrafficSpec `json:"traffic" yaml:"traffic"`
	Config  ConfigSpec      `json:"config" yaml:"config"`
}

// ShardRange is a range of traffic draws.
type ShardRange struct {
	First int `json:"first" yaml:"first"`
	Count int `json:"count" yaml:"count"`
}

// PathTrafficSpec is the traffic of one path (the HPCC fork's
// traffic_gen_synthetic.py): a random set of host pairs that always includes
// the foreground pair (0, H-1), one flow-size distribution for the scenario,
// inter-arrival times scaled so that the busiest link reaches the bottleneck
// load.
type PathTrafficSpec struct {
	// SizeDists are the size distributions to choose from: exp, gaussian,
	// lognorm, pareto (m3's parametric ones, shaped by SizeSigma), or the
	// name of an entry of SizeCDFs.
	SizeDists []string `json:"size_dists" yaml:"size_dists,flow"`
	// SizeSigma is the size parameter sigma, bytes (m3: [5000, 50000]); the
	// mean size grows as (sigma/5000)^2 kB.
	SizeSigma []float64 `json:"size_sigma" yaml:"size_sigma,flow"`
	// Arrival is lognorm (m3) or poisson.
	Arrival string `json:"arrival" yaml:"arrival"`
	// IASigma is the sigma of lognormal inter-arrivals, the burstiness (m3: [1, 2]).
	IASigma []float64 `json:"ias_sigma" yaml:"ias_sigma,flow"`
	// Load is the per-pair load drawn before scaling (fork: [0.2, 0.8]).
	Load []float64 `json:"load" yaml:"load,flow"`
	// BottleneckLoad is the load the busiest link is scaled to (fork: [0.2, 0.8]).
	BottleneckLoad []float64 `json:"bottleneck_load" yaml:"bottleneck_load,flow"`
	// SizeCDFs are empirical size distributions by name: a list of
	// [bytes, percent] points (percent from 0 to 100, both strictly
	// increasing), inline or in a file of "bytes percent" lines (the fork's
	// traffic_gen CDF format).
	SizeCDFs map[string]CDFSpec `json:"size_cdfs,omitempty" yaml:"size_cdfs,omitempty"`
}

// CDFSpec is an empirical CDF, inline (Points) or from File.
type CDFSpec struct {
	Points [][]float64 `json:"points,omitempty" yaml:"points,omitempty,flow"`
	File   string      `json:"file,omitempty" yaml:"file,omitempty"`
}

// ConfigSpec is the congestion-control configuration drawn per scenario (the
// fork's run_m3.py and simulation/consts.py).
type ConfigSpec struct {
	CC          []cc.CC   `json:"cc" yaml:"cc,flow"`                       // algorithms to choose from [all]
	BufferKB    []float64 `json:"buffer_kb" yaml:"buffer_kb,flow"`         // [200, 500]
	WindowBytes []float64 `json:"window_bytes" yaml:"window_bytes,flow"`   // [5000, 30000]
	PFC         []bool    `json:"pfc" yaml:"pfc,flow"`                     // [false, true]; DCQCN always runs with PFC
	DCTCPK      []float64 `json:"dctcp_k" yaml:"dctcp_k,flow"`             // [5, 20] KB
	DCQCNKmin   []float64 `json:"dcqcn_kmin" yaml:"dcqcn_kmin,flow"`       // [20, 50]
	DCQCNKmax   []float64 `json:"dcqcn_kmax" yaml:"dcqcn_kmax,flow"`       // [50, 100]
	HPCCUTarget []float64 `json:"hpcc_u_target" yaml:"hpcc_u_target,flow"` // [0.70, 0.95]
	HPCCAI      []float64 `json:"hpcc_ai" yaml:"hpcc_ai,flow"`             // [500, 1000] Mb/s
	TimelyTLow  []float64 `json:"timely_t_low_ns" yaml:"timely_t_low_ns,flow"`
	TimelyTHigh []float64 `json:"timely_t_high_ns" yaml:"timely_t_high_ns,flow"`
	// LogUniform names the ranges above drawn log-uniformly (by their
	// keys, e.g. buffer_kb, dctcp_k, hpcc_ai); the others are uniform.
	LogUniform []string `json:"log_uniform,omitempty" yaml:"log_uniform,flow,omitempty"`
}

// logUniformKeys are the ranges that may be drawn log-uniformly.
var logUniformKeys = []string{"buffer_kb", "window_bytes", "dctcp_k", "dcqcn_kmin", "dcqcn_kmax", "hpcc_ai",
	"timely_t_low_ns", "timely_t_high_ns"}

// draw returns a value of the range named key: log-uniform if the spec
// says so, else uniform (the draw m3's generator makes).
func (c *ConfigSpec) draw(rng *rand.Rand, key string, r []float64) float64 {
	if slices.Contains(c.LogUniform, key) {
		return math.Exp(uniform(rng, []float64{math.Log(r[0]), math.Log(r[1])}))
	}
	return uniform(rng, r)
}

// DefaultSpec returns m3's distribution: the fork's traffic_gen consts and
// run_m3.py ranges, 3-, 5- and 7-host paths, 300 flows per pair, 100 draws.
func DefaultSpec() Spec {
	return Spec{
		Shards:       ShardRange{First: 0, Count: 100},
		Hosts:        []int{3, 5, 7},
		FlowsPerPair: 300,
		LinkGbps:     10,
		BaseRTTNs:    14400,
		Traffic: PathTrafficSpec{
			SizeDists:      []string{"exp", "gaussian", "lognorm", "pareto"},
			SizeSigma:      []float64{5000, 50000},
			Arrival:        "lognorm",
			IASigma:        []float64{1, 2},
			Load:           []float64{0.2, 0.8},
			BottleneckLoad: []float64{0.2, 0.8},
		},
		Config: ConfigSpec{
			CC:          cc.All(),
			BufferKB:    []float64{200, 500},
			WindowBytes: []float64{5000, 30000},
			PFC:         []bool{false, true},
			DCTCPK:      []float64{5, 20},
			DCQCNKmin:   []float64{20, 50},
			DCQCNKmax:   []float64{50, 100},
			HPCCUTarget: []float64{0.70, 0.95},
			HPCCAI:      []float64{500, 1000},
			TimelyTLow:  []float64{40000, 60000},
			TimelyTHigh: []float64{100000, 150000},
		},
	}
}

// parametricDists are m3's own size distributions.
var parametricDists = map[string]bool{"exp": true, "gaussian": true, "lognorm": true, "pareto": true}

// LoadSpec reads a spec from a YAML (.yaml, .yml) or JSON (.json) file,
// fills what it leaves out from DefaultSpec, and validates it. Unknown keys
// are errors. CDF files are read relative to the spec's folder.
func LoadSpec(path string) (*Spec, error) {
	var s Spec
	if err := specfile.Read(path, &s, noZeroKeys...); err != nil {
		return nil, err
	}
	s.fillDefaults()
	if err := s.resolveCDFs(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &s, nil
}

// noZeroKeys are the keys that take DefaultSpec's value when left out and
// for which 0 is no valid value: given as 0 they are an error.
var noZeroKeys = []string{"shards.count", "flows_per_pair", "link_gbps", "base_rtt_ns"}

// fillDefaults sets every field left at its zero value to DefaultSpec's.
func (s *Spec) fillDefaults() {
	d := DefaultSpec()
	if s.Shards.Count == 0 && s.Shards.First == 0 {
		s.Shards = d.Shards
	}
	def := func(v *[]float64, dv []float64) {
		if *v == nil {
			*v = dv
		}
	}
	if s.Hosts == nil {
		s.Hosts = d.Hosts
	}
	if s.FlowsPerPair == 0 {
		s.FlowsPerPair = d.FlowsPerPair
	}
	if s.LinkGbps == 0 {
		s.LinkGbps = d.LinkGbps
	}
	if s.BaseRTTNs == 0 {
		s.BaseRTTNs = d.BaseRTTNs
	}
	t, dt := &s.Traffic, d.Traffic
	if t.SizeDists == nil {
		t.SizeDists = dt.SizeDists
	}
	if t.Arrival == "" {
		t.Arrival = dt.Arrival
	}
	def(&t.SizeSigma, dt.SizeSigma)
	def(&t.IASigma, dt.IASigma)
	def(&t.Load, dt.Load)
	def(&t.BottleneckLoad, dt.BottleneckLoad)
	s.Config.FillDefaults()
}

// FillDefaults sets every field of c left empty to m3's range or choices.
func (c *ConfigSpec) FillDefaults() {
	dc := DefaultSpec().Config
	def := func(v *[]float64, dv []float64) {
		if *v == nil {
			*v = dv
		}
	}
	if c.CC == nil {
		c.CC = dc.CC
	}
	if c.PFC == nil {
		c.PFC = dc.PFC
	}
	def(&c.BufferKB, dc.BufferKB)
	def(&c.WindowBytes, dc.WindowBytes)
	def(&c.DCTCPK, dc.DCTCPK)
	def(&c.DCQCNKmin, dc.DCQCNKmin)
	def(&c.DCQCNKmax, dc.DCQCNKmax)
	def(&c.HPCCUTarget, dc.HPCCUTarget)
	def(&c.HPCCAI, dc.HPCCAI)
	def(&c.TimelyTLow, dc.TimelyTLow)
	def(&c.TimelyTHigh, dc.TimelyTHigh)
}

// resolveCDFs reads the CDF files into Points.
func (s *Spec) resolveCDFs(dir string) error {
	for _, name := range slices.Sorted(maps.Keys(s.Traffic.SizeCDFs)) {
		c := s.Traffic.SizeCDFs[name]
		field := "traffic.size_cdfs." + name
		if c.File == "" {
			continue
		}
		if c.Points != nil {
			return fmt.Errorf("%s: give points or file, not both", field)
		}
		path := c.File
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		pts, err := readCDFFile(path)
		if err != nil {
			return fmt.Errorf("%s: %w", field, err)
		}
		c.Points = pts
		s.Traffic.SizeCDFs[name] = c
	}
	return nil
}

// readCDFFile reads "bytes percent" lines.
func readCDFFile(path string) ([][]float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var pts [][]float64
	for i, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) != 2 {
			return nil, fmt.Errorf("%s:%d: want \"bytes percent\", got %q", path, i+1, line)
		}
		x, err1 := strconv.ParseFloat(f[0], 64)
		y, err2 := strconv.ParseFloat(f[1], 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%s:%d: %q is not two numbers", path, i+1, line)
		}
		pts = append(pts, []float64{x, y})
	}
	return pts, nil
}

// Validate checks every field and names the first bad one.
func (s *Spec) Validate() error {
	if s.Shards.Count < 1 {
		return fmt.Errorf("shards.count: %d, want >= 1", s.Shards.Count)
	}
	if s.Shards.First < 0 {
		return fmt.Errorf("shards.first: %d, want >= 0", s.Shards.First)
	}
	if len(s.Hosts) == 0 {
		return fmt.Errorf("hosts: empty")
	}
	seen := map[int]bool{}
	for i, h := range s.Hosts {
		if h != 3 && h != 5 && h != 7 {
			return fmt.Errorf("hosts[%d]: %d, want 3, 5 or 7 (m3's parameter encoding knows only these)", i, h)
		}
		if seen[h] {
			return fmt.Errorf("hosts[%d]: %d appears twice", i, h)
		}
		seen[h] = true
	}
	if s.FlowsPerPair < 1 {
		return fmt.Errorf("flows_per_pair: %d, want >= 1", s.FlowsPerPair)
	}
	if s.LinkGbps != 10 {
		return fmt.Errorf("link_gbps: %d: m4's flowsim parking lot and m3's feature maps assume 10 Gbps host links", s.LinkGbps)
	}
	if s.BaseRTTNs < 1 {
		return fmt.Errorf("base_rtt_ns: %d, want >= 1", s.BaseRTTNs)
	}
	t := &s.Traffic
	if len(t.SizeDists) == 0 {
		return fmt.Errorf("traffic.size_dists: empty")
	}
	for i, d := range t.SizeDists {
		if !parametricDists[d] {
			if _, ok := t.SizeCDFs[d]; !ok {
				return fmt.Errorf("traffic.size_dists[%d]: unknown distribution %q (want exp, gaussian, lognorm, pareto or a name from traffic.size_cdfs)", i, d)
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(t.SizeCDFs)) {
		c := t.SizeCDFs[name]
		if parametricDists[name] {
			return fmt.Errorf("traffic.size_cdfs.%s: the name is one of m3's parametric distributions", name)
		}
		if err := validateCDF(c.Points); err != nil {
			return fmt.Errorf("traffic.size_cdfs.%s: %w", name, err)
		}
	}
	switch t.Arrival {
	case "lognorm", "poisson":
	default:
		return fmt.Errorf("traffic.arrival: unknown arrival process %q (want lognorm or poisson)", t.Arrival)
	}
	ranges := []struct {
		name   string
		v      []float64
		lo, hi float64 // allowed bounds, inclusive
	}{
		{"traffic.size_sigma", t.SizeSigma, 1, 1e9},
		{"traffic.ias_sigma", t.IASigma, 1e-3, 10},
		{"traffic.load", t.Load, 1e-6, 1},
		{"traffic.bottleneck_load", t.BottleneckLoad, 1e-6, 1},
	}
	for _, r := range ranges {
		if err := checkRange(r.v, r.lo, r.hi); err != nil {
			return fmt.Errorf("%s: %w", r.name, err)
		}
	}
	return s.Config.Validate()
}

// Validate checks c's ranges and choices and names the first bad field
// (config.KEY).
func (c *ConfigSpec) Validate() error {
	ranges := []struct {
		name   string
		v      []float64
		lo, hi float64 // allowed bounds, inclusive
	}{
		{"config.buffer_kb", c.BufferKB, 1, 1e7},
		{"config.window_bytes", c.WindowBytes, 1, 1e9},
		{"config.dctcp_k", c.DCTCPK, 1, 1e6},
		{"config.dcqcn_kmin", c.DCQCNKmin, 1, 1e6},
		{"config.dcqcn_kmax", c.DCQCNKmax, 1, 1e6},
		{"config.hpcc_u_target", c.HPCCUTarget, 0.01, 1},
		{"config.hpcc_ai", c.HPCCAI, 1, 1e6},
		{"config.timely_t_low_ns", c.TimelyTLow, 1, 1e9},
		{"config.timely_t_high_ns", c.TimelyTHigh, 1, 1e9},
	}
	for _, r := range ranges {
		if err := checkRange(r.v, r.lo, r.hi); err != nil {
			return fmt.Errorf("%s: %w", r.name, err)
		}
	}
	if c.DCQCNKmin[1] > c.DCQCNKmax[0] {
		return fmt.Errorf("config.dcqcn_kmin: up to %v, above the lowest config.dcqcn_kmax %v", c.DCQCNKmin[1], c.DCQCNKmax[0])
	}
	if c.TimelyTLow[1] >= c.TimelyTHigh[0] {
		return fmt.Errorf("config.timely_t_low_ns: up to %v, not below the lowest config.timely_t_high_ns %v", c.TimelyTLow[1], c.TimelyTHigh[0])
	}
	if len(c.CC) == 0 {
		return fmt.Errorf("config.cc: empty")
	}
	for i, name := range c.CC {
		if _, err := cc.Parse(string(name)); err != nil {
			return fmt.Errorf("config.cc[%d]: %w", i, err)
		}
	}
	if len(c.PFC) == 0 {
		return fmt.Errorf("config.pfc: empty (want a list of true/false to choose from)")
	}
	for i, k := range c.LogUniform {
		if !slices.Contains(logUniformKeys, k) {
			return fmt.Errorf("config.log_uniform[%d]: %q is not a range that can be drawn log-uniformly (%s)", i, k, strings.Join(logUniformKeys, ", "))
		}
	}
	return nil
}

// checkRange checks a [lo, hi] range within the allowed bounds.
func checkRange(v []float64, min, max float64) error {
	if len(v) != 2 {
		return fmt.Errorf("want a range [lo, hi], got %d values", len(v))
	}
	for _, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("%v is not a finite number", x)
		}
		if x < min || x > max {
			return fmt.Errorf("%v is outside [%v, %v]", x, min, max)
		}
	}
	if v[0] > v[1] {
		return fmt.Errorf("lo %v > hi %v", v[0], v[1])
	}
	return nil
}

// validateCDF checks an empirical CDF as the fork's custom_rand does: points
// (bytes, percent) with percent from 0 to 100 and both strictly increasing.
func validateCDF(pts [][]float64) error {
	if len(pts) < 2 {
		return fmt.Errorf("a CDF needs at least 2 points, got %d", len(pts))
	}
	for i, p := range pts {
		if len(p) != 2 {
			return fmt.Errorf("point %d: want [bytes, percent], got %d values", i, len(p))
		}
		if math.IsNaN(p[0]) || math.IsNaN(p[1]) || math.IsInf(p[0], 0) || p[0] < 0 {
			return fmt.Errorf("point %d: %v is not a size >= 0 and a percent", i, p)
		}
		if i > 0 && (p[0] <= pts[i-1][0] || p[1] <= pts[i-1][1]) {
			return fmt.Errorf("point %d: %v after %v: sizes and percents must be strictly increasing", i, p, pts[i-1])
		}
	}
	if pts[0][1] != 0 {
		return fmt.Errorf("first point's percent is %v, want 0", pts[0][1])
	}
	if pts[len(pts)-1][1] != 100 {
		return fmt.Errorf("last point's percent is %v, want 100", pts[len(pts)-1][1])
	}
	if pts[len(pts)-1][0] < 1 {
		return fmt.Errorf("largest size is %v bytes, want >= 1", pts[len(pts)-1][0])
	}
	return nil
}

// Scenarios returns the number of scenarios: Shards.Count x len(Hosts).
func (s *Spec) Scenarios() int { return s.Shards.Count * len(s.Hosts) }

// Item is one scenario of a spec: traffic draw S on an H-host path.
type Item struct {
	Index int // 0 .. Scenarios()-1
	Shard int // S
	Hosts int // H
}

// Item returns scenario i: draws in order, H varying fastest (as the fork's
// gen.py enumerates them).
func (s *Spec) Item(i int) Item {
	return Item{Index: i, Shard: s.Shards.First + i/len(s.Hosts), Hosts: s.Hosts[i%len(s.Hosts)]}
}

// Name is the scenario's folder name, as m3's loader expects it.
func (s *Spec) Name(it Item) string {
	return fmt.Sprintf("shard%d_nflows%d_nhosts%d_lr%dGbps", it.Shard, s.FlowsPerPair, it.Hosts, s.LinkGbps)
}

func jsonIndent(v any) ([]byte, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
