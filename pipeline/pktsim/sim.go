package pktsim

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/pipeline/atomicfile"
	"github.com/m4sim/m4/pipeline/npyfile"
	"github.com/m4sim/m4/pipeline/scenario"
)

// Options are run controls that are not part of the fork's config.
type Options struct {
	MaxEvents      uint64  // stop with ErrBudget after this many events (0 = none)
	MaxWallSeconds float64 // stop with ErrBudget after this much wall time (0 = none)
	QlenTrace      bool    // sample switch queue lengths every 100 ns in [QLEN_MON_START, QLEN_MON_END]
	// Dynamics records the dynamics trace, the directed link table and the
	// flows' routes into Result.Dynamics (the FCTs stay the same).
	Dynamics bool
	// RNGStreamBase overrides the ns-3 RNG stream index of the first random
	// draw (nil = ForkStreamBase of the topology).
	RNGStreamBase *uint64
	// IdealRateCap is the rate at which the ideal FCT's bytes after the
	// first packet are capped (0: the fork's constant 10 Gbps; m4's own
	// ground truth passes IdealCap of the topology).
	IdealRateCap Rate
	// Progress, when set, is called now and then during the run (about
	// every 2^20 events) with the flows finished so far, the flows of the
	// run and the simulated time.
	Progress func(done, total int, nowNs int64)
}

// Result is the outcome of a run, per flow in the input order.
type Result struct {
	FCTNs   []int64  // last byte at the receiver minus start, ns (-1: unfinished)
	IdealNs []int64  // the fork's ideal FCT of the flow alone, ns
	SPort   []uint16 // the source port the fork gives each flow
	Order   []uint32 // flow indices in completion order (fct.txt's line order)
	Stats   bindings.PktsimStats
	PFC     []bindings.PFCEvent
	Qlen    *bindings.QlenHist
	// Dynamics is nil unless Options.Dynamics.
	Dynamics *Dynamics
}

// Dynamics is what a flow-level dynamics model learns from, besides the
// FCTs: the run's trace (every flow arrival and departure with the active
// flows' remaining bytes and the switch queues), the directed link table and
// each flow's route over it.
type Dynamics struct {
	Trace *bindings.PktsimTrace
	*Routes
}

// Routes are the directed links (bindings.PktsimLinks) and each flow's route
// over them, source to destination, as the packet simulator sends it (ECMP
// included): flow i's links are Route[RoutePtr[i]:RoutePtr[i+1]].
type Routes struct {
	Links    *bindings.PktsimLinks
	RoutePtr []int64
	Route    []int32
}

// FCTClamped returns max(fct, ideal) per flow as float64 ns: the values of
// the reference fct_*.npy files (m3's fct_to_file.py clamps to the ideal).
func (r *Result) FCTClamped() []float64 {
	out := make([]float64, len(r.FCTNs))
	for i, f := range r.FCTNs {
		out[i] = float64(max(f, r.IdealNs[i]))
	}
	return out
}

// Slowdowns returns max(fct, ideal) / ideal per flow.
func (r *Result) Slowdowns() []float64 {
	out := make([]float64, len(r.FCTNs))
	for i, f := range r.FCTNs {
		out[i] = float64(max(f, r.IdealNs[i])) / float64(r.IdealNs[i])
	}
	return out
}

// ForkIdealCap is the constant rate at which the fork caps the ideal FCT
// (libm4's default ideal_rate_cap_bps).
const ForkIdealCap Rate = 10e9

// IdealCap is the rate at which m4's own ground truth caps the ideal FCT on
// topo: the fork's 10 Gbps, or the fastest host link where that is faster.
// The fork caps it at a constant 10 Gbps, so on faster host links its
// "ideal" is slower than the flow alone really is and large flows get
// slowdowns below 1; m4 measures slowdown against the flow alone at its own
// link rates there (identical at 10 Gbps hosts and below).
func IdealCap(topo *NS3Topology) Rate {
	c := ForkIdealCap
	sw := topo.IsSwitch()
	for _, l := range topo.Links {
		if (!sw[l.A] || !sw[l.B]) && l.Rate > c {
			c = l.Rate
		}
	}
	return c
}

// ForkStreamBase is the index of the first ns-3 RNG stream the fork draws
// from once its simulation starts, for topology t. Every random variable
// the setup creates takes one stream index: per node, the internet stack's
// five IPv6 extensions and its IPv4 global routing (6); then the shared
// RateErrorModel's default variable and the uniform variable given to it
// (2); then the same pair for every link with a nonzero error rate. After
// that, every random ECN mark (and PFC frame) opens the next stream. Only
// DCQCN's marks between KMIN and KMAX depend on this; the value reproduces
// all reference DCQCN scenarios.
func ForkStreamBase(t *NS3Topology) uint64 {
	k := 6*uint64(t.Nodes) + 2
	for _, l := range t.Links {
		if l.ErrorRate > 0 {
			k += 2
		}
	}
	return k
}

// Simulate runs flows on topo with cfg and the default options.
func Simulate(cfg *Config, topo *NS3Topology, flows *NS3Flows) (*Result, error) {
	return SimulateWith(cfg, topo, flows, Options{})
}

// SimulateWith runs flows on topo with cfg. A run that exhausts its budget
// returns an error matching bindings.ErrBudget and the partial result.
func SimulateWith(cfg *Config, topo *NS3Topology, flows *NS3Flows, opt Options) (*Result, error) {
	nc, err := cfg.Native()
	if err != nil {
		return nil, err
	}
	if err := flows.CheckHosts(topo); err != nil {
		return nil, err
	}
	nc.MaxEvents = opt.MaxEvents
	nc.MaxWallSeconds = opt.MaxWallSeconds
	if opt.IdealRateCap > 0 {
		nc.IdealRateCapBps = uint64(opt.IdealRateCap)
	}
	if opt.RNGStreamBase != nil {
		nc.RNGStreamBase = *opt.RNGStreamBase
	} else {
		nc.RNGStreamBase = ForkStreamBase(topo)
	}
	nc.Progress = opt.Progress
	nc.Trace = opt.Dynamics
	if opt.QlenTrace {
		nc.QlenIntervalNs = 100
		nc.QlenStartNs = cfg.QlenMonStart
		nc.QlenEndNs = cfg.QlenMonEnd
	}
	sim, err := newSim(nc, cfg, topo)
	if err != nil {
		return nil, err
	}
	defer sim.Close()
	nf := flows.Native()
	r, err := sim.Run(nf)
	if r == nil {
		return nil, fmt.Errorf("%s: %w", flows.Name, err)
	}
	res := &Result{FCTNs: r.FCTNs, IdealNs: r.IdealNs, SPort: r.SPort, Order: r.Order, Stats: r.Stats, PFC: r.PFC, Qlen: r.Qlen}
	if opt.Dynamics {
		rt, rerr := routes(sim, nf)
		if rerr != nil {
			return nil, fmt.Errorf("%s: %w", flows.Name, rerr)
		}
		res.Dynamics = &Dynamics{Trace: r.Trace, Routes: rt}
	}
	if err != nil {
		return res, fmt.Errorf("%s: %w", flows.Name, err)
	}
	return res, nil
}

// newSim creates the native simulator; errors name the config or the
// topology.
func newSim(nc bindings.PktsimConfig, cfg *Config, topo *NS3Topology) (*bindings.Pktsim, error) {
	sim, err := bindings.NewPktsim(nc, topo.Native(cfg.ErrorRatePerLink))
	if err != nil {
		var pe *bindings.PktsimError
		if errors.As(err, &pe) && !pe.Input && !strings.Contains(pe.Msg, "topology") {
			src := cfg.Source
			if src == "" {
				src = "config"
			}
			return nil, fmt.Errorf("%s: %w", src, err)
		}
		return nil, fmt.Errorf("%s: %w", topo.Name, err)
	}
	return sim, nil
}

// IdealFCTs returns each flow's ideal FCT under cfg on topo (ns): the fork's
// standalone FCT, the IdealNs a run reports (docs/pktsim.md, "Ideal FCT"),
// computed without simulating, with the rate capped at capRate (0: the
// fork's 10 Gbps; see IdealCap).
func IdealFCTs(cfg *Config, topo *NS3Topology, flows *NS3Flows, capRate Rate) ([]int64, error) {
	nc, err := cfg.Native()
	if err != nil {
		return nil, err
	}
	if capRate > 0 {
		nc.IdealRateCapBps = uint64(capRate)
	}
	var ideal []int64
	err = withNative(nc, cfg, topo, flows, func(sim *bindings.Pktsim) (err error) {
		ideal, err = sim.Ideal(flows.Native())
		return err
	})
	return ideal, err
}

// RoutesOf returns the directed link table of topo and each flow's route
// over it under cfg, without simulating: the routes a run takes (the same
// source ports and ECMP hash), for an estimator that needs them at
// inference.
func RoutesOf(cfg *Config, topo *NS3Topology, flows *NS3Flows) (*Routes, error) {
	var rt *Routes
	err := withSim(cfg, topo, flows, func(sim *bindings.Pktsim) (err error) {
		rt, err = routes(sim, flows.Native())
		return err
	})
	return rt, err
}

// withSim sets up a simulator of cfg on topo for flows, without running
// it, calls f with it and frees it; f's error is wrapped with the flows'
// name.
func withSim(cfg *Config, topo *NS3Topology, flows *NS3Flows, f func(*bindings.Pktsim) error) error {
	nc, err := cfg.Native()
	if err != nil {
		return err
	}
	return withNative(nc, cfg, topo, flows, f)
}

// withNative is withSim with cfg already converted (nc).
func withNative(nc bindings.PktsimConfig, cfg *Config, topo *NS3Topology, flows *NS3Flows, f func(*bindings.Pktsim) error) error {
	if err := flows.CheckHosts(topo); err != nil {
		return err
	}
	sim, err := newSim(nc, cfg, topo)
	if err != nil {
		return err
	}
	defer sim.Close()
	if err := f(sim); err != nil {
		return fmt.Errorf("%s: %w", flows.Name, err)
	}
	return nil
}

func routes(sim *bindings.Pktsim, f *bindings.PktsimFlows) (*Routes, error) {
	links, err := sim.Links()
	if err != nil {
		return nil, err
	}
	ptr, route, err := sim.Routes(f)
	if err != nil {
		return nil, err
	}
	return &Routes{Links: links, RoutePtr: ptr, Route: route}, nil
}

// Shard is a reference-layout scenario folder loaded for pktsim: its
// config_*.txt, its flows (fat.npy, fsize.npy, fsd.npy) and topo-pl-H.
type Shard struct {
	Dir        string
	ConfigFile string
	Config     *Config
	Topology   *NS3Topology
	Path       *scenario.Path
	Flows      *NS3Flows
}

// LoadShard reads a shard folder. hosts overrides the H in the folder name.
// The config's *_FILE keys are ignored: the topology is the built-in
// topo-pl-H and the flows are the folder's arrays.
func LoadShard(dir string, hosts int) (*Shard, error) {
	p, err := scenario.LoadShard(dir, hosts)
	if err != nil {
		return nil, err
	}
	matches, err := filepath.Glob(filepath.Join(dir, "config_*.txt"))
	if err != nil {
		return nil, err
	}
	if len(matches) != 1 {
		return nil, fmt.Errorf("shard %s: want exactly one config_*.txt, found %d", dir, len(matches))
	}
	cfg, err := ParseConfigFile(matches[0])
	if err != nil {
		return nil, err
	}
	topo, err := ParkingLot(p.Hosts)
	if err != nil {
		return nil, fmt.Errorf("shard %s: %w", dir, err)
	}
	fl, err := FlowsFromPath(p)
	if err != nil {
		return nil, err
	}
	fl.Name = dir
	return &Shard{Dir: dir, ConfigFile: matches[0], Config: cfg, Topology: topo, Path: p, Flows: fl}, nil
}

// Run simulates the shard.
func (s *Shard) Run(opt Options) (*Result, error) {
	return SimulateWith(s.Config, s.Topology, s.Flows, opt)
}

// RunShard loads and simulates a shard folder with the default options.
func RunShard(dir string, hosts int) (*Shard, *Result, error) {
	s, err := LoadShard(dir, hosts)
	if err != nil {
		return nil, nil, err
	}
	r, err := s.Run(Options{})
	return s, r, err
}

// ExportFiles writes a case as the fork's input files into dir (created if
// needed): config.txt (its TOPOLOGY_FILE and FLOW_FILE naming the other two),
// topology.txt and flows.txt, so `m4 pktsim --config` or the fork itself
// (scratch/third config.txt, run in dir) can run it.
func ExportFiles(dir string, cfg *Config, topo *NS3Topology, flows *NS3Flows) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	c := *cfg
	c.TopologyFile, c.FlowFile = "topology.txt", "flows.txt"
	if err := WriteTopologyFile(filepath.Join(dir, "topology.txt"), topo); err != nil {
		return err
	}
	if err := WriteFlowFile(filepath.Join(dir, "flows.txt"), flows); err != nil {
		return err
	}
	return WriteConfigFile(filepath.Join(dir, "config.txt"), &c)
}

// nodeIP is the fork's node_id_to_ip.
func nodeIP(id int32) uint32 {
	return 0x0b000001 + uint32(id/256)*0x00010000 + uint32(id%256)*0x00000100
}

// WriteFCTText writes the fork's fct.txt: one line per finished flow in
// completion order, "id sip dip sport dport size start_ns fct_ns ideal_ns"
// with IPs in hex as the fork prints them.
func WriteFCTText(path string, f *NS3Flows, r *Result) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		buf := make([]byte, 0, 128)
		for _, i := range r.Order {
			if i == ^uint32(0) {
				break
			}
			buf = fmt.Appendf(buf[:0], "%d %08x %08x %d %d %d %d %d %d\n", f.ID[i], nodeIP(f.Src[i]), nodeIP(f.Dst[i]),
				r.SPort[i], f.DPort[i], f.SizeBytes[i], f.StartNs[i], r.FCTNs[i], r.IdealNs[i])
			if _, err := w.Write(buf); err != nil {
				return err
			}
		}
		return nil
	})
}

// WritePFCText writes the PFC trace as the fork's pfc.txt:
// "time_ns node node_type ifindex type" with type 1 pause, 0 resume.
func WritePFCText(path string, r *Result) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		for _, e := range r.PFC {
			t := 0
			if e.Pause {
				t = 1
			}
			if _, err := fmt.Fprintf(w, "%d %d %d %d %d\n", e.TimeNs, e.Node, e.NodeType, e.IfIndex, t); err != nil {
				return err
			}
		}
		return nil
	})
}

// WriteQlenText writes the queue-length histogram as the fork's qlen file's
// last block: "node ifindex count_0KB count_1KB ...".
func WriteQlenText(path string, r *Result) error {
	if r.Qlen == nil {
		return errors.New("no queue-length trace in this result")
	}
	h := r.Qlen
	return atomicfile.Write(path, func(w io.Writer) error {
		if _, err := fmt.Fprintf(w, "time: %d\n", r.Stats.EndNs); err != nil {
			return err
		}
		for p := range h.Node {
			row := h.Counts[p*h.KB : (p+1)*h.KB]
			last := len(row)
			for last > 0 && row[last-1] == 0 {
				last--
			}
			buf := strconv.AppendInt(nil, int64(h.Node[p]), 10)
			buf = append(buf, ' ')
			buf = strconv.AppendInt(buf, int64(h.IfIndex[p]), 10)
			for _, c := range row[:last] {
				buf = append(buf, ' ')
				buf = strconv.AppendUint(buf, c, 10)
			}
			buf = append(buf, '\n')
			if _, err := w.Write(buf); err != nil {
				return err
			}
		}
		return nil
	})
}

// WriteNpy writes float64 values to path atomically.
func WriteNpy(path string, v []float64) error { return npyfile.Write(path, v, nil) }

// fileExists reports whether path exists.
func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
