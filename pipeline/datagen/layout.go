package datagen

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"sort"

	"github.com/m4sim/m4/pipeline/atomicfile"
	"github.com/m4sim/m4/pipeline/features"
	"github.com/m4sim/m4/pipeline/npyfile"
	"github.com/m4sim/m4/pipeline/scenario"
)

// GroundTruth is a packet-level simulator's result for a scenario: per flow,
// in the scenario's flow order, its FCT and its ideal FCT alone on the idle
// path (ns), the start time the simulator used (ns; the fork's flow file
// rounds starts through "%.9f" seconds, so a start can be 1 ns before the
// arrival; nil means the arrivals), and the simulator's log. Known, when
// not nil, marks the flows that have a result (the others get no fid/fct
// entry: a path cut from a whole-network run keeps only its own flows').
type GroundTruth struct {
	FCTNs, IdealNs []float64
	StartNs        []float64
	Known          []bool
	Log            string
}

// Simulator is the packet-level simulator that gives datagen its ground
// truth: it runs a scenario's flows on the parking-lot path topo-pl-H under
// an ns-3 config (the text of config_*.txt).
type Simulator interface {
	Name() string
	Simulate(p *scenario.Path, ns3Config string) (*GroundTruth, error)
}

// forkIP is the fork's node_id_to_ip: the address a host's lines in fct.txt
// carry.
func forkIP(node int32) uint32 {
	return 0x0b000001 + uint32(node/256)*0x00010000 + uint32(node%256)*0x00000100
}

// truthArrays puts a simulator's result in the fork's layout, as
// fct_to_file.py makes it from the fork's fct.txt: per flow the line
// "max(fct, ideal) ideal size start sip dip id", sorted by `sort -n -k 4`
// (start time, then the whole line as bytes); fid = the flow ids in that
// order, fct = max(fct, ideal), fct_i = ideal, whole ns. Host h of the
// parking lot is node h.
func truthArrays(p *scenario.Path, gt *GroundTruth) (fid, fct, ideal []int64, err error) {
	n := p.Len()
	if len(gt.FCTNs) != n || len(gt.IdealNs) != n || (gt.StartNs != nil && len(gt.StartNs) != n) || (gt.Known != nil && len(gt.Known) != n) {
		return nil, nil, nil, fmt.Errorf("ground truth: %d FCTs, %d ideal FCTs, %d starts and %d known flags for %d flows",
			len(gt.FCTNs), len(gt.IdealNs), len(gt.StartNs), len(gt.Known), n)
	}
	start := gt.StartNs
	if start == nil {
		start = p.ArrivalNs
	}
	type row struct {
		id         int64
		start      float64
		fct, ideal int64
		line       string
	}
	rows := make([]row, 0, n)
	for id := 0; id < n; id++ {
		if gt.Known != nil && !gt.Known[id] {
			continue
		}
		f, i := gt.FCTNs[id], gt.IdealNs[id]
		if !(f > 0) || math.IsInf(f, 0) {
			return nil, nil, nil, fmt.Errorf("ground truth: flow %d: FCT %v ns, want a finite time > 0", id, f)
		}
		if !(i > 0) || math.IsInf(i, 0) {
			return nil, nil, nil, fmt.Errorf("ground truth: flow %d: ideal FCT %v ns, want a finite time > 0", id, i)
		}
		r := row{id: int64(id), start: start[id], ideal: int64(math.Round(i))}
		r.fct = max(int64(math.Round(f)), r.ideal)
		r.line = fmt.Sprintf("%d %d %d %d %08x %08x %d", r.fct, r.ideal, int64(p.SizeBytes[id]), int64(r.start),
			forkIP(p.Src[id]), forkIP(p.Dst[id]), id)
		rows = append(rows, r)
	}
	if len(rows) == 0 {
		return nil, nil, nil, fmt.Errorf("ground truth: no flow of the %d has a result", n)
	}
	sort.Slice(rows, func(a, b int) bool {
		if rows[a].start != rows[b].start {
			return rows[a].start < rows[b].start
		}
		return rows[a].line < rows[b].line
	})
	fid = make([]int64, len(rows))
	fct = make([]int64, len(rows))
	ideal = make([]int64, len(rows))
	for k, r := range rows {
		fid[k], fct[k], ideal[k] = r.id, r.fct, r.ideal
	}
	return fid, fct, ideal, nil
}

// writeShard writes every file of the reference layout for sc into dir.
func writeShard(dir string, sc *Scenario, flowsimNs []float64, gt *GroundTruth) error {
	return WriteShard(dir, &Shard{Path: sc.Traffic.Path, Config: sc.Config, NS3: sc.NS3, Stats: &sc.Traffic.Stats,
		Flowsim: flowsimNs, Truth: gt})
}

// Shard is what a scenario folder of the reference layout holds.
type Shard struct {
	Path    *scenario.Path
	Config  features.Config // param_*.txt/.npy; Config.Sample is the _sS of the file names
	NS3     string          // config_*.txt: the ns-3 config the simulator ran
	Stats   *Stats          // stats.npy/.json: the traffic draw (nil: none, for traffic not drawn by datagen)
	Flowsim []float64       // flowsim's FCTs, ns, flow order
	Truth   *GroundTruth    // nil: a scenario to estimate
	// Extra files, name -> content (provenance beyond the reference layout).
	Extra map[string][]byte
}

// WriteShard writes every file of the reference layout for sh into dir: the
// flows, flowsim's FCTs, the configuration (param, config), the stats, the
// ground truth when there is one (fid, fct, fct_i, and the simulator's log
// as pdrop), the feature map, and sh.Extra. Every file is written
// atomically; callers build the folder under a temporary name and rename it
// into place.
func WriteShard(dir string, sh *Shard) error {
	p := sh.Path
	h := p.Hosts
	tag := features.Tag(h, sh.Config.Sample)
	n := p.Len()
	if len(sh.Flowsim) != n {
		return fmt.Errorf("shard %s: %d flowsim FCTs for %d flows", dir, len(sh.Flowsim), n)
	}
	flowsimNs, gt := sh.Flowsim, sh.Truth
	fat := make([]int64, n)
	fsize := make([]int64, n)
	fsd := make([]int32, 2*n)
	for i := 0; i < n; i++ {
		fat[i] = int64(p.ArrivalNs[i])
		fsize[i] = int64(p.SizeBytes[i])
		fsd[2*i], fsd[2*i+1] = p.Src[i], p.Dst[i]
	}
	path := func(name string) string { return filepath.Join(dir, name) }
	vec := sh.Config.Vector()
	writes := []func() error{
		func() error { return npyfile.Write(path("fat.npy"), fat, nil) },
		func() error { return npyfile.Write(path("fsize.npy"), fsize, nil) },
		func() error { return npyfile.Write(path("fsd.npy"), fsd, []int{n, 2}) },
		func() error { return npyfile.Write(path("fct_flowsim.npy"), flowsimNs, nil) },
		func() error { return npyfile.Write(path("param_"+tag+".npy"), vec[:], nil) },
		func() error { return atomicfile.WriteBytes(path("param_"+tag+".txt"), []byte(sh.Config.ParamText())) },
		func() error {
			name := fmt.Sprintf("config_topo-pl-%d_flows_s%d.txt", h, sh.Config.Sample)
			return atomicfile.WriteBytes(path(name), []byte(sh.NS3))
		},
	}
	if sh.Stats != nil {
		writes = append(writes,
			func() error { return atomicfile.WriteBytes(path("stats.npy"), encodeStatsNPY(sh.Stats)) },
			func() error {
				b, err := json.MarshalIndent(sh.Stats, "", "  ")
				if err != nil {
					return err
				}
				return atomicfile.WriteBytes(path("stats.json"), append(b, '\n'))
			})
	}
	names := make([]string, 0, len(sh.Extra))
	for name := range sh.Extra {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if name != filepath.Base(name) || name == "." || name == ".." {
			return fmt.Errorf("shard %s: extra file name %q: want a plain file name", dir, name)
		}
		b := sh.Extra[name]
		writes = append(writes, func() error { return atomicfile.WriteBytes(path(name), b) })
	}
	for _, w := range writes {
		if err := w(); err != nil {
			return err
		}
	}
	var truth *features.Truth
	if gt != nil {
		fid, fct, ideal, err := truthArrays(p, gt)
		if err != nil {
			return err
		}
		for _, a := range []struct {
			name string
			v    []int64
		}{{"fid_", fid}, {"fct_", fct}, {"fct_i_", ideal}} {
			if err := npyfile.Write(path(a.name+tag+".npy"), a.v, nil); err != nil {
				return err
			}
		}
		if err := atomicfile.WriteBytes(path("pdrop_"+tag+".txt"), []byte(gt.Log)); err != nil {
			return err
		}
		truth = &features.Truth{FID: fid, FCT: make([]float64, len(fid)), Ideal: make([]float64, len(fid))}
		for k := range fid {
			truth.FCT[k], truth.Ideal[k] = float64(fct[k]), float64(ideal[k])
		}
	}
	params, err := features.ParamVector(h, vec[:])
	if err != nil {
		return err
	}
	m, err := features.Build(p, flowsimNs, params, truth)
	if err != nil {
		return err
	}
	return m.WriteNPZ(path("feat_" + tag + ".npz"))
}
