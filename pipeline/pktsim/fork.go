package pktsim

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ForkRun is a run of the HPCC ns-3 fork as its users hold it: a config
// file and the topology and flow files it names, resolved beside the config
// (the fork opens them from its working folder, which its scripts set to
// the config's folder).
type ForkRun struct {
	ConfigFile string
	Config     *Config
	Topology   *NS3Topology
	Flows      *NS3Flows
	// FCTFile is the config's FCT_OUTPUT_FILE resolved beside it: the
	// fork's output when it has run (the file need not exist).
	FCTFile string
}

// BesideConfig resolves a file name from a config against the config
// file's folder; absolute names stay as they are.
func BesideConfig(configFile, name string) string {
	if filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(filepath.Dir(configFile), name)
}

// LoadForkRun reads the config at configFile and the topology and flows it
// names (TOPOLOGY_FILE, FLOW_FILE, resolved beside it). A topologyFile or
// flowFile that is not "" replaces the config's (used as given). The flows
// must run between distinct hosts of the topology. Errors name the file,
// line and key or field.
func LoadForkRun(configFile, topologyFile, flowFile string) (*ForkRun, error) {
	cfg, err := ParseConfigFile(configFile)
	if err != nil {
		return nil, err
	}
	files := []struct{ key, val, override string }{
		{"TOPOLOGY_FILE", cfg.TopologyFile, topologyFile}, {"FLOW_FILE", cfg.FlowFile, flowFile}}
	var paths [2]string
	for i, f := range files {
		switch {
		case f.override != "":
			paths[i] = f.override
		case f.val == "":
			return nil, fmt.Errorf("%s: %s is not set (it names the file to read)", configFile, f.key)
		default:
			paths[i] = BesideConfig(configFile, f.val)
		}
	}
	r := &ForkRun{ConfigFile: configFile, Config: cfg, FCTFile: BesideConfig(configFile, cfg.FCTOutputFile)}
	if r.Topology, err = ParseTopologyFile(paths[0]); err != nil {
		return nil, fmt.Errorf("%s: TOPOLOGY_FILE: %w", configFile, err)
	}
	if r.Flows, err = ParseFlowFile(paths[1]); err != nil {
		return nil, fmt.Errorf("%s: FLOW_FILE: %w", configFile, err)
	}
	if r.Flows.Len() == 0 {
		return nil, fmt.Errorf("%s: FLOW_FILE %s: no flows", configFile, paths[1])
	}
	if err := r.Flows.CheckHosts(r.Topology); err != nil {
		return nil, fmt.Errorf("%s: FLOW_FILE: %w", configFile, err)
	}
	return r, nil
}

// Run simulates the run's flows with its config and topology.
func (r *ForkRun) Run(opt Options) (*Result, error) {
	return SimulateWith(r.Config, r.Topology, r.Flows, opt)
}

// ForkFCT is the fork's FCT output for a run's flows, in flow-file order.
type ForkFCT struct {
	FCTNs, IdealNs []int64 // per flow: last byte received minus start; the fork's ideal FCT
}

// Slowdown returns max(fct, ideal) / ideal of flow i, the fork's slowdown.
func (f *ForkFCT) Slowdown(i int) float64 {
	return float64(max(f.FCTNs[i], f.IdealNs[i])) / float64(f.IdealNs[i])
}

// ReadFCTFile reads the fork's FCT output (the format WriteFCTText writes:
// "id sip dip sport dport size start_ns fct_ns ideal_ns" per finished flow,
// in completion order) for flows. Every flow must appear once, with its
// size; errors name the file and line.
func ReadFCTFile(path string, flows *NS3Flows) (*ForkFCT, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	n := flows.Len()
	row := make(map[uint32]int, n)
	for i, id := range flows.ID {
		if _, dup := row[id]; dup {
			return nil, fmt.Errorf("%s: flow id %d appears twice", flows.Name, id)
		}
		row[id] = i
	}
	out := &ForkFCT{FCTNs: make([]int64, n), IdealNs: make([]int64, n)}
	for i := range out.FCTNs {
		out.FCTNs[i] = -1
	}
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	ln, seen := 0, 0
	for sc.Scan() {
		ln++
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) != 9 {
			return nil, fmt.Errorf("%s:%d: %d fields, want 9 (id sip dip sport dport size start_ns fct_ns ideal_ns)", path, ln, len(f))
		}
		var v [9]int64
		for k, name := range []string{"id", "", "", "sport", "dport", "size", "start_ns", "fct_ns", "ideal_ns"} {
			if name == "" {
				continue // sip, dip: hex addresses, implied by the flow
			}
			x, err := strconv.ParseInt(f[k], 10, 64)
			if err != nil || x < 0 {
				return nil, fmt.Errorf("%s:%d: %s %q is not a non-negative integer", path, ln, name, f[k])
			}
			v[k] = x
		}
		i, ok := row[uint32(v[0])]
		if !ok || v[0] > 1<<32-1 {
			return nil, fmt.Errorf("%s:%d: flow id %d is not in %s", path, ln, v[0], flows.Name)
		}
		switch {
		case out.FCTNs[i] >= 0:
			return nil, fmt.Errorf("%s:%d: flow id %d appears twice", path, ln, v[0])
		case uint64(v[5]) != flows.SizeBytes[i]:
			return nil, fmt.Errorf("%s:%d: flow id %d has size %d, the flow file says %d", path, ln, v[0], v[5], flows.SizeBytes[i])
		case v[8] <= 0:
			return nil, fmt.Errorf("%s:%d: flow id %d: ideal_ns %d, want > 0", path, ln, v[0], v[8])
		}
		out.FCTNs[i], out.IdealNs[i] = v[7], v[8]
		seen++
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if seen != n {
		for i, f := range out.FCTNs {
			if f < 0 {
				return nil, fmt.Errorf("%s: %d of %d flows finished; flow id %d (line %d of %s) is missing: the run did not finish every flow",
					path, seen, n, flows.ID[i], i+2, flows.Name)
			}
		}
	}
	return out, nil
}
