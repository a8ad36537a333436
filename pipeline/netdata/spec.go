package netdata

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/m4sim/m4/internal/specfile"
	"github.com/m4sim/m4/pipeline/datagen"
	"github.com/m4sim/m4/pipeline/features"
	"github.com/m4sim/m4/pipeline/workload"
)

// Spec is the family of workloads to draw from. Ranges are [lo, hi], drawn
// uniformly; lists are choices, drawn uniformly. A field left out takes
// DefaultSpec's value.
type Spec struct {
	// Seed salts every draw. Workload W's flows use a seed mixed from Seed
	// and W (never below 2^32, so never the small seeds of hand-written
	// specs such as m4 eval's suite, seed 1).
	Seed uint64 `json:"seed" yaml:"seed"`
	// Workloads are the draws W = First .. First+Count-1.
	Workloads datagen.ShardRange `json:"workloads" yaml:"workloads"`
	// Topologies to choose from (m4 workload's topology section; 10 Gbps
	// host links, 40 Gbps between switches and 1 us links only: the
	// features' and flowsim's parking lot). Default: m4 eval's 256-host
	// fabric (2 pods x 2 fabric switches x 16 racks x 8 hosts, 2:1).
	Topologies []workload.TopologySpec `json:"topologies" yaml:"topologies"`
	// Flows per workload, [lo, hi].
	Flows []float64 `json:"flows" yaml:"flows,flow"`
	// MaxBytes, if set, caps a workload's expected payload: its flows are
	// cut to MaxBytes / the size distribution's mean (heavy-tailed
	// distributions otherwise cost the packet simulator the most).
	MaxBytes float64 `json:"max_bytes,omitempty" yaml:"max_bytes,omitempty"`
	// Sizes: flow-size distributions by name (m4 workload's embedded CDFs,
	// or m3's parametric ones with a sigma from SizeSigma).
	Sizes     []string  `json:"sizes" yaml:"sizes,flow"`
	SizeSigma []float64 `json:"size_sigma" yaml:"size_sigma,flow"`
	// Arrivals: lognormal and/or poisson; ArrivalSigma is the lognormal's
	// burstiness range.
	Arrivals     []string  `json:"arrivals" yaml:"arrivals,flow"`
	ArrivalSigma []float64 `json:"arrival_sigma" yaml:"arrival_sigma,flow"`
	// Matrices: traffic matrices by name (workload.MatrixNames).
	Matrices []string `json:"matrices" yaml:"matrices,flow"`
	// MaxLoad: the busiest link's offered load, [lo, hi].
	MaxLoad []float64 `json:"max_load" yaml:"max_load,flow"`
	// Config: the congestion-control configuration's ranges, as in m4
	// datagen's spec (m3's ranges by default).
	Config datagen.ConfigSpec `json:"config" yaml:"config"`
}

// DefaultSpec is m4 eval's fabric with the rest drawn widely: 2000 to
// 20000 flows, every embedded size distribution, lognormal arrivals of
// burstiness 1 to 2, every traffic matrix, 20% to 80% load, m3's CC ranges;
// 10 workloads.
func DefaultSpec() Spec {
	s := Spec{
		Workloads: datagen.ShardRange{First: 0, Count: 10},
		Topologies: []workload.TopologySpec{{Kind: "fabric", Pods: 2, FabsPerPod: 2, RacksPerPod: 16, HostsPerRack: 8,
			Oversubscription: 2}},
		Flows:        []float64{2000, 20000},
		Sizes:        slices.Clone(workload.EmpiricalNames),
		SizeSigma:    []float64{5000, 50000},
		Arrivals:     []string{"lognormal"},
		ArrivalSigma: []float64{1, 2},
		Matrices:     slices.Clone(workload.MatrixNames),
		MaxLoad:      []float64{0.2, 0.8},
	}
	s.Config.FillDefaults()
	return s
}

// ExampleSpec is DefaultSpec with every default of its topologies written
// out (m4 datagen --from-workload --example-spec prints it): what a spec
// that leaves them out gets, rather than zeros standing for defaults.
func ExampleSpec() Spec {
	s := DefaultSpec()
	s.Topologies = slices.Clone(s.Topologies)
	for i, t := range s.Topologies {
		w := &workload.Spec{Topology: t, Sizes: workload.SizeSpec{Dist: "webserver"}, MaxLoad: 0.5, Flows: 1, File: "example"}
		if err := w.Validate(); err != nil {
			panic(fmt.Sprintf("netdata: the default topology %d: %v", i, err))
		}
		s.Topologies[i] = w.Topology
	}
	return s
}

// LoadSpec reads a spec from YAML (.yaml, .yml) or JSON (.json), fills what
// it leaves out from DefaultSpec and validates it. Unknown keys are errors.
func LoadSpec(path string) (*Spec, error) {
	var s Spec
	noZero := []string{"workloads.count"}
	for _, k := range workload.TopologyDefaulted {
		noZero = append(noZero, "topologies[]."+k)
	}
	if err := specfile.Read(path, &s, noZero...); err != nil {
		return nil, err
	}
	s.fillDefaults()
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &s, nil
}

func (s *Spec) fillDefaults() {
	d := DefaultSpec()
	if s.Workloads.Count == 0 && s.Workloads.First == 0 {
		s.Workloads = d.Workloads
	}
	if s.Topologies == nil {
		s.Topologies = d.Topologies
	}
	def := func(v *[]float64, dv []float64) {
		if *v == nil {
			*v = dv
		}
	}
	defS := func(v *[]string, dv []string) {
		if *v == nil {
			*v = dv
		}
	}
	def(&s.Flows, d.Flows)
	defS(&s.Sizes, d.Sizes)
	def(&s.SizeSigma, d.SizeSigma)
	defS(&s.Arrivals, d.Arrivals)
	def(&s.ArrivalSigma, d.ArrivalSigma)
	defS(&s.Matrices, d.Matrices)
	def(&s.MaxLoad, d.MaxLoad)
	s.Config.FillDefaults()
}

// Validate checks every field and names the first bad one. Each topology
// and choice is checked by building a workload spec of it.
func (s *Spec) Validate() error {
	switch {
	case s.Workloads.Count < 1:
		return fmt.Errorf("workloads.count: %d, want >= 1", s.Workloads.Count)
	case s.Workloads.First < 0:
		return fmt.Errorf("workloads.first: %d, want >= 0", s.Workloads.First)
	case s.MaxBytes < 0 || math.IsNaN(s.MaxBytes) || math.IsInf(s.MaxBytes, 0):
		return fmt.Errorf("max_bytes: %v, want >= 0 (0: no cap)", s.MaxBytes)
	case len(s.Topologies) == 0:
		return fmt.Errorf("topologies: empty")
	case len(s.Sizes) == 0:
		return fmt.Errorf("sizes: empty")
	case len(s.Arrivals) == 0:
		return fmt.Errorf("arrivals: empty")
	case len(s.Matrices) == 0:
		return fmt.Errorf("matrices: empty")
	}
	for _, r := range []struct {
		name   string
		v      []float64
		lo, hi float64
	}{
		{"flows", s.Flows, 1, workload.DefaultMaxFlows},
		{"size_sigma", s.SizeSigma, 1, 1e9},
		{"arrival_sigma", s.ArrivalSigma, 1e-3, 10},
		{"max_load", s.MaxLoad, 1e-6, 1},
	} {
		if len(r.v) != 2 {
			return fmt.Errorf("%s: want a range [lo, hi], got %d values", r.name, len(r.v))
		}
		for _, x := range r.v {
			if math.IsNaN(x) || x < r.lo || x > r.hi {
				return fmt.Errorf("%s: %v is outside [%v, %v]", r.name, x, r.lo, r.hi)
			}
		}
		if r.v[0] > r.v[1] {
			return fmt.Errorf("%s: lo %v > hi %v", r.name, r.v[0], r.v[1])
		}
	}
	if err := s.Config.Validate(); err != nil {
		return err
	}
	// every choice must make a valid workload spec
	base := func() *workload.Spec {
		return &workload.Spec{Topology: s.Topologies[0], Sizes: workload.SizeSpec{Dist: "webserver"}, MaxLoad: s.MaxLoad[0],
			Flows: int(s.Flows[0]), Seed: 1, File: "spec"}
	}
	for i, t := range s.Topologies {
		w := base()
		w.Topology = t
		if err := w.Validate(); err != nil {
			return fmt.Errorf("topologies[%d]: %w", i, err)
		}
		t = w.Topology // defaults filled
		if n := t.Nodes(); n > MaxNodes {
			return fmt.Errorf("topologies[%d]: up to %.0f nodes, want at most %d (every workload is simulated packet by packet on its whole topology)", i, n, MaxNodes)
		}
		if t.HostGbps != 10 || t.FabricGbps != 40 || t.LinkDelayNs != 1000 {
			return fmt.Errorf("topologies[%d]: host links %g Gbps, fabric links %g Gbps, delay %d ns: m4's features and flowsim's parking lot need 10, 40 and 1000",
				i, t.HostGbps, t.FabricGbps, t.LinkDelayNs)
		}
		if t.Kind == "file" {
			return fmt.Errorf("topologies[%d]: kind file: use a fabric or a fat-tree (traffic matrices need pods)", i)
		}
	}
	for i, name := range s.Sizes {
		w := base()
		w.Sizes = workload.SizeSpec{Dist: name}
		if slices.Contains(workload.ParametricNames, name) {
			w.Sizes.Sigma = s.SizeSigma[0]
		} else if !slices.Contains(workload.EmpiricalNames, name) {
			return fmt.Errorf("sizes[%d]: unknown size distribution %q (known: %s, %s)", i, name,
				strings.Join(workload.EmpiricalNames, ", "), strings.Join(workload.ParametricNames, ", "))
		}
		if err := w.Validate(); err != nil {
			return fmt.Errorf("sizes[%d]: %w", i, err)
		}
	}
	for i, a := range s.Arrivals {
		if a != "lognormal" && a != "poisson" {
			return fmt.Errorf("arrivals[%d]: unknown arrival process %q (known: lognormal, poisson)", i, a)
		}
	}
	for i, m := range s.Matrices {
		if m == "file" || !slices.Contains(workload.MatrixNames, m) {
			return fmt.Errorf("matrices[%d]: unknown traffic matrix %q (known: %s)", i, m, strings.Join(workload.MatrixNames, ", "))
		}
	}
	// every matrix must fit every topology (the Meta ones need their rack counts)
	for i, t := range s.Topologies {
		w := base()
		w.Topology = t
		if err := w.Validate(); err != nil {
			return fmt.Errorf("topologies[%d]: %w", i, err)
		}
		topo, _, err := workload.BuildTopology(w)
		if err != nil {
			return fmt.Errorf("topologies[%d]: %w", i, err)
		}
		for j, m := range s.Matrices {
			if _, err := workload.NamedMatrix(m, topo, rand.New(rand.NewPCG(1, 1))); err != nil {
				return fmt.Errorf("matrices[%d] on topologies[%d]: %w", j, i, err)
			}
		}
	}
	return nil
}

// MaxNodes bounds a family's topologies, hosts and switches: Meta's
// 6144-host cluster (8 pods x 4 fabs x 48 racks x 16 hosts) and k = 32
// fat-trees (8192 hosts) fit.
const MaxNodes = 1 << 15

// minFlows is the fewest flows MaxBytes leaves a workload.
const minFlows = 1000

// Draw is one workload of the family.
type Draw struct {
	W      int
	Seed   uint64         // the workload's seed
	Spec   *workload.Spec // what m4 workload would read
	Config features.Config
}

// seedOf mixes the spec's seed and W (splitmix64) into workload W's seed,
// kept at or above 2^32.
func (s *Spec) seedOf(w int) uint64 {
	z := s.Seed*0x9e3779b97f4a7c15 + uint64(w) + 0x6662
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return (z ^ (z >> 31)) | 1<<32
}

// Draw returns workload W: its spec and congestion-control configuration,
// a function of the spec's seed and W alone.
func (s *Spec) Draw(w int) (*Draw, error) {
	seed := s.seedOf(w)
	r := rand.New(rand.NewPCG(seed, 0x77))
	u := func(v []float64) float64 { return v[0] + r.Float64()*(v[1]-v[0]) }
	ws := &workload.Spec{Topology: s.Topologies[r.IntN(len(s.Topologies))], Seed: seed}
	ws.Flows = int(math.Round(u(s.Flows)))
	ws.Sizes.Dist = s.Sizes[r.IntN(len(s.Sizes))]
	sigma := u(s.SizeSigma)
	if slices.Contains(workload.ParametricNames, ws.Sizes.Dist) {
		ws.Sizes.Sigma = sigma
	}
	ws.Arrivals.Process = s.Arrivals[r.IntN(len(s.Arrivals))]
	asigma := u(s.ArrivalSigma)
	if ws.Arrivals.Process == "lognormal" {
		ws.Arrivals.Sigma = asigma
	}
	ws.Traffic.Matrix = s.Matrices[r.IntN(len(s.Matrices))]
	ws.MaxLoad = u(s.MaxLoad)
	cfg, err := datagen.SampleConfig(r, &s.Config)
	if err != nil {
		return nil, fmt.Errorf("workload %d: %w", w, err)
	}
	ws.CC = cfg.Spec()
	ws.File = fmt.Sprintf("workload %d", w)
	if err := ws.Validate(); err != nil {
		return nil, err
	}
	if s.MaxBytes > 0 {
		sizes, err := workload.SizeDistOf(ws)
		if err != nil {
			return nil, err
		}
		ws.Flows = max(min(ws.Flows, int(s.MaxBytes/sizes.Mean())), minFlows)
	}
	return &Draw{W: w, Seed: seed, Spec: ws, Config: cfg}, nil
}
