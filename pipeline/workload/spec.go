package workload

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/m4sim/m4/internal/specfile"
	"github.com/m4sim/m4/pipeline/cc"
)

// Spec describes a datacenter workload. It is read from YAML or JSON (the
// same keys); zero values take the defaults given per field (a key left out
// of a spec file; given as 0 where 0 is no valid value, it is an error).
type Spec struct {
	Topology TopologySpec `yaml:"topology" json:"topology"`
	Sizes    SizeSpec     `yaml:"sizes" json:"sizes"`
	Arrivals ArrivalSpec  `yaml:"arrivals" json:"arrivals"`
	Traffic  TrafficSpec  `yaml:"traffic" json:"traffic"`
	// MaxLoad is the target offered load of the busiest link, in (0, 1].
	MaxLoad float64 `yaml:"max_load" json:"max_load"`
	// Flows is the number of flows; or DurationS the span of arrivals in
	// seconds. Exactly one must be set.
	Flows     int     `yaml:"flows,omitempty" json:"flows,omitempty"`
	DurationS float64 `yaml:"duration_s,omitempty" json:"duration_s,omitempty"`
	Seed      uint64  `yaml:"seed" json:"seed"`
	// CC is the congestion-control configuration the workload runs under.
	CC CCSpec `yaml:"cc" json:"cc"`

	// Dir resolves relative file names in the spec (the spec file's folder).
	Dir string `yaml:"-" json:"-"`
	// File is the spec's file name, for error messages.
	File string `yaml:"-" json:"-"`
}

// TopologySpec chooses the network.
type TopologySpec struct {
	// Kind: "fabric" (default), "fattree" or "file" (an ns-3 topology file).
	Kind string `yaml:"kind" json:"kind"`
	// Fabric: defaults 2 pods x 2 fabs x 16 racks x 8 hosts (256 hosts).
	Pods         int `yaml:"pods" json:"pods"`
	FabsPerPod   int `yaml:"fabs_per_pod" json:"fabs_per_pod"`
	RacksPerPod  int `yaml:"racks_per_pod" json:"racks_per_pod"`
	HostsPerRack int `yaml:"hosts_per_rack" json:"hosts_per_rack"`
	// SpinesPerPlane, or Oversubscription (1, 2, 4, ...: spines per plane =
	// racks per pod / oversubscription); default 1:1.
	SpinesPerPlane   int `yaml:"spines_per_plane" json:"spines_per_plane"`
	Oversubscription int `yaml:"oversubscription,omitempty" json:"oversubscription,omitempty"`
	// Fat-tree: K, even.
	K int `yaml:"k,omitempty" json:"k"`
	// File: an ns-3 topology file (kind "file").
	File string `yaml:"file,omitempty" json:"file"`
	// Link rates (default 10 Gbps host links, 40 Gbps between switches)
	// and the delay of every link (default 1000 ns).
	HostGbps    float64 `yaml:"host_gbps" json:"host_gbps"`
	FabricGbps  float64 `yaml:"fabric_gbps" json:"fabric_gbps"`
	LinkDelayNs int64   `yaml:"link_delay_ns" json:"link_delay_ns"`
}

// SizeSpec chooses the flow-size distribution.
type SizeSpec struct {
	// Dist: an embedded CDF (EmpiricalNames), a parametric one
	// (ParametricNames, with Sigma), or "file" (with File).
	Dist  string  `yaml:"dist" json:"dist"`
	Sigma float64 `yaml:"sigma,omitempty" json:"sigma,omitempty"`
	File  string  `yaml:"file,omitempty" json:"file,omitempty"`
}

// ArrivalSpec chooses the inter-arrival process of the whole network.
type ArrivalSpec struct {
	// Process: "lognormal" (default) or "poisson".
	Process string `yaml:"process" json:"process"`
	// Sigma: the lognormal's shape, the burstiness (default 1; the papers
	// use 1 and 2). Not used by poisson.
	Sigma float64 `yaml:"sigma,omitempty" json:"sigma,omitempty"`
}

// TrafficSpec chooses the traffic matrix.
type TrafficSpec struct {
	// Matrix: one of MatrixNames (default "uniform"), or "file" with File.
	Matrix string `yaml:"matrix" json:"matrix"`
	File   string `yaml:"file" json:"file"`
}

// CCSpec is the congestion-control configuration a workload runs under
// (package cc owns its keys, defaults and validation).
type CCSpec = cc.Spec

// TopologyDefaulted are the keys of a topology section that take a default
// when left out and for which 0 is no valid value: given as 0 they are an
// error, never silently the default (internal/specfile.NoZero). The fabric
// keys (FabricDefaulted) apply to kind fabric only: a fat-tree's spec.json
// holds them as zeros.
var TopologyDefaulted = append([]string{"host_gbps", "fabric_gbps", "link_delay_ns"}, FabricDefaulted...)

// FabricDefaulted are TopologyDefaulted's keys of kind fabric.
var FabricDefaulted = []string{"pods", "fabs_per_pod", "racks_per_pod", "hosts_per_rack", "spines_per_plane", "oversubscription"}

// noZeroKeys are the keys of a workload spec of topology kind that must not
// be given as 0.
func noZeroKeys(kind string) []string {
	keys := []string{"max_load", "flows", "duration_s", "sizes.sigma", "arrivals.sigma"}
	for _, k := range cc.Defaulted() {
		keys = append(keys, "cc."+k)
	}
	for _, k := range TopologyDefaulted {
		if kind == "" || kind == "fabric" || !slices.Contains(FabricDefaulted, k) {
			keys = append(keys, "topology."+k)
		}
	}
	return keys
}

// LoadSpec reads a spec file (YAML or JSON). Unknown keys, wrong types and
// invalid values are errors naming the file, the line where known, and the
// key. The returned spec has its defaults filled in.
func LoadSpec(path string) (*Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s, err := ParseSpec(path, b)
	if err != nil {
		return nil, err
	}
	s.Dir = filepath.Dir(path)
	return s, nil
}

// ParseSpec decodes spec text (YAML or JSON, whatever name's extension:
// specfile.DecodeYAML, so errors name the line and key of both); name
// prefixes errors.
func ParseSpec(name string, data []byte) (*Spec, error) {
	s := &Spec{File: name}
	root, err := specfile.DecodeYAML(name, data, s)
	if err != nil {
		return nil, err
	}
	if root == nil {
		return nil, fmt.Errorf("%s: empty spec", name)
	}
	if err := specfile.NoZero(name, root, noZeroKeys(s.Topology.Kind)); err != nil {
		return nil, err
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// fieldError is an invalid value: it names the spec file and key.
func (s *Spec) fieldError(key string, v any, format string, args ...any) error {
	return fmt.Errorf("%s: %s = %v: %s", s.File, key, v, fmt.Sprintf(format, args...))
}

// Validate fills in defaults and checks every value.
func (s *Spec) Validate() error {
	if s.File == "" {
		s.File = "spec"
	}
	t := &s.Topology
	if t.Kind == "" {
		t.Kind = "fabric"
	}
	if t.HostGbps == 0 {
		t.HostGbps = 10
	}
	if t.FabricGbps == 0 {
		t.FabricGbps = 40
	}
	if t.LinkDelayNs == 0 {
		t.LinkDelayNs = 1000
	}
	switch {
	case !(t.HostGbps > 0) || math.IsInf(t.HostGbps, 0):
		return s.fieldError("topology.host_gbps", t.HostGbps, "want a rate > 0")
	case !(t.FabricGbps > 0) || math.IsInf(t.FabricGbps, 0):
		return s.fieldError("topology.fabric_gbps", t.FabricGbps, "want a rate > 0")
	case t.LinkDelayNs < 0:
		return s.fieldError("topology.link_delay_ns", t.LinkDelayNs, "want >= 0")
	}
	fabricSet := t.Pods != 0 || t.FabsPerPod != 0 || t.RacksPerPod != 0 || t.HostsPerRack != 0 || t.SpinesPerPlane != 0 || t.Oversubscription != 0
	switch t.Kind {
	case "fabric":
		if t.K != 0 {
			return s.fieldError("topology.k", t.K, "k is for kind fattree, not fabric")
		}
		if t.File != "" {
			return s.fieldError("topology.file", t.File, "file is for kind file, not fabric")
		}
		def := func(p *int, v int) {
			if *p == 0 {
				*p = v
			}
		}
		def(&t.Pods, 2)
		def(&t.FabsPerPod, 2)
		def(&t.RacksPerPod, 16)
		def(&t.HostsPerRack, 8)
		for _, f := range []struct {
			key string
			v   int
		}{{"topology.pods", t.Pods}, {"topology.fabs_per_pod", t.FabsPerPod}, {"topology.racks_per_pod", t.RacksPerPod},
			{"topology.hosts_per_rack", t.HostsPerRack}, {"topology.spines_per_plane", t.SpinesPerPlane}, {"topology.oversubscription", t.Oversubscription}} {
			if f.v < 0 {
				return s.fieldError(f.key, f.v, "want >= 1")
			}
		}
		switch {
		case t.Oversubscription != 0 && t.RacksPerPod%t.Oversubscription != 0:
			return s.fieldError("topology.oversubscription", t.Oversubscription, "must divide racks_per_pod (%d)", t.RacksPerPod)
		case t.Oversubscription != 0 && t.SpinesPerPlane != 0 && t.SpinesPerPlane*t.Oversubscription != t.RacksPerPod:
			return s.fieldError("topology.spines_per_plane", t.SpinesPerPlane, "contradicts oversubscription %d (racks_per_pod / oversubscription = %d)",
				t.Oversubscription, t.RacksPerPod/t.Oversubscription)
		case t.SpinesPerPlane == 0 && t.Oversubscription == 0:
			t.Oversubscription = 1
		case t.Oversubscription == 0 && t.RacksPerPod%t.SpinesPerPlane == 0:
			t.Oversubscription = t.RacksPerPod / t.SpinesPerPlane
		}
		if t.SpinesPerPlane == 0 {
			t.SpinesPerPlane = t.RacksPerPod / t.Oversubscription
		}
	case "fattree":
		if fabricSet {
			return s.fieldError("topology.kind", t.Kind, "pods, racks, hosts and spines are for kind fabric; a fat-tree takes k")
		}
		if t.File != "" {
			return s.fieldError("topology.file", t.File, "file is for kind file, not fattree")
		}
		if t.K == 0 {
			return s.fieldError("topology.k", t.K, "a fat-tree needs k (even, >= 2)")
		}
		if t.K < 2 || t.K%2 != 0 {
			return s.fieldError("topology.k", t.K, "k must be even and >= 2")
		}
	case "file":
		if fabricSet || t.K != 0 {
			return s.fieldError("topology.kind", t.Kind, "a topology file takes no pods, racks, hosts, spines or k")
		}
		if t.File == "" {
			return s.fieldError("topology.file", `""`, "kind file needs the ns-3 topology file")
		}
	default:
		return s.fieldError("topology.kind", strconv.Quote(t.Kind), "unknown topology kind (known: fabric, fattree, file)")
	}

	z := &s.Sizes
	switch {
	case z.Dist == "" && z.File != "":
		z.Dist = "file"
	case z.Dist == "":
		return s.fieldError("sizes.dist", `""`, "give a size distribution (%s, %s, or file)",
			strings.Join(EmpiricalNames, ", "), strings.Join(ParametricNames, ", "))
	}
	switch {
	case z.Dist == "file":
		if z.File == "" {
			return s.fieldError("sizes.file", `""`, "dist file needs a CDF file")
		}
		if z.Sigma != 0 {
			return s.fieldError("sizes.sigma", z.Sigma, "sigma is for the parametric distributions, not a CDF file")
		}
	case slices.Contains(EmpiricalNames, z.Dist):
		if z.Sigma != 0 || z.File != "" {
			return s.fieldError("sizes.dist", z.Dist, "an embedded CDF takes no sigma or file")
		}
	case slices.Contains(ParametricNames, z.Dist):
		if z.File != "" {
			return s.fieldError("sizes.file", z.File, "file is for dist file, not %s", z.Dist)
		}
		if !(z.Sigma > 0) || math.IsInf(z.Sigma, 0) {
			return s.fieldError("sizes.sigma", z.Sigma, "%s needs a size sigma in bytes > 0 (m3 draws it in [5000, 50000])", z.Dist)
		}
		if _, err := NewParametric(z.Dist, z.Sigma); err != nil {
			return s.fieldError("sizes.sigma", z.Sigma, "%v", err)
		}
	default:
		return s.fieldError("sizes.dist", strconv.Quote(z.Dist), "unknown size distribution (known: %s, %s, file)",
			strings.Join(EmpiricalNames, ", "), strings.Join(ParametricNames, ", "))
	}

	a := &s.Arrivals
	if a.Process == "" {
		a.Process = "lognormal"
	}
	switch a.Process {
	case "lognormal":
		if a.Sigma == 0 {
			a.Sigma = 1
		}
		if !(a.Sigma > 0) || a.Sigma > 10 {
			return s.fieldError("arrivals.sigma", a.Sigma, "want a lognormal shape in (0, 10] (the papers use 1 and 2)")
		}
	case "poisson":
		if a.Sigma != 0 {
			return s.fieldError("arrivals.sigma", a.Sigma, "sigma is the lognormal's burstiness; poisson takes none")
		}
	default:
		return s.fieldError("arrivals.process", strconv.Quote(a.Process), "unknown arrival process (known: lognormal, poisson)")
	}

	m := &s.Traffic
	switch {
	case m.Matrix == "" && m.File != "":
		m.Matrix = "file"
	case m.Matrix == "":
		m.Matrix = "uniform"
	}
	if m.Matrix == "file" {
		if m.File == "" {
			return s.fieldError("traffic.file", `""`, "matrix file needs a matrix file")
		}
	} else {
		if m.File != "" {
			return s.fieldError("traffic.file", m.File, "file is for matrix file, not %s", m.Matrix)
		}
		if !slices.Contains(MatrixNames, m.Matrix) {
			return s.fieldError("traffic.matrix", strconv.Quote(m.Matrix), "unknown traffic matrix (known: %s, file)", strings.Join(MatrixNames, ", "))
		}
		if m.Matrix != "uniform" && t.Kind == "file" {
			return s.fieldError("traffic.matrix", m.Matrix, "the Meta matrices need a topology with pods (fabric or fattree)")
		}
	}

	if !(s.MaxLoad > 0 && s.MaxLoad <= 1) {
		return s.fieldError("max_load", s.MaxLoad, "want a load in (0, 1] of the busiest link's capacity")
	}
	switch {
	case s.Flows < 0:
		return s.fieldError("flows", s.Flows, "want >= 1")
	case s.DurationS < 0 || math.IsNaN(s.DurationS) || math.IsInf(s.DurationS, 0):
		return s.fieldError("duration_s", s.DurationS, "want a finite duration > 0")
	case s.Flows == 0 && s.DurationS == 0:
		return fmt.Errorf("%s: flows / duration_s: give the number of flows or the duration of arrivals", s.File)
	case s.Flows != 0 && s.DurationS != 0:
		return fmt.Errorf("%s: flows / duration_s: give one of them, not both", s.File)
	case s.Flows > 1<<30:
		return s.fieldError("flows", s.Flows, "too many (at most %d)", 1<<30)
	}
	if err := s.CC.Validate(); err != nil {
		return fmt.Errorf("%s: cc.%w", s.File, err) // cc's errors start with the key
	}
	return nil
}

// path resolves a file name of the spec against its folder.
func (s *Spec) path(p string) string {
	if p == "" || filepath.IsAbs(p) || s.Dir == "" {
		return p
	}
	return filepath.Join(s.Dir, p)
}
