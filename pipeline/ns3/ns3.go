// Package ns3 reads a run of the HPCC ns-3 fork as its users hold it: the
// fork's config file, with the topology and flow files it names (resolved
// beside it), becomes an m4 workload that `m4 run` and `m4 eval` estimate,
// and the fork's FCT output file becomes ground truth.
//
// The config is read with pipeline/pktsim's parser (every key the fork
// reads), the topology with both pipeline/workload's reader (routing and
// decomposition) and pipeline/pktsim's (the packet simulator); node ids and
// link order are the file's in both. Flow i of the workload is line i of
// the flow file; its start is the time the fork schedules (the file's
// seconds through ns-3's Seconds(), which can be 1 ns early).
package ns3

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/m4sim/m4/pipeline/pktsim"
	"github.com/m4sim/m4/pipeline/workload"
)

// Run is one fork run: its config, topology and flows, and the same
// network and flows as an m4 workload.
type Run struct {
	ConfigFile string // the config's path
	Config     *pktsim.Config
	Topo       *pktsim.Topology
	Flows      *pktsim.Flows
	// Workload has the file's topology and flows (Workload.Flows row i is
	// Flows row i), with its routing; no spec, matrix or size
	// distribution.
	Workload *workload.Workload
	// HostGbps and FabricGbps are the rates of the host links and of the
	// links between switches (each must be a single rate).
	HostGbps, FabricGbps float64
	// FCTFile is FCT_OUTPUT_FILE resolved beside the config (it may not
	// exist: the fork has not run yet).
	FCTFile string
}

// Resolve returns a file name from the config resolved against the
// config's folder (absolute names stay as they are).
func Resolve(configFile, name string) string {
	if filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(filepath.Dir(configFile), name)
}

// Load reads the config file at path and the TOPOLOGY_FILE and FLOW_FILE
// it names. Errors name the file, line and key or field.
func Load(path string) (*Run, error) {
	cfg, err := pktsim.ParseConfigFile(path)
	if err != nil {
		return nil, err
	}
	for _, k := range []struct{ key, val string }{{"TOPOLOGY_FILE", cfg.TopologyFile}, {"FLOW_FILE", cfg.FlowFile}} {
		if k.val == "" {
			return nil, fmt.Errorf("%s: %s is not set (m4 reads the topology and flows the config names)", path, k.key)
		}
	}
	r := &Run{ConfigFile: path, Config: cfg, FCTFile: Resolve(path, cfg.FCTOutputFile)}
	topoFile, flowFile := Resolve(path, cfg.TopologyFile), Resolve(path, cfg.FlowFile)
	if r.Topo, err = pktsim.ParseTopologyFile(topoFile); err != nil {
		return nil, fmt.Errorf("%s: TOPOLOGY_FILE: %w", path, err)
	}
	wt, err := workload.ReadNS3(topoFile)
	if err != nil {
		return nil, fmt.Errorf("%s: TOPOLOGY_FILE: %w", path, err)
	}
	if r.Flows, err = pktsim.ParseFlowFile(flowFile); err != nil {
		return nil, fmt.Errorf("%s: FLOW_FILE: %w", path, err)
	}
	if r.Flows.Len() == 0 {
		return nil, fmt.Errorf("%s: FLOW_FILE %s: no flows", path, flowFile)
	}
	if err := r.Flows.CheckHosts(r.Topo); err != nil {
		return nil, fmt.Errorf("%s: FLOW_FILE: %w", path, err)
	}
	if r.HostGbps, r.FabricGbps, err = linkRates(wt); err != nil {
		return nil, fmt.Errorf("%s: %w", topoFile, err)
	}
	rt, err := workload.NewRouting(wt)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", topoFile, err)
	}
	w := &workload.Workload{Topo: wt, Routing: rt, Busiest: -1}
	f := &w.Flows
	n := r.Flows.Len()
	f.Src, f.Dst = make([]int32, n), make([]int32, n)
	f.Size, f.StartNs = make([]int64, n), make([]int64, n)
	for i := 0; i < n; i++ {
		f.Src[i], f.Dst[i] = r.Flows.Src[i], r.Flows.Dst[i]
		f.Size[i], f.StartNs[i] = int64(r.Flows.SizeBytes[i]), int64(r.Flows.StartNs[i])
	}
	if err := f.Validate(wt); err != nil {
		return nil, fmt.Errorf("%s: %w", flowFile, err)
	}
	r.Workload = w
	return r, nil
}

// linkRates returns the one rate of host links and the one rate of
// switch-to-switch links (the latter 0 when no two switches are linked).
func linkRates(t *workload.Topology) (host, fabric float64, err error) {
	for _, l := range t.Links {
		sw := t.IsSwitch[l.A] && t.IsSwitch[l.B]
		p, what := &host, "host"
		if sw {
			p, what = &fabric, "switch-to-switch"
		}
		if *p == 0 {
			*p = l.Gbps
		} else if *p != l.Gbps {
			return 0, 0, fmt.Errorf("%s links at %g and %g Gbps: m4 models one host link rate and one fabric link rate", what, *p, l.Gbps)
		}
	}
	if host == 0 {
		return 0, 0, fmt.Errorf("no host links")
	}
	return host, fabric, nil
}

// FCT is the fork's outcome for the flows of a run, in flow-file order.
type FCT struct {
	FCTNs, IdealNs []int64 // per flow
}

// Slowdown returns max(fct, ideal) / ideal of flow i, the fork's slowdown.
func (f *FCT) Slowdown(i int) float64 {
	return float64(max(f.FCTNs[i], f.IdealNs[i])) / float64(f.IdealNs[i])
}

// ReadFCT reads the fork's FCT output (`id sip dip sport dport size
// start_ns fct_ns ideal_ns` per finished flow, in completion order) for
// the flows of r. Every flow must appear once, with its size; errors name
// the file and line.
func (r *Run) ReadFCT(path string) (*FCT, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	n := r.Flows.Len()
	row := make(map[uint32]int, n)
	for i, id := range r.Flows.ID {
		if _, dup := row[id]; dup {
			return nil, fmt.Errorf("%s: flow id %d appears twice", r.Flows.Name, id)
		}
		row[id] = i
	}
	out := &FCT{FCTNs: make([]int64, n), IdealNs: make([]int64, n)}
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
			return nil, fmt.Errorf("%s:%d: flow id %d is not in %s", path, ln, v[0], r.Flows.Name)
		}
		switch {
		case out.FCTNs[i] >= 0:
			return nil, fmt.Errorf("%s:%d: flow id %d appears twice", path, ln, v[0])
		case uint64(v[5]) != r.Flows.SizeBytes[i]:
			return nil, fmt.Errorf("%s:%d: flow id %d has size %d, the flow file says %d", path, ln, v[0], v[5], r.Flows.SizeBytes[i])
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
					path, seen, n, r.Flows.ID[i], i+2, r.Flows.Name)
			}
		}
	}
	return out, nil
}
